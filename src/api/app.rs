//! `SsoConnectedApp`: one SAML service provider (e.g. the partner telephony system) that uses the
//! org as its identity provider, and the ConfigMap its IdP metadata is published into.

// kube-derive's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::app_status::*;
pub use super::app_type::AppType;
use super::org::OrgReference;
use super::shared_str::SharedStr;

/// Desired SAML app, its access and where its IdP metadata is published.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sso-operator.dev",
    version = "v1alpha1",
    kind = "SsoConnectedApp",
    plural = "ssoconnectedapps",
    shortname = "sca",
    category = "sso",
    namespaced,
    status = "SsoConnectedAppStatus",
    derive = "PartialEq",
    doc = "A SAML service provider that signs users in with Salesforce as its identity provider: the operator enables the org's Identity Provider, keeps a SAML connected app (or External Client App) equal to this spec, grants the listed profiles access, and publishes the IdP metadata into a ConfigMap.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Org", type_ = "string", json_path = ".spec.orgRef.name"),
    printcolumn(name = "App", type_ = "string", json_path = ".spec.app.apiName"),
    printcolumn(
        name = "Cert Expiry",
        type_ = "string",
        json_path = ".status.identityProvider.certificate.notAfter"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SsoConnectedAppSpec {
    /// The `SalesforceOrg` (same namespace) whose org hosts the app. Immutable: to move an app to
    /// another org, create a new resource.
    #[x_kube(validation = Rule::new("self == oldSelf").message("orgRef is immutable; create a new SsoConnectedApp for another org"))]
    pub org_ref: OrgReference,

    /// The org-wide Identity Provider this app relies on.
    #[serde(default)]
    pub identity_provider: IdentityProviderSpec,

    /// The app's identity in Salesforce.
    pub app: AppSpec,

    /// SAML settings of the service provider.
    pub saml: SamlSpec,

    /// Who may use the app.
    #[serde(default)]
    pub access: AccessSpec,

    /// Where and how often the IdP metadata is published.
    #[serde(default)]
    pub publish: PublishSpec,

    /// What the operator may do in Salesforce.
    #[serde(default)]
    pub policy: PolicySpec,

    /// When true the operator makes no Salesforce call at all for this resource and reports
    /// `Suspended`; the published ConfigMap stays as it is.
    #[serde(default)]
    pub suspend: bool,
}

/// The Identity Provider settings this app needs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderSpec {
    /// API name (DeveloperName) of the org certificate the Identity Provider signs with, e.g.
    /// `SelfSignedCert_IdP`: the certificate this app's service provider is given. Optional when
    /// the `SalesforceOrg` chooses the certificate (`spec.identityProvider`): unset, the app
    /// follows the org's choice, also through a planned rotation; set, it must be the org's
    /// choice (or, during a rotation, either of its two certificates). Without the org's choice,
    /// the operator enables an Identity Provider that is off with this certificate; it never
    /// switches an enabled one for an app, never creates the certificate and never disables the
    /// Identity Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    pub certificate: Option<SharedStr>,
}

/// The app's identity in Salesforce.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppSpec {
    /// `ConnectedApp` (default) or `ExternalClientApp`. Immutable.
    #[serde(default, rename = "type")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("app.type is immutable; create a new SsoConnectedApp to migrate"))]
    pub type_: AppType,

    /// The app's API name (Metadata `fullName`): letters, digits and underscores, starting with a
    /// letter, no `__`, not ending in `_`, at most 80 characters. Immutable.
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("app.apiName is immutable"))]
    #[x_kube(validation = Rule::new("!self.contains('__')").message("app.apiName must not contain '__'"))]
    #[x_kube(validation = Rule::new("!self.endsWith('_')").message("app.apiName must not end with '_'"))]
    pub api_name: String,

    /// Display name shown in Setup and to users.
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub label: String,

    /// Contact email, required by Salesforce.
    #[schemars(
        length(min = 3, max = 254),
        regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    )]
    pub contact_email: SharedStr,

    /// Description shown in Setup. The operator appends its ownership marker as a last line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 200),
        regex(pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")
    )]
    pub description: Option<SharedStr>,
}

/// Subject type: which user field identifies the user in the assertion.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum SubjectType {
    /// The Salesforce username.
    #[default]
    Username,
    /// The user's Federation ID.
    FederationId,
    /// The 18-character user id.
    UserId,
    /// A custom attribute; set `subjectCustomAttribute`.
    CustomAttribute,
    /// A persistent pairwise identifier.
    PersistentId,
}

/// SAML NameID format.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum NameIdFormat {
    /// `urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified`
    #[default]
    Unspecified,
    /// `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`
    EmailAddress,
    /// `urn:oasis:names:tc:SAML:2.0:nameid-format:persistent`
    Persistent,
    /// `urn:oasis:names:tc:SAML:2.0:nameid-format:transient`
    Transient,
}

/// Assertion signing algorithm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum SigningAlgorithm {
    /// RSA-SHA256 (default).
    #[default]
    SHA256,
    /// RSA-SHA1, only for service providers that cannot do better.
    SHA1,
}

/// Assertion encryption algorithm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
#[allow(non_camel_case_types)]
pub enum EncryptionAlgorithm {
    /// AES-128.
    AES_128,
    /// AES-256 (default).
    #[default]
    AES_256,
}

/// Single logout binding.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum LogoutBinding {
    /// HTTP-Redirect (default).
    #[default]
    Redirect,
    /// HTTP-POST.
    Post,
}

/// SAML settings of the service provider.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.subjectType == 'CustomAttribute' ? has(self.subjectCustomAttribute) : !has(self.subjectCustomAttribute)").message("subjectCustomAttribute is required when subjectType is CustomAttribute, and not allowed otherwise"))]
pub struct SamlSpec {
    /// The service provider's Assertion Consumer Service URL (https).
    #[schemars(length(min = 9, max = 1024), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    #[x_kube(validation = Rule::new("self.startsWith('https://') && isURL(self)").message("saml.acsUrl must be an https URL"))]
    pub acs_url: String,

    /// The service provider's entity id (a URI, not necessarily a URL).
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub entity_id: String,

    /// Which user field identifies the user: `Username` (default), `FederationId`, `UserId`,
    /// `CustomAttribute` or `PersistentId`.
    #[serde(default)]
    pub subject_type: SubjectType,

    /// The custom attribute used as subject; required exactly when `subjectType` is `CustomAttribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub subject_custom_attribute: Option<String>,

    /// NameID format: `Unspecified` (default), `EmailAddress`, `Persistent` or `Transient`.
    #[serde(default)]
    pub name_id_format: NameIdFormat,

    /// IdP issuer the app uses. Default: the org's Identity Provider entity id (its My Domain URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub issuer: Option<String>,

    /// Assertion signing algorithm: `SHA256` (default) or `SHA1`.
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,

    /// PEM certificate the service provider signs its requests with; when set, Salesforce verifies
    /// request signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 16384),
        regex(pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")
    )]
    #[x_kube(validation = Rule::new("self.trim().startsWith('-----BEGIN CERTIFICATE-----')").message("saml.requestSigningCertificate must be a PEM certificate"))]
    pub request_signing_certificate: Option<String>,

    /// Encrypt assertions to the service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,

    /// Single logout at the service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_logout: Option<SingleLogoutSpec>,
}

/// Assertion encryption.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSpec {
    /// The service provider's encryption certificate, PEM.
    #[schemars(
        length(min = 1, max = 16384),
        regex(pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")
    )]
    #[x_kube(validation = Rule::new("self.trim().startsWith('-----BEGIN CERTIFICATE-----')").message("saml.encryption.certificate must be a PEM certificate"))]
    pub certificate: String,

    /// `AES_256` (default) or `AES_128`.
    #[serde(default)]
    pub algorithm: EncryptionAlgorithm,
}

/// Single logout settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SingleLogoutSpec {
    /// The service provider's single logout URL (https).
    #[schemars(length(min = 9, max = 1024), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    #[x_kube(validation = Rule::new("self.startsWith('https://') && isURL(self)").message("saml.singleLogout.url must be an https URL"))]
    pub url: String,

    /// `Redirect` (default) or `Post`.
    #[serde(default)]
    pub binding: LogoutBinding,
}

/// Who may use the app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessSpec {
    /// Profile names (e.g. `Contact Center Agent`) whose users may use the app. A set.
    #[serde(default)]
    #[schemars(
        length(max = 100),
        inner(length(min = 1, max = 255), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub profiles: Vec<SharedStr>,

    /// Permission set API names whose users may use the app. A set.
    #[serde(default)]
    #[schemars(
        length(max = 100),
        inner(length(min = 1, max = 80), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub permission_sets: Vec<SharedStr>,
}

/// Publishing of the IdP metadata.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublishSpec {
    /// Name of the ConfigMap (same namespace) the metadata is published into.
    /// Default: `<metadata.name>-idp-metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub config_map_name: Option<String>,

    /// How often the app and metadata are re-read to catch drift and certificate rotation, as a
    /// duration such as `30m` or `1h` (default). At least `1m`.
    #[serde(default = "default_refresh_interval")]
    #[schemars(
        length(min = 2, max = 32),
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
    )]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') || duration(self) >= duration('1m')").message("publish.refreshInterval must be at least 1m"))]
    pub refresh_interval: SharedStr,

    /// Workloads in this namespace whose pods read the metadata only at start. When the published
    /// metadata changes, each one's pod template gets the annotation
    /// `sso-operator.dev/idp-metadata-sha256` with the new digest, so its pods are replaced (as
    /// `kubectl rollout restart` does). The first publish restarts nothing. Needs the chart's
    /// `rollout.enabled` (RBAC: `patch` on these kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["kind".into(), "name".into()]))]
    pub rollout: Vec<RolloutTarget>,

    /// How long the published metadata must stay unchanged before `rollout`'s workloads are
    /// restarted, so a burst of changes (an edit while a certificate switches) restarts them once.
    /// A duration such as `30s` (default) or `5m`; at most `1h`.
    #[serde(default = "default_rollout_delay")]
    #[schemars(
        length(min = 2, max = 32),
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
    )]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') || duration(self) <= duration('1h')").message("publish.rolloutDelay must be at most 1h"))]
    pub rollout_delay: SharedStr,
}

/// A workload restarted when the published metadata changes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutTarget {
    /// `Deployment`, `StatefulSet` or `DaemonSet`.
    pub kind: WorkloadKind,
    /// The workload's name, in this resource's namespace.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub name: String,
}

/// Kinds of workload `publish.rollout` can restart (group `apps`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// A duration as `publish.refreshInterval`'s schema admits it (and as CEL's `duration()`, Go's
/// `time.ParseDuration`, reads it): one or more `<number>[.<fraction>]<unit>` with units `ms`, `s`,
/// `m`, `h`, e.g. `90s`, `1h30m`, `1.5h`. `None` for anything else.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let value: f64 = match number.split_once('.') {
            Some((int, frac)) if !int.is_empty() && !frac.is_empty() && !frac.contains('.') => {
                number.parse().ok()?
            }
            None if !number.is_empty() => number.parse().ok()?,
            _ => return None,
        };
        let (unit, seconds) = [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)]
            .into_iter()
            .find(|(u, _)| tail.starts_with(u) && !(*u == "m" && tail.starts_with("ms")))?;
        total += value * seconds;
        rest = &tail[unit.len()..];
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

fn default_refresh_interval() -> SharedStr {
    "1h".into()
}

fn default_rollout_delay() -> SharedStr {
    "30s".into()
}

impl Default for PublishSpec {
    fn default() -> Self {
        Self {
            config_map_name: None,
            refresh_interval: default_refresh_interval(),
            rollout: Vec::new(),
            rollout_delay: default_rollout_delay(),
        }
    }
}

/// What happens in Salesforce when this resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the app from Salesforce, if and only if it carries this resource's ownership marker.
    Delete,
    /// Leave the app in Salesforce.
    Orphan,
}

/// Whether an existing app with the same API name may be taken over.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum AdoptionPolicy {
    /// Never take over an app the operator did not create (default): report `Conflict`.
    #[default]
    Never,
    /// Take over an existing app that carries no ownership marker.
    IfUnowned,
}

/// How much the operator may change in Salesforce.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and correct drift (default).
    #[default]
    Full,
    /// Read and publish metadata, report drift, never write to Salesforce.
    ObserveOnly,
}

/// Policies for the app in Salesforce.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// `Delete` or `Orphan`: what happens to the app in Salesforce when this resource is deleted.
    /// Unset (the default) deletes only what can be made again: an External Client App this
    /// resource created. A connected app is left in Salesforce (since Spring '26 a deleted one
    /// cannot be recreated without Salesforce Support), and so is an app that existed before
    /// (adopted). Set `Delete` to delete either; the app is deleted only when it carries this
    /// resource's ownership marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<DeletionPolicy>,
    /// `Never` (default) or `IfUnowned`: may an existing app with this API name be taken over.
    #[serde(default)]
    pub adoption: AdoptionPolicy,
    /// `Full` (default) or `ObserveOnly`.
    #[serde(default)]
    pub management: ManagementPolicy,
}

impl PublishSpec {
    /// `refreshInterval`, at least one minute (the schema says so too); `None` when it does not
    /// parse, which the schema prevents.
    pub fn refresh(&self) -> Option<std::time::Duration> {
        parse_duration(&self.refresh_interval).map(|d| d.max(std::time::Duration::from_secs(60)))
    }
}

impl SsoConnectedApp {
    /// The ConfigMap the metadata is published into.
    pub fn config_map_name(&self) -> String {
        match &self.spec.publish.config_map_name {
            Some(n) => n.clone(),
            None => format!("{}-idp-metadata", kube::ResourceExt::name_any(self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_as_the_schema_and_cel_admit_them() {
        let d = |s: &str| parse_duration(s);
        assert_eq!(d("90s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("2m500ms"), Some(Duration::from_millis(120_500)));
        assert_eq!(d("1h0.5m"), Some(Duration::from_secs(3630)));
        for bad in [
            "", "1", "h", "1d", "1.h", ".5h", "1.2.3h", "-1h", "1 h", "1hh",
        ] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
        // Strings of every shape the schema's pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$` admits.
        for ok in ["1m", "15m", "1.5h", "100ms", "0.25s", "3h2m1s500ms", "1m1m"] {
            assert!(d(ok).is_some(), "{ok}");
        }
        let publish = PublishSpec {
            refresh_interval: "30s".into(),
            ..PublishSpec::default()
        };
        assert_eq!(
            publish.refresh(),
            Some(Duration::from_secs(60)),
            "at least 1m"
        );
    }
}
