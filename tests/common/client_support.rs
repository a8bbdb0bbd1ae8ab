//! Starts `salesforce-sim` over HTTPS (its own CA) for the client's integration tests, and wraps
//! the `/__sim/` controls. The JWT key pair is generated per test and never written to the repo.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sso_operator::salesforce::{ClientOptions, Credentials, OrgConnection, SecretString};
use url::Url;

pub const JWT_CLIENT: &str = "3MVG9SIMULATOR";
pub const JWT_UNAPPROVED_CLIENT: &str = "3MVG9UNAPPROVED";
pub const CC_CLIENT: &str = "3MVG9CLIENTCREDS";
pub const CC_SECRET: &str = "cc-s3cr3t-value-42";
pub const CC_NO_RUNAS: &str = "3MVG9NORUNAS";
pub const ADMIN: &str = "integration@acme.com";

pub fn sim_bin() -> PathBuf {
    match std::env::var_os("SSO_SIM_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_salesforce-sim")),
    }
}

pub struct KeyPair {
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn rsa_key_pair(cn: &str) -> KeyPair {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    let cert = rcgen::CertificateParams::new(vec![cn.to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    KeyPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

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

fn org_yaml(cfg: &SimConfig) -> String {
    format!(
        r#"orgId: 00D5g000000SIMUEAA
myDomain: acme.my.salesforce.com
users:
  - {{username: integration@acme.com, profile: System Administrator}}
  - {{username: agent1@acme.com, profile: Contact Center Agent, federationId: agent1}}
profiles: [System Administrator, Contact Center Agent]
permissionSets: [Voice_Agent]
certificates:
  - {{name: SelfSignedCert_IdP, masterLabel: SelfSignedCert IdP, keySize: 2048, expiresAt: "2099-11-27T00:00:00Z"}}
  - {{name: SelfSignedCert_Next, keySize: 4096}}
identityProvider: {{enabled: true, certificate: SelfSignedCert_IdP}}
oauthClients:
  - consumerKey: {JWT_CLIENT}
    certificateFile: client.pem
    preAuthorizedProfiles: [System Administrator]
  - consumerKey: {JWT_UNAPPROVED_CLIENT}
    certificateFile: client.pem
    preAuthorizedProfiles: [Contact Center Agent]
  - consumerKey: {CC_CLIENT}
    clientSecret: {CC_SECRET}
    runAsUsername: integration@acme.com
    preAuthorizedProfiles: [System Administrator]
  - consumerKey: {CC_NO_RUNAS}
    clientSecret: other-secret
    preAuthorizedProfiles: [System Administrator]
connectedApps:
  - fullName: Existing_Telephony
    label: Existing Telephony
    contactEmail: admin@acme.com
    oauthConfig:
      callbackUrl: https://telephony.example.com/oauth/callback
      scopes: [Api]
    profileName: [Contact Center Agent]
    samlConfig:
      acsUrl: https://telephony.example.com/saml/acs
      entityUrl: https://telephony.example.com
      samlNameIdFormat: EmailAddress
      samlSloUrl: https://telephony.example.com/saml/slo
      samlIdpSLOBindingEnum: PostBinding
      samlSubjectType: FederationId
limits: {{dailyApiRequests: {daily}, concurrentLongRequests: 5}}
policy: {{connectedAppCreationAllowed: {creation}}}
tokenTtl: {ttl}
audience: https://login.salesforce.com
"#,
        daily = cfg.daily_api_requests,
        creation = cfg.creation_allowed,
        ttl = cfg.token_ttl,
    )
}

pub struct Sim {
    child: Child,
    pub base: Url,
    pub port: u16,
    pub ca_pem: Vec<u8>,
    pub key: KeyPair,
    pub dir: tempfile::TempDir,
    control: reqwest::Client,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    pub fn start() -> Sim {
        Self::start_with(SimConfig::default())
    }

    pub fn start_with(cfg: SimConfig) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = rsa_key_pair("jwt-client");
        std::fs::write(dir.path().join("client.pem"), &key.cert_pem).expect("write cert");
        let org = dir.path().join("org.yaml");
        std::fs::write(&org, org_yaml(&cfg)).expect("write org");
        let ca = dir.path().join("ca.pem");
        let mut child = Command::new(sim_bin())
            .arg("--org-file")
            .arg(&org)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--self-signed-ca-out")
            .arg(&ca)
            .arg("--control")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start salesforce-sim (set SSO_SIM_BIN)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the simulator: {line:?}"))
            .to_string();
        let base = Url::parse(&url).expect("base url");
        let port = base.port().expect("port");
        let ca_pem = std::fs::read(&ca).expect("ca.pem written before the listening line");
        let control = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca_pem).expect("ca"))
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("control client");
        Sim {
            child,
            base,
            port,
            ca_pem,
            key,
            dir,
            control,
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

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("control url")
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .control
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("control call");
        assert!(r.status().is_success(), "{path}: HTTP {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn calls(&self) -> Value {
        self.control
            .get(self.url("/__sim/calls"))
            .send()
            .await
            .expect("calls")
            .json()
            .await
            .expect("calls json")
    }

    pub async fn count(&self, operation: &str) -> u64 {
        self.calls().await["counts"][operation]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn total_calls(&self) -> u64 {
        self.calls().await["counts"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    pub async fn state(&self) -> Value {
        self.control
            .get(self.url("/__sim/state"))
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("state json")
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
