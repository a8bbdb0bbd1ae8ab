//! Starts `salesforce-sim` on port 0 with a temporary org file and kills it on drop.
//! Requests in the tests are hand-written (raw XML/form bodies); nothing here uses the
//! operator's Salesforce client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const MD_NS: &str = "http://soap.sforce.com/2006/04/metadata";
pub const CLIENT_KEY: &str = "3MVG9SIMULATOR";
pub const CC_KEY: &str = "3MVG9CLIENTCREDS";
pub const CC_SECRET: &str = "s3cr3t";
pub const ADMIN: &str = "integration@acme.com";

/// A JWT client key pair generated for the test (never committed).
pub struct ClientKey {
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn client_key() -> ClientKey {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .expect("rsa key");
    let cert = rcgen::CertificateParams::new(vec!["jwt-client".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    ClientKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The default org file; `{extra}` lines are appended and `{creation}` is substituted.
pub fn org_yaml(creation_allowed: bool) -> String {
    format!(
        r#"orgId: 00D5g000000SIMUEAA
myDomain: acme.my.salesforce.com
users:
  - {{username: integration@acme.com, profile: System Administrator, federationId: null}}
  - {{username: agent1@acme.com, profile: Contact Center Agent, federationId: agent1}}
profiles: [System Administrator, Contact Center Agent]
permissionSets: [Voice_Agent]
certificates:
  - {{name: SelfSignedCert_IdP, masterLabel: SelfSignedCert IdP, keySize: 2048, expiresAt: "2099-11-27T00:00:00Z"}}
  - {{name: SelfSignedCert_Next, keySize: 2048}}
identityProvider: {{enabled: true, certificate: SelfSignedCert_IdP}}
oauthClients:
  - consumerKey: 3MVG9SIMULATOR
    certificateFile: client.pem
    preAuthorizedProfiles: [System Administrator]
  - consumerKey: 3MVG9CLIENTCREDS
    clientSecret: s3cr3t
    runAsUsername: integration@acme.com
    preAuthorizedProfiles: [System Administrator]
  - consumerKey: 3MVG9NORUNAS
    clientSecret: other
    preAuthorizedProfiles: [System Administrator]
connectedApps:
  - fullName: Existing_Telephony
    label: Existing Telephony
    contactEmail: admin@acme.com
    profileName: [Contact Center Agent]
    samlConfig:
      acsUrl: https://telephony.example.com/saml/acs
      entityUrl: https://telephony.example.com
      issuer: https://idp.acme.example
      samlNameIdFormat: EmailAddress
      samlSloUrl: https://telephony.example.com/saml/slo
      samlIdpSLOBindingEnum: PostBinding
      samlSubjectType: FederationId
  - fullName: Oauth_Only
    label: OAuth Only
    contactEmail: admin@acme.com
limits: {{dailyApiRequests: 15000, concurrentLongRequests: 5}}
policy: {{connectedAppCreationAllowed: {creation_allowed}}}
tokenTtl: 2h
audience: https://login.salesforce.com
"#
    )
}

pub struct Sim {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub key: ClientKey,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Options {
    pub yaml: String,
    pub https: bool,
    pub control: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            yaml: org_yaml(false),
            https: false,
            control: true,
        }
    }
}

impl Sim {
    pub fn start() -> Sim {
        Self::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = client_key();
        std::fs::write(dir.path().join("client.pem"), &key.cert_pem).expect("write cert");
        let org = dir.path().join("org.yaml");
        std::fs::write(&org, &opts.yaml).expect("write org");
        let ca: PathBuf = dir.path().join("ca.pem");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesforce-sim"));
        cmd.arg("--org-file")
            .arg(&org)
            .arg("--listen")
            .arg("127.0.0.1:0");
        if opts.https {
            cmd.arg("--self-signed-ca-out").arg(&ca);
        } else {
            cmd.arg("--http");
        }
        if opts.control {
            cmd.arg("--control");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn salesforce-sim");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("simulator did not print its URL within 60 s");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if opts.https {
            let pem = std::fs::read(&ca).expect("CA written");
            builder =
                builder.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("CA PEM")]);
        }
        let client = builder.build().expect("client");
        Sim {
            child,
            url,
            dir,
            client,
            key,
        }
    }

    pub fn u(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// POST a form body to the token endpoint; returns (status, JSON).
    pub async fn token_form(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .client
            .post(self.u("/services/oauth2/token"))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = r.status().as_u16();
        (status, r.json().await.expect("token JSON"))
    }

    /// A token through the client credentials flow.
    pub async fn token(&self) -> String {
        let (status, body) = self
            .token_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CC_KEY),
                ("client_secret", CC_SECRET),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// POST a raw SOAP body to `/services/Soap/m/66.0`; returns (status, content-type, text).
    pub async fn soap_raw(
        &self,
        path: &str,
        soap_action: Option<&str>,
        body: String,
    ) -> (u16, String, String) {
        let mut req = self
            .client
            .post(self.u(path))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body);
        if let Some(a) = soap_action {
            req = req.header("SOAPAction", a);
        }
        let r = req.send().await.expect("soap request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, r.text().await.expect("soap text"))
    }

    /// jsforce-shaped envelope: default namespace on Header and Body.
    pub async fn soap(&self, token: &str, inner: &str) -> (u16, String) {
        let (s, _, t) = self
            .soap_raw(
                "/services/Soap/m/66.0",
                Some("\"\""),
                envelope(token, inner),
            )
            .await;
        (s, t)
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.client
            .get(self.u(path))
            .send()
            .await
            .expect("control get")
            .json()
            .await
            .expect("control JSON")
    }

    pub async fn control_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.u(path))
            .json(&body)
            .send()
            .await
            .expect("control post");
        let s = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The jsforce request shape.
pub fn envelope(token: &str, inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>{token}</sessionId></SessionHeader></soapenv:Header>
<soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata">{inner}</soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// A SAML connected app component with the given fullName (hand-written XML).
pub fn saml_app(name: &str) -> String {
    format!(
        r#"<metadata xsi:type="ConnectedApp"><fullName>{name}</fullName><contactEmail>ops@acme.com</contactEmail><label>{name} label</label><profileName>Contact Center Agent</profileName><samlConfig><acsUrl>https://sp.example.com/{name}/acs</acsUrl><entityUrl>https://sp.example.com/{name}</entityUrl><samlNameIdFormat>Persistent</samlNameIdFormat><samlSubjectType>FederationId</samlSubjectType></samlConfig></metadata>"#
    )
}

/// Parse a response and return (faultcode, faultstring) when it is a SOAP fault.
pub fn fault_of(xml: &str) -> Option<(String, String)> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let f = doc.descendants().find(|n| n.tag_name().name() == "Fault")?;
    let get = |name: &str| {
        f.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or("")
            .to_owned()
    };
    Some((get("faultcode"), get("faultstring")))
}

/// One `<result>` of a CRUD response, flattened.
#[derive(Debug, Clone)]
pub struct SaveResult {
    pub full_name: String,
    pub success: bool,
    pub created: Option<bool>,
    pub status_codes: Vec<String>,
    pub messages: Vec<String>,
}

pub fn results_of(xml: &str) -> Vec<SaveResult> {
    let doc = roxmltree::Document::parse(xml).expect("response XML");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "result" && n.tag_name().namespace() == Some(MD_NS))
        .map(|r| {
            let text = |name: &str| {
                r.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .map(str::to_owned)
            };
            let errors: Vec<_> = r
                .children()
                .filter(|c| c.tag_name().name() == "errors")
                .collect();
            let sub = |e: &roxmltree::Node, name: &str| {
                e.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_owned()
            };
            SaveResult {
                full_name: text("fullName").unwrap_or_default(),
                success: text("success").as_deref() == Some("true"),
                created: text("created").map(|c| c == "true"),
                status_codes: errors.iter().map(|e| sub(e, "statusCode")).collect(),
                messages: errors.iter().map(|e| sub(e, "message")).collect(),
            }
        })
        .collect()
}

/// Poll `f` until it returns Some, or panic after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
