//! The simulated Salesforce org of the operator's integration tests, the one way they start it:
//! in this process through the `salesforce-sim` library (its own thread and runtime, HTTPS with
//! a generated CA, `/__sim/` controls on), from an org file written from the typed
//! [`OrgFile`], with the JWT client's key pair from the library's generator.
//!
//! `e2e.rs` (operator runs) and `client_support.rs` (Salesforce client tests) include this
//! module and shape the org for their tests from [`base_org`].
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

pub use salesforce_sim::{CertSpec, ClientKeyPair as KeyPair, OauthClient, OrgFile, UserSpec};
use salesforce_sim::{IdpSpec, Policy, ServeOptions, SimHandle, Tls};
use serde_json::Value;

/// The integration user the operator authenticates as.
pub const USERNAME: &str = "integration@acme.com";
/// The consumer key of the JWT bearer client.
pub const JWT_CLIENT: &str = "3MVG9SIMULATOR";
/// The org's IdP certificate.
pub const IDP_CERT: &str = "SelfSignedCert_IdP";

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

/// A running simulated org and what a test needs to reach it.
pub struct Started {
    pub org: Org,
    /// Holds `org.yaml`, `client.pem` (the JWT client's certificate) and `ca.pem`.
    pub dir: tempfile::TempDir,
    /// The CA the org's TLS certificate chains to.
    pub ca_file: PathBuf,
    pub ca_pem: Vec<u8>,
    /// The JWT client's key pair.
    pub key: KeyPair,
}

/// Starts the org `org` with `latency_ms` added to every API call.
pub fn start(org: OrgFile, latency_ms: u64) -> Started {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rsa_key_pair("sso-operator-jwt");
    std::fs::write(dir.path().join("client.pem"), &key.cert_pem).expect("write cert");
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
    Started {
        org: Org {
            url: endpoint.url.clone(),
            handle,
            http,
        },
        dir,
        ca_file,
        ca_pem,
        key,
    }
}

/// The running org: its URL and the `/__sim/` controls.
pub struct Org {
    handle: SimHandle,
    http: reqwest::Client,
    /// `https://localhost:PORT`.
    pub url: String,
}

impl Org {
    pub fn port(&self) -> u16 {
        self.handle.endpoint().port
    }

    /// Stops the org (it stops on drop too).
    pub fn stop(&mut self) {
        self.handle.stop();
    }

    /// A client that trusts the org's CA.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("sim get");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// `POST path` with a JSON body; asserts success and returns the JSON answer (or null).
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("sim control");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `DELETE path` (e.g. `/__sim/faults` to clear every injected fault).
    pub async fn delete(&self, path: &str) {
        let r = self
            .http
            .delete(format!("{}{path}", self.url))
            .send()
            .await
            .expect("sim delete");
        assert!(
            r.status().is_success(),
            "DELETE {path}: HTTP {}",
            r.status()
        );
    }

    pub async fn state(&self) -> Value {
        serde_json::from_str(&self.get("/__sim/state").await.1).expect("state json")
    }

    pub async fn calls(&self) -> Value {
        serde_json::from_str(&self.get("/__sim/calls").await.1).expect("calls json")
    }

    /// Calls of `operation` so far.
    pub async fn count(&self, operation: &str) -> u64 {
        self.calls().await["counts"][operation]
            .as_u64()
            .unwrap_or(0)
    }
}
