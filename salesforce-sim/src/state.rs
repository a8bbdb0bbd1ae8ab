//! The simulated org's runtime state (everything that changes while the simulator runs), the
//! call log, and [`Sim`], the state shared by every handler. Built from an org file by
//! `load.rs`; the org-file types themselves are in `org_file.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::certs::OrgCertificate;
use crate::component::{self, StoredApp};
use crate::eca::job::DeployJob;
use crate::eca::kind::EcaStore;
use crate::fault_rules::FaultRule;
use crate::metadata_types::Elem;
use crate::org_file::{OauthClient, Policy};
use crate::realism::{Edition, Realism};

/// Key prefix of connected app ids.
pub const CONNECTED_APP_ID_PREFIX: &str = "0H4";

/// A user of the org.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub profile: String,
    pub federation_id: Option<String>,
    /// Assigned permission sets (org file `permissionSetAssignments`).
    pub permission_sets: Vec<String>,
    /// More User fields by API name (org file `userFields`).
    pub fields: BTreeMap<String, String>,
}

/// The browser session of the SAML flows: who is signed in to the org (set by
/// `POST /__sim/saml/session`), since when on the simulator clock.
#[derive(Debug, Clone)]
pub struct SamlSession {
    pub username: String,
    pub since: Timestamp,
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

impl CallRecord {
    /// A call of `operation` answered with HTTP `status`, naming nothing (`seq` is set when
    /// [`State::record`] appends it).
    pub fn new(operation: impl Into<String>, status: u16) -> CallRecord {
        CallRecord {
            seq: 0,
            operation: operation.into(),
            metadata_type: None,
            full_names: Vec::new(),
            status,
            fault: None,
            injected: None,
        }
    }
}

/// Everything that changes while the simulator runs.
#[derive(Default)]
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
    /// External Client App components (see `eca/`).
    pub eca: EcaStore,
    /// `deploy()` jobs by async process id.
    pub deploys: BTreeMap<String, DeployJob>,
    /// Profile and permission-set ids (`00e...`, `0PS...`), by name.
    pub profile_ids: BTreeMap<String, String>,
    pub permission_set_ids: BTreeMap<String, String>,
    pub policy: Policy,
    pub edition: Edition,
    pub realism: Realism,
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
    /// Who is signed in for the SAML sign-in endpoints (none: the login page).
    pub saml_session: Option<SamlSession>,
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

    /// Id and username of the org's first user: who "created" and "modified" everything in
    /// `listMetadata` and `DeployResult` answers (empty strings in an org without users).
    pub fn first_user(&self) -> (String, String) {
        self.users
            .first()
            .map(|u| (u.id.clone(), u.username.clone()))
            .unwrap_or_default()
    }

    /// The stored name of connected app `name` (any case, unless names are matched exactly).
    pub fn app_key(&self, name: &str) -> Option<String> {
        self.realism.find(self.apps.keys(), name).cloned()
    }

    /// The stored name of ECA component `name` of kind `k` (as [`State::app_key`]).
    pub fn eca_key(&self, k: crate::eca::kind::Kind, name: &str) -> Option<String> {
        self.realism.find(self.eca.map(k).keys(), name).cloned()
    }

    /// Stores connected app `name` (new, with a new id, or its fields replaced). Returns whether
    /// it was created.
    pub fn put_app(&mut self, name: &str, fields: Vec<Elem>) -> bool {
        let now = self.now();
        let mut apps = std::mem::take(&mut self.apps);
        let created = component::upsert(&mut apps, name, fields, now, || {
            self.new_id(CONNECTED_APP_ID_PREFIX)
        });
        self.apps = apps;
        created
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

/// The simulator: the org's state and the counters every request goes through.
pub struct Sim {
    pub state: Mutex<State>,
    /// Latency added to every API call (`--latency-ms`).
    pub latency: Duration,
    /// Metadata API calls being served right now (for the enforced concurrency cap).
    pub in_flight: AtomicU64,
    /// Requests of any kind (API, token, metadata download) being served right now, and the most
    /// at once since the last `/__sim/calls/reset`: what a client's concurrency looks like here.
    pub requests: AtomicU64,
    pub peak_requests: AtomicU64,
}

/// The simulator as the handlers hold it.
pub type Shared = Arc<Sim>;

impl Sim {
    pub fn new(state: State, latency: Duration) -> Shared {
        Arc::new(Sim {
            state: Mutex::new(state),
            latency,
            in_flight: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            peak_requests: AtomicU64::new(0),
        })
    }

    /// The org's state, locked (a handler that panicked while holding it does not poison it).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
