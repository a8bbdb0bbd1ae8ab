//! The org file (YAML): what the simulated org starts with. Field names are part of the contract
//! (docs/simulator.md, "Org file"; `deploy/examples/salesforce-sim-org.yaml`): unknown keys are
//! errors, and every key but `orgId` and `myDomain` has a default.
//!
//! These are plain serde types, separate from the runtime state (`state.rs`) that `load.rs`
//! builds from them. Tests write org files from them:
//!
//! ```
//! use salesforce_sim::{OrgFile, Policy};
//! let org = OrgFile {
//!     policy: Policy { connected_app_creation_allowed: true, ..Policy::default() },
//!     ..OrgFile::default()
//! };
//! let yaml = org.to_yaml().unwrap();
//! assert_eq!(OrgFile::from_yaml(&yaml).unwrap(), org);
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::realism::{Edition, Realism};

/// The org file. [`OrgFile::default`] is the smallest valid org: the example org's id and My
/// Domain, no users, certificates, clients or apps, and the documented defaults for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgFile {
    pub org_id: String,
    pub my_domain: String,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Which user holds which permission set (Salesforce's `PermissionSetAssignment` records):
    /// with the profile, what gives a user access to a SAML app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission_set_assignments: Vec<PermissionSetAssignment>,
    /// More fields of users, by username (`Email`, `Department`, custom `X__c` fields, ...):
    /// what the SAML `email` attribute and custom attribute formulas (`$User.<Field>`) read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_fields: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub permission_sets: Vec<String>,
    #[serde(default)]
    pub certificates: Vec<CertSpec>,
    #[serde(default)]
    pub identity_provider: IdpSpec,
    #[serde(default)]
    pub oauth_clients: Vec<OauthClient>,
    /// Apps already present, in WSDL field names (validated like a SOAP write at start).
    #[serde(default)]
    pub connected_apps: Vec<serde_json::Value>,
    #[serde(default)]
    pub limits: LimitsSpec,
    #[serde(default)]
    pub policy: Policy,
    /// Access-token lifetime (`2h`, `15m`, `1h 30m`).
    #[serde(default = "default_ttl")]
    pub token_ttl: String,
    /// The JWT `aud` accepted.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// `production`, `sandbox` or `developer` (default): production refuses `NoTestRun`.
    #[serde(default)]
    pub edition: Edition,
    /// Reality variants (`realism.rs`, docs/simulator.md).
    #[serde(default)]
    pub realism: Realism,
}

impl Default for OrgFile {
    fn default() -> Self {
        Self {
            org_id: "00D5g000000SIMUEAA".to_owned(),
            my_domain: "acme.my.salesforce.com".to_owned(),
            users: Vec::new(),
            permission_set_assignments: Vec::new(),
            user_fields: BTreeMap::new(),
            profiles: Vec::new(),
            permission_sets: Vec::new(),
            certificates: Vec::new(),
            identity_provider: IdpSpec::default(),
            oauth_clients: Vec::new(),
            connected_apps: Vec::new(),
            limits: LimitsSpec::default(),
            policy: Policy::default(),
            token_ttl: default_ttl(),
            audience: default_audience(),
            edition: Edition::default(),
            realism: Realism::default(),
        }
    }
}

impl OrgFile {
    /// Parses an org file.
    pub fn from_yaml(text: &str) -> Result<OrgFile, String> {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads and parses an org file; errors name the path.
    pub fn read(path: &Path) -> Result<OrgFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The org file as YAML (what [`OrgFile::from_yaml`] reads back).
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_norway::to_string(self).map_err(|e| e.to_string())
    }
}

fn default_ttl() -> String {
    "2h".to_owned()
}
fn default_audience() -> String {
    "https://login.salesforce.com".to_owned()
}

/// A user; its profile must be listed in `profiles`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    pub username: String,
    pub profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_id: Option<String>,
}

/// A permission set assigned to a user (both must be in the org file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionSetAssignment {
    pub username: String,
    pub permission_set: String,
}

/// A certificate the org generates at start (docs/simulator.md describes its shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_label: Option<String>,
    /// 2048 or 4096.
    #[serde(default = "default_key_size")]
    pub key_size: u32,
    /// Default: start + 1 year (2048) or 2 years (4096), at 00:00:00Z.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl CertSpec {
    /// A 2048-bit certificate `name` with the default label and expiry.
    pub fn named(name: &str) -> CertSpec {
        CertSpec {
            name: name.to_owned(),
            master_label: None,
            key_size: default_key_size(),
            expires_at: None,
        }
    }
}

fn default_key_size() -> u32 {
    2048
}

/// The org's identity provider: `enabled: true` needs a certificate name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdpSpec {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub certificate: Option<String>,
}

/// An OAuth client: a certificate (inline or a file relative to the org file) for JWT bearer, a
/// secret and run-as user for client credentials, and the profiles pre-authorized for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OauthClient {
    pub consumer_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_username: Option<String>,
    #[serde(default)]
    pub pre_authorized_profiles: Vec<String>,
}

/// API limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default = "default_daily")]
    pub daily_api_requests: u64,
    /// Recorded, not enforced (`POST /__sim/limits {"concurrent": N}` enforces a cap).
    #[serde(default = "default_concurrent")]
    pub concurrent_long_requests: u64,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        Self {
            daily_api_requests: default_daily(),
            concurrent_long_requests: default_concurrent(),
        }
    }
}

fn default_daily() -> u64 {
    15_000
}
fn default_concurrent() -> u64 {
    5
}

/// Org policy switches (also changed at run time by `POST /__sim/policy`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Spring '26: false unless Salesforce Support re-enabled creation.
    #[serde(default)]
    pub connected_app_creation_allowed: bool,
    /// statusCode of the per-component error when creation is blocked (an assumption).
    #[serde(default = "default_blocked_code")]
    pub creation_blocked_status_code: String,
    /// message of that error (an assumption; no source documents the real text).
    #[serde(default = "default_blocked_message")]
    pub creation_blocked_message: String,
    /// How many `checkDeployStatus` polls of a deploy answer `InProgress` before it completes.
    #[serde(default = "default_deploy_polls")]
    pub deploy_polls_in_progress: u32,
    /// Block cipher mode of SAML assertion encryption (`CBC` or `GCM`): no source says which one
    /// Salesforce uses, so both can be had (an assumption, docs/simulator.md).
    #[serde(default = "default_block_mode")]
    pub saml_encryption_block_mode: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            connected_app_creation_allowed: false,
            creation_blocked_status_code: default_blocked_code(),
            creation_blocked_message: default_blocked_message(),
            deploy_polls_in_progress: default_deploy_polls(),
            saml_encryption_block_mode: default_block_mode(),
        }
    }
}

pub const CREATION_BLOCKED_CODE: &str = "INSUFFICIENT_ACCESS";
pub const CREATION_BLOCKED_MESSAGE: &str = "You can't create a connected app. As of Spring '26, connected app creation is restricted in this org (including through the Metadata API); contact Salesforce Support to re-enable it, or create an external client app instead.";

fn default_blocked_code() -> String {
    CREATION_BLOCKED_CODE.to_owned()
}
fn default_blocked_message() -> String {
    CREATION_BLOCKED_MESSAGE.to_owned()
}
fn default_deploy_polls() -> u32 {
    1
}
fn default_block_mode() -> String {
    "CBC".to_owned()
}
