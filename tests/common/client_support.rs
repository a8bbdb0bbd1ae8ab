//! The simulated org of the Salesforce client's integration tests (`sim.rs`: in this process,
//! HTTPS with its own CA), and the `/__sim/` controls they use. The JWT key pair is generated per
//! test and never written to the repo.
#![allow(dead_code)]

#[path = "sim.rs"]
mod sim;

use std::time::Duration;

use serde_json::{Value, json};
use sso_operator::salesforce::{ClientOptions, Credentials, OrgConnection, SecretString};
use url::Url;

use sim::KeyPair;
// For the test files that generate keys of their own (not all do).
#[allow(unused_imports)]
pub use sim::rsa_key_pair;

pub const JWT_CLIENT: &str = sim::JWT_CLIENT;
pub const JWT_UNAPPROVED_CLIENT: &str = "3MVG9UNAPPROVED";
pub const CC_CLIENT: &str = "3MVG9CLIENTCREDS";
pub const CC_SECRET: &str = "cc-s3cr3t-value-42";
pub const CC_NO_RUNAS: &str = "3MVG9NORUNAS";
pub const ADMIN: &str = sim::USERNAME;

pub struct SimConfig {
    pub creation_allowed: bool,
    pub daily_api_requests: u64,
    pub token_ttl: &'static str,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            creation_allowed: true,
            daily_api_requests: 15000,
            token_ttl: "2h",
        }
    }
}

/// [`sim::base_org`] with the IdP on (its certificate valid until 2099), a 4096-bit second
/// certificate, an agent, the clients the tests authenticate as, and one SAML connected app.
fn org(cfg: &SimConfig) -> sim::OrgFile {
    let mut org = sim::base_org();
    org.users.push(sim::UserSpec {
        federation_id: Some("agent1".into()),
        ..sim::user("agent1@acme.com", "Contact Center Agent")
    });
    org.certificates[0].expires_at = Some("2099-11-27T00:00:00Z".parse().expect("timestamp"));
    org.certificates.push(sim::CertSpec {
        key_size: 4096,
        ..sim::CertSpec::named("SelfSignedCert_Next")
    });
    sim::enable_idp(&mut org);
    org.oauth_clients.extend([
        sim::jwt_client(JWT_UNAPPROVED_CLIENT, "Contact Center Agent"),
        sim::secret_client(CC_CLIENT, CC_SECRET, Some(ADMIN)),
        sim::secret_client(CC_NO_RUNAS, "other-secret", None),
    ]);
    org.connected_apps = vec![json!({
        "fullName": "Existing_Telephony",
        "label": "Existing Telephony",
        "contactEmail": "admin@acme.com",
        "oauthConfig": {
            "callbackUrl": "https://telephony.example.com/oauth/callback",
            "scopes": ["Api"],
        },
        "profileName": ["Contact Center Agent"],
        "samlConfig": {
            "acsUrl": "https://telephony.example.com/saml/acs",
            "entityUrl": "https://telephony.example.com",
            "samlNameIdFormat": "EmailAddress",
            "samlSloUrl": "https://telephony.example.com/saml/slo",
            "samlIdpSLOBindingEnum": "PostBinding",
            "samlSubjectType": "FederationId",
        },
    })];
    org.limits.daily_api_requests = cfg.daily_api_requests;
    org.token_ttl = cfg.token_ttl.into();
    sim::creation_allowed(&mut org, cfg.creation_allowed);
    org
}

pub struct Sim {
    org: sim::Org,
    pub base: Url,
    pub port: u16,
    pub ca_pem: Vec<u8>,
    pub key: KeyPair,
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub fn start() -> Sim {
        Self::start_with(SimConfig::default())
    }

    pub fn start_with(cfg: SimConfig) -> Sim {
        let sim::Started {
            org,
            dir,
            ca_pem,
            key,
            ..
        } = sim::start(org(&cfg), 0);
        Sim {
            base: Url::parse(&org.url).expect("base url"),
            port: org.port(),
            org,
            ca_pem,
            key,
            dir,
        }
    }

    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            allow_hosts: vec![format!("localhost:{}", self.port)],
            extra_ca_pem: Some(self.ca_pem.clone()),
            call_timeout: Duration::from_secs(20),
            ..ClientOptions::default()
        }
    }

    pub fn conn(&self, credentials: Credentials) -> OrgConnection {
        OrgConnection {
            instance_url: self.base.clone(),
            login_url: self.base.clone(),
            audience: "https://login.salesforce.com".into(),
            api_version: "63.0".into(),
            credentials,
            max_concurrent_calls: 4,
            reserve_percent: 10,
        }
    }

    pub fn jwt(&self) -> Credentials {
        Credentials::JwtBearer {
            client_id: JWT_CLIENT.into(),
            username: ADMIN.into(),
            private_key_pem: SecretString::new(self.key.key_pem.clone()),
        }
    }

    pub fn client_credentials(&self) -> Credentials {
        Credentials::ClientCredentials {
            client_id: CC_CLIENT.into(),
            client_secret: SecretString::new(CC_SECRET),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.org.post(path, body).await
    }

    pub async fn calls(&self) -> Value {
        self.org.calls().await
    }

    pub async fn count(&self, operation: &str) -> u64 {
        self.org.count(operation).await
    }

    pub async fn total_calls(&self) -> u64 {
        self.calls().await["counts"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    pub async fn state(&self) -> Value {
        self.org.state().await
    }

    pub async fn fault(&self, rule: Value) {
        self.post("/__sim/faults", rule).await;
    }

    pub async fn advance_clock(&self, seconds: i64) {
        self.post("/__sim/clock", json!({"advanceSeconds": seconds}))
            .await;
    }

    pub async fn set_limits(&self, used: u64, max: u64) {
        self.post("/__sim/limits", json!({"used": used, "max": max}))
            .await;
    }

    /// Makes the org refuse a Metadata API call while `n` are being served (0: no cap).
    pub async fn set_concurrent_limit(&self, n: u64) {
        self.post("/__sim/limits", json!({"concurrent": n})).await;
    }
}
