//! The simulated Salesforce org of the operator's integration tests, the one way they start it:
//! in this process through the `salesforce-sim` library (its own thread and runtime, HTTPS with
//! a generated CA, `/__sim/` controls on), from an org file written from the typed
//! [`OrgFile`], with the JWT client's key pair from the library's generator.
//!
//! [`base_org`] is what every org has; `e2e::org` (operator runs) and `client` (Salesforce client
//! tests) shape it for their tests. [`Sim`] is the running org with every `/__sim/` control the
//! tests use.

use std::path::PathBuf;
use std::time::Duration;

pub use salesforce_sim::{CertSpec, ClientKeyPair as KeyPair, OauthClient, OrgFile, UserSpec};
use salesforce_sim::{IdpSpec, Policy, ServeOptions, SimHandle, Tls};
use serde_json::{Value, json};

/// The integration user the operator authenticates as.
/// `xml` without its `validUntil` attribute: Salesforce stamps it at each download (to the
/// millisecond, as the simulator does by default), so two downloads of one document differ only
/// there, and the operator does not republish for it. Written here, not taken from the operator,
/// so the tests do not share its reading of the document.
pub fn without_valid_until(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(" validUntil=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " validUntil=\"".len()..];
        rest = after.find('"').map_or("", |j| &after[j + 1..]);
    }
    out.push_str(rest);
    out
}

pub const USERNAME: &str = "integration@acme.com";
/// The consumer key of the JWT bearer client.
pub const JWT_CLIENT: &str = "3MVG9SIMULATOR";
/// The org's IdP certificate.
pub const IDP_CERT: &str = "SelfSignedCert_IdP";

/// Metadata API calls that change the org.
pub const WRITE_OPERATIONS: [&str; 5] = [
    "createMetadata",
    "updateMetadata",
    "upsertMetadata",
    "deleteMetadata",
    "deploy",
];

/// A JWT client key pair: an RSA 2048 key and a self-signed certificate for `cn`.
pub fn rsa_key_pair(cn: &str) -> KeyPair {
    salesforce_sim::client_key_pair(cn).expect("RSA key pair")
}

/// A user with `profile`.
pub fn user(username: &str, profile: &str) -> UserSpec {
    UserSpec {
        username: username.into(),
        profile: profile.into(),
        federation_id: None,
    }
}

/// A JWT bearer client whose certificate is the test's key pair (`client.pem`), pre-authorized
/// for `profile`.
pub fn jwt_client(consumer_key: &str, profile: &str) -> OauthClient {
    OauthClient {
        consumer_key: consumer_key.into(),
        certificate_file: Some("client.pem".into()),
        pre_authorized_profiles: vec![profile.into()],
        ..OauthClient::default()
    }
}

/// A client credentials client (run as `run_as`, when given) for System Administrators.
pub fn secret_client(consumer_key: &str, secret: &str, run_as: Option<&str>) -> OauthClient {
    OauthClient {
        consumer_key: consumer_key.into(),
        client_secret: Some(secret.into()),
        run_as_username: run_as.map(str::to_owned),
        pre_authorized_profiles: vec!["System Administrator".into()],
        ..OauthClient::default()
    }
}

/// What every test org has: the integration user (System Administrator), the profiles and the
/// permission set the apps grant, the IdP certificate (`SelfSignedCert_IdP`, IdP off), and the
/// JWT client for System Administrators. Connected-app creation is off (the default).
pub fn base_org() -> OrgFile {
    OrgFile {
        users: vec![user(USERNAME, "System Administrator")],
        profiles: vec!["System Administrator".into(), "Contact Center Agent".into()],
        permission_sets: vec!["Voice_Agent".into()],
        certificates: vec![CertSpec {
            master_label: Some("SelfSignedCert IdP".into()),
            ..CertSpec::named(IDP_CERT)
        }],
        identity_provider: IdpSpec::default(),
        oauth_clients: vec![jwt_client(JWT_CLIENT, "System Administrator")],
        ..OrgFile::default()
    }
}

/// Turns the IdP on with [`IDP_CERT`].
pub fn enable_idp(org: &mut OrgFile) {
    org.identity_provider = IdpSpec {
        enabled: true,
        certificate: Some(IDP_CERT.into()),
    };
}

/// Allows or blocks connected-app creation.
pub fn creation_allowed(org: &mut OrgFile, allowed: bool) {
    org.policy = Policy {
        connected_app_creation_allowed: allowed,
        ..Policy::default()
    };
}

/// A certificate as an org makes them (RSA 2048, `O=Salesforce.com`), named `cn`, expired on
/// 2020-01-01 and held by no running org: the simulator's generator, through the state an org
/// file builds. DER.
pub fn expired_org_certificate(cn: &str) -> Vec<u8> {
    let org = OrgFile {
        certificates: vec![CertSpec {
            expires_at: Some("2020-01-01T00:00:00Z".parse().expect("timestamp")),
            ..CertSpec::named(cn)
        }],
        ..OrgFile::default()
    };
    let state = salesforce_sim::build(org, std::path::Path::new(".")).expect("org state");
    state.certificates[cn].der.clone()
}

/// A running simulated org: where it listens, what a test needs to reach it, and its
/// `/__sim/` controls. It stops when dropped.
pub struct Sim {
    handle: SimHandle,
    http: reqwest::Client,
    /// `https://localhost:PORT`.
    pub url: String,
    pub port: u16,
    /// Holds `org.yaml`, `client.pem` (the JWT client's certificate), `ca.pem`, and whatever a
    /// test keeps next to them (operator logs).
    pub dir: tempfile::TempDir,
    /// The CA the org's TLS certificate chains to.
    pub ca_file: PathBuf,
    pub ca_pem: Vec<u8>,
    /// The JWT client's key pair.
    pub key: KeyPair,
}

impl Sim {
    /// Starts the org `org` with `latency_ms` added to every API call.
    pub fn start(org: OrgFile, latency_ms: u64) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = rsa_key_pair("sso-operator-jwt");
        std::fs::write(dir.path().join("client.pem"), &key.cert_pem).expect("write cert");
        // Through the file, so the org file's reader is exercised as the binary uses it.
        let org_file = dir.path().join("org.yaml");
        std::fs::write(&org_file, org.to_yaml().expect("org YAML")).expect("write org");
        let org = OrgFile::read(&org_file).expect("org file");
        let ca_file = dir.path().join("ca.pem");
        let options = ServeOptions {
            tls: Tls::SelfSigned {
                ca_out: Some(ca_file.clone()),
            },
            control: true,
            latency: Duration::from_millis(latency_ms),
            ..ServeOptions::default()
        };
        let handle = salesforce_sim::start(org, dir.path(), options).expect("start salesforce-sim");
        let endpoint = handle.endpoint();
        let ca_pem = endpoint.ca_pem.clone().expect("generated CA").into_bytes();
        let http = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca_pem).expect("CA PEM"))
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Sim {
            url: endpoint.url.clone(),
            port: endpoint.port,
            handle,
            http,
            dir,
            ca_file,
            ca_pem,
            key,
        }
    }

    /// A client that trusts the org's CA.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `req` to the org: its status and body.
    async fn send(&self, req: reqwest::RequestBuilder) -> (reqwest::StatusCode, String) {
        let r = req.send().await.expect("request to the simulated org");
        (r.status(), r.text().await.unwrap_or_default())
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let (status, text) = self.send(self.http.get(self.at(path))).await;
        (status.as_u16(), text)
    }

    /// `POST path` with a JSON body; asserts success and returns the JSON answer (or null).
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let req = self.http.post(self.at(path)).json(&body);
        let (status, text) = self.send(req).await;
        assert!(status.is_success(), "{path}: HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `DELETE path`; asserts success.
    pub async fn delete(&self, path: &str) {
        let (status, text) = self.send(self.http.delete(self.at(path))).await;
        assert!(status.is_success(), "DELETE {path}: HTTP {status}: {text}");
    }

    /// Adds a fault rule (`/__sim/faults`).
    pub async fn fault(&self, rule: Value) {
        self.control("/__sim/faults", rule).await;
    }

    /// Clears every injected fault.
    pub async fn clear_faults(&self) {
        self.delete("/__sim/faults").await
    }

    /// The fault rules still waiting to fire (a rule disappears once its `count` is used up,
    /// i.e. as soon as its last matching request arrived, before any injected latency passed).
    pub async fn active_faults(&self) -> Vec<Value> {
        let (_, body) = self.get("/__sim/faults").await;
        let v: Value = serde_json::from_str(&body).expect("faults json");
        v["active"].as_array().cloned().unwrap_or_default()
    }

    /// Ends every session: the next call with a token gets `INVALID_SESSION_ID`.
    pub async fn revoke_sessions(&self) {
        self.control("/__sim/sessions/revoke", json!({})).await;
    }

    /// Sets the API usage (`used`, `max`) or the concurrent-call cap (`concurrent`).
    pub async fn limits(&self, body: Value) {
        self.control("/__sim/limits", body).await;
    }

    /// Moves the org's clock forward.
    pub async fn advance_clock(&self, seconds: i64) {
        self.control("/__sim/clock", json!({"advanceSeconds": seconds}))
            .await;
    }

    /// Forgets the calls counted so far.
    pub async fn reset_calls(&self) {
        self.control("/__sim/calls/reset", json!({})).await;
    }

    pub async fn state(&self) -> Value {
        serde_json::from_str(&self.get("/__sim/state").await.1).expect("state json")
    }

    pub async fn calls(&self) -> Value {
        serde_json::from_str(&self.get("/__sim/calls").await.1).expect("calls json")
    }

    /// The call log (`/__sim/calls` `log`).
    pub async fn log(&self) -> Vec<Value> {
        self.calls().await["log"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Calls of `operation` so far.
    pub async fn count(&self, operation: &str) -> u64 {
        self.calls().await["counts"][operation]
            .as_u64()
            .unwrap_or(0)
    }

    /// Calls of any operation so far.
    pub async fn total_calls(&self) -> u64 {
        self.calls().await["counts"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    /// Calls that change the org (create, update, upsert, delete; deploy).
    pub async fn writes(&self) -> u64 {
        let c = self.calls().await;
        WRITE_OPERATIONS
            .iter()
            .map(|op| c["counts"][op].as_u64().unwrap_or(0))
            .sum()
    }

    /// Writes whose component list names `full_name`.
    pub async fn writes_of(&self, full_name: &str) -> Vec<Value> {
        self.log()
            .await
            .into_iter()
            .filter(|e| {
                WRITE_OPERATIONS.contains(&e["operation"].as_str().unwrap_or(""))
                    && names(e, full_name)
            })
            .collect()
    }

    /// The connected app `full_name` as the org holds it.
    pub async fn app(&self, full_name: &str) -> Option<Value> {
        self.state().await["connectedApps"].get(full_name).cloned()
    }

    /// The org's certificate `name` (`pem`, `sha256Fingerprint`, ...).
    pub async fn certificate(&self, name: &str) -> Value {
        self.state().await["certificates"]
            .as_array()
            .and_then(|certs| certs.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no certificate {name} in the org"))
    }
}

/// Whether the call-log entry `e` names the component `full_name`.
pub fn names(e: &Value, full_name: &str) -> bool {
    e["fullNames"]
        .as_array()
        .is_some_and(|n| n.iter().any(|x| x == full_name))
}
