//! Starts the simulator in-process (the library's `start`) on port 0 with the test org and
//! stops it on drop. Requests in the tests are hand-written (raw XML/form bodies).
#![allow(dead_code)]

use std::time::Duration;

use salesforce_sim::{
    CertSpec, ClientKeyPair, IdpSpec, LimitsSpec, OauthClient, OrgFile, Policy, ServeOptions,
    SimHandle, Tls, UserSpec,
};
use serde_json::{Value, json};

pub const MD_NS: &str = "http://soap.sforce.com/2006/04/metadata";
pub const CLIENT_KEY: &str = "3MVG9SIMULATOR";
pub const CC_KEY: &str = "3MVG9CLIENTCREDS";
pub const CC_SECRET: &str = "s3cr3t";
pub const ADMIN: &str = "integration@acme.com";

/// A JWT client key pair generated for the test (never committed).
pub fn client_key() -> ClientKeyPair {
    salesforce_sim::client_key_pair("jwt-client").expect("client key pair")
}

fn user(username: &str, profile: &str, federation_id: Option<&str>) -> UserSpec {
    UserSpec {
        username: username.into(),
        profile: profile.into(),
        federation_id: federation_id.map(str::to_owned),
    }
}

fn client(key: &str, secret: &str, run_as: Option<&str>) -> OauthClient {
    OauthClient {
        consumer_key: key.into(),
        client_secret: Some(secret.into()),
        run_as_username: run_as.map(str::to_owned),
        pre_authorized_profiles: vec!["System Administrator".into()],
        ..OauthClient::default()
    }
}

/// The test org: two users, a JWT client (`client.pem` next to the org file), two client
/// credentials clients, two connected apps; connected-app creation as given.
pub fn org(creation_allowed: bool) -> OrgFile {
    OrgFile {
        users: vec![
            user(ADMIN, "System Administrator", None),
            user("agent1@acme.com", "Contact Center Agent", Some("agent1")),
        ],
        profiles: vec!["System Administrator".into(), "Contact Center Agent".into()],
        permission_sets: vec!["Voice_Agent".into()],
        certificates: vec![
            CertSpec {
                master_label: Some("SelfSignedCert IdP".into()),
                expires_at: Some("2099-11-27T00:00:00Z".parse().expect("timestamp")),
                ..CertSpec::named("SelfSignedCert_IdP")
            },
            CertSpec::named("SelfSignedCert_Next"),
        ],
        identity_provider: IdpSpec {
            enabled: true,
            certificate: Some("SelfSignedCert_IdP".into()),
        },
        oauth_clients: vec![
            OauthClient {
                consumer_key: CLIENT_KEY.into(),
                certificate_file: Some("client.pem".into()),
                pre_authorized_profiles: vec!["System Administrator".into()],
                ..OauthClient::default()
            },
            client(CC_KEY, CC_SECRET, Some(ADMIN)),
            client("3MVG9NORUNAS", "other", None),
        ],
        connected_apps: vec![
            json!({
                "fullName": "Existing_Telephony",
                "label": "Existing Telephony",
                "contactEmail": "admin@acme.com",
                "profileName": ["Contact Center Agent"],
                "samlConfig": {
                    "acsUrl": "https://telephony.example.com/saml/acs",
                    "entityUrl": "https://telephony.example.com",
                    "issuer": "https://idp.acme.example",
                    "samlNameIdFormat": "EmailAddress",
                    "samlSloUrl": "https://telephony.example.com/saml/slo",
                    "samlIdpSLOBindingEnum": "PostBinding",
                    "samlSubjectType": "FederationId",
                },
            }),
            json!({
                "fullName": "Oauth_Only",
                "label": "OAuth Only",
                "contactEmail": "admin@acme.com",
            }),
        ],
        limits: LimitsSpec {
            daily_api_requests: 15000,
            concurrent_long_requests: 5,
        },
        policy: Policy {
            connected_app_creation_allowed: creation_allowed,
            ..Policy::default()
        },
        ..OrgFile::default()
    }
}

pub struct Sim {
    handle: SimHandle,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub key: ClientKeyPair,
}

pub struct Options {
    pub org: OrgFile,
    pub https: bool,
    pub control: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            org: org(false),
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
        let tls = if opts.https {
            Tls::SelfSigned { ca_out: None }
        } else {
            Tls::Off
        };
        let options = ServeOptions {
            tls,
            control: opts.control,
            ..ServeOptions::default()
        };
        let handle = salesforce_sim::start(opts.org, dir.path(), options).expect("simulator");
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(pem) = &handle.endpoint().ca_pem {
            builder = builder
                .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA PEM")]);
        }
        let client = builder.build().expect("client");
        Sim {
            url: handle.endpoint().url.clone(),
            handle,
            dir,
            client,
            key,
        }
    }

    /// The CA the simulator's TLS certificate chains to (HTTPS only).
    pub fn ca_pem(&self) -> Option<String> {
        self.handle.endpoint().ca_pem.clone()
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

    /// POST the jsforce-shaped envelope around `inner` to `/services/Soap/m/66.0`, for tests of
    /// the transport itself (the exchange may fail).
    pub async fn soap_send(&self, token: &str, inner: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.u("/services/Soap/m/66.0"))
            .header("content-type", "text/xml")
            .body(envelope(token, inner))
            .send()
            .await
    }

    /// `GET /services/data/v66.0/limits`, with the token as bearer when given.
    pub async fn limits(&self, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.u("/services/data/v66.0/limits"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("limits request")
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

/// An `upsertMetadata` of `components`.
pub fn upsert(components: &str) -> String {
    format!("<upsertMetadata>{components}</upsertMetadata>")
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
