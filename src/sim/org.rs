//! The org file (YAML) and the simulated org's mutable state.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::certs::OrgCertificate;
use super::eca::{DeployJob, EcaStore};
use super::faults::FaultRule;
use super::metadata_types::{self, Elem};
use super::wsdl_types::CONNECTED_APP;

/// The org file, as written by tests and the demo. Field names are part of the contract.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgFile {
    pub org_id: String,
    pub my_domain: String,
    #[serde(default)]
    pub users: Vec<UserSpec>,
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
    #[serde(default)]
    pub connected_apps: Vec<serde_json::Value>,
    #[serde(default)]
    pub limits: LimitsSpec,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default = "default_ttl")]
    pub token_ttl: String,
    #[serde(default = "default_audience")]
    pub audience: String,
}

fn default_ttl() -> String {
    "2h".to_owned()
}
fn default_audience() -> String {
    "https://login.salesforce.com".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    pub username: String,
    pub profile: String,
    #[serde(default)]
    pub federation_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertSpec {
    pub name: String,
    #[serde(default)]
    pub master_label: Option<String>,
    #[serde(default = "default_key_size")]
    pub key_size: u32,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

fn default_key_size() -> u32 {
    2048
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdpSpec {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub certificate: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OauthClient {
    pub consumer_key: String,
    #[serde(default)]
    pub certificate_pem: Option<String>,
    #[serde(default)]
    pub certificate_file: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub run_as_username: Option<String>,
    #[serde(default)]
    pub pre_authorized_profiles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default = "default_daily")]
    pub daily_api_requests: u64,
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

/// Org policy switches.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
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
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            connected_app_creation_allowed: false,
            creation_blocked_status_code: default_blocked_code(),
            creation_blocked_message: default_blocked_message(),
            deploy_polls_in_progress: default_deploy_polls(),
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

/// A user of the org.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub profile: String,
    pub federation_id: Option<String>,
}

/// A stored connected app: WSDL-ordered element tree (including `fullName`).
#[derive(Debug, Clone)]
pub struct StoredApp {
    pub id: String,
    pub fields: Vec<Elem>,
    pub created: Timestamp,
    pub modified: Timestamp,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub expires: Timestamp,
}

/// One entry of the call log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallRecord {
    pub seq: u64,
    pub operation: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub metadata_type: Option<String>,
    #[serde(rename = "fullNames")]
    pub full_names: Vec<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub injected: Option<bool>,
}

/// Everything that changes while the simulator runs.
pub struct State {
    pub org_id: String,
    pub my_domain: String,
    pub users: Vec<User>,
    pub profiles: BTreeSet<String>,
    pub permission_sets: BTreeSet<String>,
    pub certificates: BTreeMap<String, OrgCertificate>,
    pub idp_enabled: bool,
    pub idp_certificate: Option<String>,
    pub oauth_clients: Vec<OauthClient>,
    /// consumer key → verification key (PKCS#1 RSAPublicKey DER) of the client's certificate.
    pub client_keys: HashMap<String, Vec<u8>>,
    pub apps: BTreeMap<String, StoredApp>,
    /// External Client App components (see `eca.rs`).
    pub eca: EcaStore,
    /// `deploy()` jobs by async process id.
    pub deploys: BTreeMap<String, DeployJob>,
    /// Profile and permission-set ids (`00e...`, `0PS...`), by name.
    pub profile_ids: BTreeMap<String, String>,
    pub permission_set_ids: BTreeMap<String, String>,
    pub policy: Policy,
    pub token_ttl: SignedDuration,
    pub audience: String,
    pub sessions: HashMap<String, Session>,
    /// Simulator clock offset from the real clock, in seconds.
    pub clock_offset: i64,
    /// Timestamps (sim clock, seconds) of counted API calls in the rolling 24 h window.
    pub usage: VecDeque<i64>,
    pub daily_max: u64,
    pub concurrent_long_requests: u64,
    /// When set (`POST /__sim/limits {"concurrent": N}`), a Metadata API call arriving while N are
    /// being served is refused with `REQUEST_LIMIT_EXCEEDED` ConcurrentRequests. Salesforce counts
    /// only calls running over 20 s; the simulator counts every call (with injected latency).
    pub concurrent_enforced: Option<u64>,
    pub counts: BTreeMap<String, u64>,
    pub log: Vec<CallRecord>,
    pub seq: u64,
    pub faults: Vec<FaultRule>,
    pub id_counter: u64,
}

impl State {
    /// Now, on the simulator clock.
    pub fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_secs(self.clock_offset)
    }

    pub fn org_id15(&self) -> &str {
        &self.org_id[..15]
    }

    /// Drop usage entries older than 24 h and return the count in the window.
    pub fn api_used(&mut self) -> u64 {
        let cutoff = self.now().as_second() - 86_400;
        while self.usage.front().is_some_and(|t| *t <= cutoff) {
            self.usage.pop_front();
        }
        self.usage.len() as u64
    }

    /// Count one API call. Returns false (and counts nothing) when the allocation is used up.
    pub fn count_api_call(&mut self) -> bool {
        if self.api_used() >= self.daily_max {
            return false;
        }
        let now = self.now().as_second();
        self.usage.push_back(now);
        true
    }

    pub fn limit_info(&mut self) -> String {
        let used = self.api_used();
        format!("api-usage={used}/{}", self.daily_max)
    }

    /// Append to the call log and bump the per-operation count.
    pub fn record(&mut self, mut rec: CallRecord) {
        self.seq += 1;
        rec.seq = self.seq;
        *self.counts.entry(rec.operation.clone()).or_insert(0) += 1;
        if self.log.len() >= 200_000 {
            self.log.drain(..100_000);
        }
        self.log.push(rec);
    }

    /// A new 18-character Salesforce-style id with the given 3-character key prefix.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.id_counter += 1;
        let pod = &self.org_id[3..5];
        make_id(&format!("{prefix}{pod}{:010}", self.id_counter))
    }

    /// Validate a session token; slide its expiry on success.
    pub fn check_session(&mut self, token: &str) -> Option<String> {
        let now = self.now();
        let ttl = self.token_ttl;
        let s = self.sessions.get_mut(token)?;
        if s.expires <= now {
            self.sessions.remove(token);
            return None;
        }
        s.expires = now + ttl;
        Some(s.username.clone())
    }

    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }
}

/// Turn a 15-character id into the 18-character case-insensitive form (Salesforce's checksum).
pub fn make_id(id15: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id15.as_bytes();
    let mut suffix = String::new();
    for chunk in bytes.chunks(5) {
        let mut n = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                n |= 1 << i;
            }
        }
        suffix.push(ALPHA[n] as char);
    }
    format!("{id15}{suffix}")
}

/// Parse a duration such as `2h`, `90m`, `3600s` or `1h 30m`.
fn parse_ttl(s: &str) -> Result<SignedDuration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("tokenTtl {s:?}: {e}"))?;
    SignedDuration::try_from(d).map_err(|e| format!("tokenTtl {s:?}: {e}"))
}

/// Load and check the org file, generating the org's certificates.
pub fn load(path: &Path) -> Result<State, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: OrgFile =
        serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    build(file, base)
}

fn build(file: OrgFile, base: &Path) -> Result<State, String> {
    let org_id = match file.org_id.len() {
        18 => file.org_id.clone(),
        15 => make_id(&file.org_id),
        _ => {
            return Err(format!(
                "orgId {:?} must be 15 or 18 characters",
                file.org_id
            ));
        }
    };
    if !org_id.starts_with("00D") || !org_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "orgId {org_id:?} must start with 00D and be alphanumeric"
        ));
    }
    let mut state = State {
        org_id,
        my_domain: file.my_domain.trim_end_matches('/').to_owned(),
        users: Vec::new(),
        profiles: file.profiles.iter().cloned().collect(),
        permission_sets: file.permission_sets.iter().cloned().collect(),
        certificates: BTreeMap::new(),
        idp_enabled: file.identity_provider.enabled,
        idp_certificate: file.identity_provider.certificate.clone(),
        oauth_clients: Vec::new(),
        client_keys: HashMap::new(),
        apps: BTreeMap::new(),
        eca: EcaStore::default(),
        deploys: BTreeMap::new(),
        profile_ids: BTreeMap::new(),
        permission_set_ids: BTreeMap::new(),
        policy: file.policy,
        token_ttl: parse_ttl(&file.token_ttl)?,
        audience: file.audience,
        sessions: HashMap::new(),
        clock_offset: 0,
        usage: VecDeque::new(),
        daily_max: file.limits.daily_api_requests,
        concurrent_long_requests: file.limits.concurrent_long_requests,
        concurrent_enforced: None,
        counts: BTreeMap::new(),
        log: Vec::new(),
        seq: 0,
        faults: Vec::new(),
        id_counter: 0,
    };
    for p in &file.profiles {
        let id = state.new_id("00e");
        state.profile_ids.insert(p.clone(), id);
    }
    for p in &file.permission_sets {
        let id = state.new_id("0PS");
        state.permission_set_ids.insert(p.clone(), id);
    }
    for u in &file.users {
        if !state.profiles.contains(&u.profile) {
            return Err(format!(
                "user {}: profile {:?} is not in profiles",
                u.username, u.profile
            ));
        }
        let id = state.new_id("005");
        state.users.push(User {
            id,
            username: u.username.clone(),
            profile: u.profile.clone(),
            federation_id: u.federation_id.clone(),
        });
    }
    let now = state.now();
    for c in &file.certificates {
        let id = state.new_id("0P1");
        let cert = OrgCertificate::generate(c, &state.org_id[..15], now, id)?;
        state.certificates.insert(c.name.clone(), cert);
    }
    match (&state.idp_certificate, state.idp_enabled) {
        (Some(name), _) if !state.certificates.contains_key(name) => {
            return Err(format!(
                "identityProvider.certificate {name:?} is not in certificates"
            ));
        }
        (None, true) => {
            return Err("identityProvider.enabled needs identityProvider.certificate".into());
        }
        _ => {}
    }
    for client in file.oauth_clients {
        let pem = match (&client.certificate_pem, &client.certificate_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(base.join(f))
                    .map_err(|e| format!("oauthClients {}: {f}: {e}", client.consumer_key))?,
            ),
            (None, None) => None,
        };
        if let Some(pem) = pem {
            let key = super::certs::rsa_key_from_cert_pem(&pem)
                .map_err(|e| format!("oauthClients {}: {e}", client.consumer_key))?;
            state.client_keys.insert(client.consumer_key.clone(), key);
        }
        for p in &client.pre_authorized_profiles {
            if !state.profiles.contains(p) {
                return Err(format!(
                    "oauthClients {}: profile {p:?} is not in profiles",
                    client.consumer_key
                ));
            }
        }
        state.oauth_clients.push(client);
    }
    for (i, app) in file.connected_apps.iter().enumerate() {
        let fields = metadata_types::from_json(app, &CONNECTED_APP)
            .map_err(|e| format!("connectedApps[{i}]: {e}"))?;
        let missing = metadata_types::missing_required(&fields, &CONNECTED_APP, "");
        if !missing.is_empty() {
            return Err(format!(
                "connectedApps[{i}]: missing {}",
                missing.join(", ")
            ));
        }
        let name = metadata_types::text(&fields, "fullName")
            .ok_or_else(|| format!("connectedApps[{i}]: fullName is required"))?
            .to_owned();
        let id = state.new_id("0H4");
        state.apps.insert(
            name,
            StoredApp {
                id,
                fields,
                created: now,
                modified: now,
            },
        );
    }
    Ok(state)
}
