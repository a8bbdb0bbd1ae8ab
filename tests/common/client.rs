//! The simulated org of the Salesforce client's integration tests ([`start_org`], from
//! [`sim::base_org`]), and how the client reaches it: connection options, the connection and the
//! credentials, as methods of [`Sim`] (defined here, next to the org they fit). The JWT key pair
//! is generated per test and never written to the repo.

use std::time::Duration;

use serde_json::json;
use sso_operator::salesforce::{ClientOptions, Credentials, OrgConnection, SecretString};
use url::Url;

// Not every binary uses all of it.
#[allow(unused_imports)]
pub use super::sim::{self, KeyPair, Sim, rsa_key_pair};

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

/// The client tests' org with the default [`SimConfig`].
pub fn start_org() -> Sim {
    start_org_with(SimConfig::default())
}

pub fn start_org_with(cfg: SimConfig) -> Sim {
    Sim::start(org(&cfg), 0)
}

impl Sim {
    fn base(&self) -> Url {
        Url::parse(&self.url).expect("base url")
    }

    /// Client options that allow the org's host and trust its CA.
    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            allow_hosts: vec![format!("localhost:{}", self.port)],
            extra_ca_pem: Some(self.ca_pem.clone()),
            call_timeout: Duration::from_secs(20),
            ..ClientOptions::default()
        }
    }

    /// A connection to the org (API 63.0) with `credentials`.
    pub fn conn(&self, credentials: Credentials) -> OrgConnection {
        OrgConnection {
            instance_url: self.base(),
            login_url: self.base(),
            audience: "https://login.salesforce.com".into(),
            api_version: "63.0".into(),
            credentials,
            max_concurrent_calls: 4,
            reserve_percent: 10,
        }
    }

    /// JWT bearer credentials: `username` through `client_id`, assertions signed with `key_pem`.
    pub fn jwt_with_key(&self, client_id: &str, username: &str, key_pem: &str) -> Credentials {
        Credentials::JwtBearer {
            client_id: client_id.into(),
            username: username.into(),
            private_key_pem: SecretString::new(key_pem.to_owned()),
        }
    }

    /// The registered JWT client, as the admin, with the test's key.
    pub fn jwt(&self) -> Credentials {
        self.jwt_with_key(JWT_CLIENT, ADMIN, &self.key.key_pem)
    }

    pub fn client_credentials(&self) -> Credentials {
        Credentials::ClientCredentials {
            client_id: CC_CLIENT.into(),
            client_secret: SecretString::new(CC_SECRET),
        }
    }
}
