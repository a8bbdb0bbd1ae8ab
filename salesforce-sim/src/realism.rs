//! Reality variants: each behaviour of Salesforce that no source settles is a switch, so a test
//! can run the operator against every plausible org (docs/simulator.md, "Reality variants", has
//! the table: the assumption, the sources for and against, the default). Set in the org file
//! (`realism:`) and at run time (`POST /__sim/realism`, same keys); `GET /__sim/state` reports
//! them. The org's `edition` is here too: production orgs refuse `testLevel NoTestRun`.

use serde::{Deserialize, Serialize};

/// The org's edition (org file `edition`). Production refuses deploys with `testLevel
/// NoTestRun` (Metadata API guide, "Running Tests in a Deployment"; the fault text as users
/// of Salesforce tooling report it, xjsender/haoide#107).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Edition {
    Production,
    Sandbox,
    #[default]
    Developer,
}

/// How `commaSeparatedProfile` / `commaSeparatedPermissionSet` read back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessReads {
    /// API names (what the field report deploys).
    #[default]
    Names,
    /// Record ids (`00e...`, `0PS...`: what the type reference says the fields hold).
    Ids,
}

/// What a deploy of the access fields does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessWrites {
    /// Grants the names listed; a name already granted fails the component (field report);
    /// absent fields change nothing. Revoking is a `SetupEntityAccess` delete.
    #[default]
    Additive,
    /// The listed names become the grants (absent: none).
    Replacing,
}

/// Per-External-Client-App IdP metadata at `/.well-known/samlidp/<app>.xml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EcaMetadata {
    #[default]
    Served,
    /// 404 (documented only for connected apps); the org-level document still answers.
    NotFound,
}

/// Whether reads return fields that hold their default value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultsInReads {
    #[default]
    Present,
    /// `Unspecified` name ID formats, `SHA256` signing, `RedirectBinding`, `Local` distribution
    /// are left out of reads.
    Omitted,
}

/// How API names of apps and their components are matched by reads, writes and deletes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NameMatching {
    /// Developer names are unique regardless of case, and any case finds the component.
    #[default]
    CaseInsensitive,
    CaseSensitive,
}

/// Whether the ECA policy components can be read with `readMetadata`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyReads {
    #[default]
    Crud,
    /// `readMetadata` of `ExtlClntAppConfigurablePolicies` / `ExtlClntAppSamlConfigurablePolicies`
    /// answers nil records; only `retrieve` returns them.
    RetrieveOnly,
}

/// The shape of the Spring '26 connected-app creation refusal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CreationBlocked {
    /// A per-component error in the `SaveResult` (`policy.creationBlockedStatusCode/Message`).
    #[default]
    PerComponent,
    /// A SOAP fault for the whole call (`sf:<code>`, `<code>: <message>`).
    Fault,
}

/// An update that carries the app's existing `oauthConfig.consumerKey`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConsumerKeyEcho {
    /// Refused: `DUPLICATE_VALUE` "The consumer key is already taken" (as deploys to other orgs
    /// report it; CumulusCI issue 2943, Salesforce CLI issue 336).
    #[default]
    Refused,
    Accepted,
}

/// How the IdP metadata documents stamp `validUntil`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MetadataValidUntil {
    /// About ten years after each download, to the millisecond: what real samples of Salesforce's
    /// IdP metadata show (issue 21's field report), so every download differs in that attribute.
    #[default]
    PerDownload,
    /// Rounded down to whole days: repeated downloads on one day are byte-identical.
    WholeDays,
}

/// The switches. Every field has a default; `POST /__sim/realism` changes the ones it names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Realism {
    #[serde(default)]
    pub eca_access_reads: AccessReads,
    #[serde(default)]
    pub eca_access_writes: AccessWrites,
    #[serde(default)]
    pub eca_metadata: EcaMetadata,
    #[serde(default)]
    pub defaults_in_reads: DefaultsInReads,
    #[serde(default)]
    pub name_matching: NameMatching,
    #[serde(default)]
    pub eca_policy_reads: PolicyReads,
    #[serde(default)]
    pub creation_blocked: CreationBlocked,
    #[serde(default)]
    pub consumer_key_echo: ConsumerKeyEcho,
    #[serde(default)]
    pub metadata_valid_until: MetadataValidUntil,
}

impl Realism {
    /// The key of `name` in `keys`: the same string, or (case-insensitive matching) the stored
    /// name that equals it regardless of case.
    pub fn find<'a, I>(&self, keys: I, name: &str) -> Option<&'a String>
    where
        I: IntoIterator<Item = &'a String>,
    {
        let ci = self.name_matching == NameMatching::CaseInsensitive;
        keys.into_iter()
            .find(|k| k.as_str() == name || (ci && k.eq_ignore_ascii_case(name)))
    }

    /// The variant names that differ from the defaults (`"default"` when none), for reports.
    pub fn label(&self) -> String {
        let base = serde_json::to_value(Realism::default()).unwrap_or_default();
        let me = serde_json::to_value(self).unwrap_or_default();
        let mut parts = Vec::new();
        if let (Some(b), Some(m)) = (base.as_object(), me.as_object()) {
            for (k, v) in m {
                if b.get(k) != Some(v) {
                    parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
                }
            }
        }
        if parts.is_empty() {
            "default".into()
        } else {
            parts.join(",")
        }
    }
}

/// Values a read leaves out under [`DefaultsInReads::Omitted`]: (element, default token).
pub const OMITTED_DEFAULTS: &[(&str, &str)] = &[
    ("samlNameIdFormat", "Unspecified"),
    ("samlSigningAlgoType", "SHA256"),
    ("samlIdpSLOBindingEnum", "RedirectBinding"),
    ("nameIdFormat", "Unspecified"),
    ("signingAlgorithmType", "SHA256"),
    ("singleLogoutBindingType", "RedirectBinding"),
    ("distributionState", "Local"),
];
