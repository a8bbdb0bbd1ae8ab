//! The simulated org of an end-to-end test: how it starts ([`OrgSeed`]) and the running org with
//! the `/__sim/` controls the tests use ([`Sim`]). Started through `sim.rs`.

use std::path::PathBuf;

use serde_json::Value;

use super::sim::{self, OauthClient};

/// How the simulated org starts.
#[derive(Clone)]
pub struct OrgSeed {
    pub creation_allowed: bool,
    pub idp_enabled: bool,
    /// Apps already in the org, in WSDL field names (e.g. [`unowned_app`]).
    pub connected_apps: Vec<Value>,
    /// `expiresAt` of the IdP certificate (`2026-01-02T00:00:00Z`).
    pub cert_expires_at: Option<String>,
    pub latency_ms: u64,
    /// OAuth clients besides the JWT client.
    pub extra_oauth_clients: Vec<OauthClient>,
}

impl Default for OrgSeed {
    fn default() -> Self {
        Self {
            creation_allowed: true,
            idp_enabled: false,
            connected_apps: Vec::new(),
            cert_expires_at: None,
            latency_ms: 0,
            extra_oauth_clients: Vec::new(),
        }
    }
}

/// The org of a seed: [`sim::base_org`] with a second certificate, a large API allocation and
/// the seed's switches, clients and apps.
fn org(seed: &OrgSeed) -> sim::OrgFile {
    let mut org = sim::base_org();
    org.certificates[0].expires_at = seed
        .cert_expires_at
        .as_ref()
        .map(|e| e.parse().expect("cert_expires_at"));
    org.certificates
        .push(sim::CertSpec::named("SelfSignedCert_Other"));
    if seed.idp_enabled {
        sim::enable_idp(&mut org);
    }
    org.oauth_clients
        .extend(seed.extra_oauth_clients.iter().cloned());
    org.connected_apps = seed.connected_apps.clone();
    org.limits.daily_api_requests = 100_000;
    sim::creation_allowed(&mut org, seed.creation_allowed);
    org
}

/// A running simulated org.
pub struct Sim {
    org: sim::Org,
    pub base: String,
    pub port: u16,
    pub ca_file: PathBuf,
    pub key_pem: String,
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub fn start(seed: &OrgSeed) -> Sim {
        let sim::Started {
            org,
            dir,
            ca_file,
            key,
            ..
        } = sim::start(org(seed), seed.latency_ms);
        Sim {
            base: org.url.clone(),
            port: org.port(),
            org,
            ca_file,
            key_pem: key.key_pem,
            dir,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        self.org.get(path).await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.org.post(path, body).await
    }

    /// `DELETE path` (e.g. `/__sim/faults` to clear every injected fault).
    pub async fn delete(&self, path: &str) {
        self.org.delete(path).await
    }

    pub async fn state(&self) -> Value {
        self.org.state().await
    }

    pub async fn calls(&self) -> Value {
        self.org.calls().await
    }

    pub async fn count(&self, op: &str) -> u64 {
        self.org.count(op).await
    }

    /// Calls that change the org (create, update, upsert, delete; deploy).
    pub async fn writes(&self) -> u64 {
        let c = self.calls().await;
        [
            "createMetadata",
            "updateMetadata",
            "upsertMetadata",
            "deleteMetadata",
            "deploy",
        ]
        .iter()
        .map(|op| c["counts"][op].as_u64().unwrap_or(0))
        .sum()
    }

    /// Writes whose component list names `full_name`.
    pub async fn writes_of(&self, full_name: &str) -> Vec<Value> {
        let c = self.calls().await;
        c["log"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                let op = e["operation"].as_str().unwrap_or("");
                matches!(
                    op,
                    "createMetadata"
                        | "updateMetadata"
                        | "upsertMetadata"
                        | "deleteMetadata"
                        | "deploy"
                ) && e["fullNames"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|x| x == full_name))
            })
            .collect()
    }

    pub async fn app(&self, full_name: &str) -> Option<Value> {
        self.state().await["connectedApps"].get(full_name).cloned()
    }

    pub async fn stop(&mut self) {
        self.org.stop();
    }
}
