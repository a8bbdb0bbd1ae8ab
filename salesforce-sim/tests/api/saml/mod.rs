//! SAML sign-in against the simulated org, checked by `xmlsec1` and by an SP library that is
//! not part of this project (pysaml2, `tests/sp/sp.py`) configured only from the org's per-app
//! metadata: `matrix` (both app kinds, every subject type and NameID format, three flows),
//! `options` (request signatures, encryption, SHA-1, issuer, RelayState, clock), `refusals` (what
//! the SP refuses and why), `errors` (the org's error and login pages, IdP-initiated ids),
//! `oneshot` (the helper as SP and browser in one call, over HTTPS). `sp` and `flow` are the SP
//! and browser sides.

mod errors;
mod flow;
mod matrix;
mod oneshot;
mod options;
mod refusals;
mod sp;

use salesforce_sim::{OrgFile, PermissionSetAssignment, UserSpec};
use serde_json::{Value, json};

use std::path::Path;

use crate::harness::{self, Options, Sim};
use crate::saml::sp::{SpConfig, metadata};

/// Contact Center Agent (granted by profile), Federation ID `agent1`, more User fields.
pub const AGENT: &str = "agent1@acme.com";
/// Standard User with the `Voice_Agent` permission set.
pub const PERMSET_AGENT: &str = "agent2@acme.com";
/// Standard User without the permission set: no access.
pub const OUTSIDER: &str = "outsider@acme.com";
/// The profile and permission set the test apps grant.
pub const PROFILE: &str = "Contact Center Agent";
pub const PERMISSION_SET: &str = "Voice_Agent";

/// The test org (`harness::org`) with the SAML users.
pub fn org() -> OrgFile {
    let mut org = harness::org(false);
    org.profiles.push("Standard User".into());
    for name in [PERMSET_AGENT, OUTSIDER] {
        org.users.push(UserSpec {
            username: name.into(),
            profile: "Standard User".into(),
            federation_id: None,
        });
    }
    org.permission_set_assignments = vec![PermissionSetAssignment {
        username: PERMSET_AGENT.into(),
        permission_set: PERMISSION_SET.into(),
    }];
    org.user_fields.insert(
        AGENT.into(),
        [
            ("Email", "agent.one@acme.example"),
            ("Department", "Voice"),
            ("Extension__c", "4711"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    org
}

pub fn start() -> Sim {
    Sim::start_with(Options {
        org: org(),
        ..Options::default()
    })
}

/// Signs `username` in to the org's browser session.
pub async fn session(s: &Sim, username: &str) {
    let (code, body) = s
        .control_post("/__sim/saml/session", json!({"username": username}))
        .await;
    assert_eq!(code, 200, "{body}");
}

/// The two kinds of SAML apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Connected,
    External,
}

pub const KINDS: [Kind; 2] = [Kind::Connected, Kind::External];

/// A SAML app's settings, in neutral names (`create` maps them to each kind's fields).
#[derive(Debug, Clone, Default)]
pub struct App {
    pub name: String,
    pub entity_id: String,
    pub acs_url: String,
    pub subject: &'static str,
    pub subject_attr: Option<&'static str>,
    pub format: &'static str,
    pub signing: Option<&'static str>,
    pub request_cert: Option<String>,
    pub encryption_cert: Option<String>,
    pub encryption_type: Option<&'static str>,
    pub issuer: Option<String>,
    pub start_url: Option<String>,
    /// Custom attributes (key, formula).
    pub attributes: Vec<(&'static str, &'static str)>,
}

impl App {
    /// An app granted to [`PROFILE`] and [`PERMISSION_SET`], subject Username, format Unspecified.
    pub fn new(name: &str) -> App {
        App {
            name: name.into(),
            entity_id: format!("https://sp.example.com/{name}"),
            acs_url: format!("https://sp.example.com/{name}/acs"),
            subject: "Username",
            format: "Unspecified",
            attributes: vec![
                ("extension", "$User.Extension__c"),
                ("team", "$User.Department & \"/\" & $Profile.Name"),
            ],
            ..App::default()
        }
    }
}

fn put(obj: &mut Value, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        obj[key] = v.into();
    }
}

async fn mutate(s: &Sim, body: Value) {
    let (code, reply) = s.control_post("/__sim/mutate", body.clone()).await;
    assert_eq!(code, 200, "{body} -> {reply}");
}

/// Creates `app` as a connected app or as an External Client App (app, policies, SAML policies).
pub async fn create(s: &Sim, kind: Kind, app: &App) {
    let attrs = |k: &str, f: &str| -> Vec<Value> {
        app.attributes
            .iter()
            .map(|(key, formula)| json!({k: key, f: formula}))
            .collect()
    };
    match kind {
        Kind::Connected => {
            let mut saml = json!({"acsUrl": app.acs_url, "entityUrl": app.entity_id,
                "samlSubjectType": app.subject, "samlNameIdFormat": app.format});
            put(&mut saml, "samlSubjectCustomAttr", app.subject_attr);
            put(&mut saml, "samlSigningAlgoType", app.signing);
            put(&mut saml, "certificate", app.request_cert.clone());
            put(
                &mut saml,
                "encryptionCertificate",
                app.encryption_cert.clone(),
            );
            put(&mut saml, "encryptionType", app.encryption_type);
            put(&mut saml, "issuer", app.issuer.clone());
            let mut value = json!({"fullName": app.name, "label": app.name,
                "contactEmail": "ops@acme.com", "profileName": [PROFILE],
                "permissionSetName": [PERMISSION_SET], "samlConfig": saml,
                "attributes": attrs("key", "formula")});
            put(&mut value, "startUrl", app.start_url.clone());
            mutate(
                s,
                json!({"type": "ConnectedApp", "fullName": app.name, "value": value}),
            )
            .await;
        }
        Kind::External => {
            let n = &app.name;
            mutate(s, json!({"type": "ExternalClientApplication", "fullName": n,
                "value": {"label": n, "contactEmail": "ops@acme.com", "distributionState": "Local"}}))
            .await;
            mutate(
                s,
                json!({"type": "ExtlClntAppConfigurablePolicies", "fullName": format!("{n}_plcy"),
                "value": {"externalClientApplication": n, "isEnabled": true,
                          "isSamlPluginEnabled": true, "label": n}}),
            )
            .await;
            let mut saml = json!({"externalClientApplication": n, "label": n,
                "acsUrl": app.acs_url, "entityUrl": app.entity_id, "subjectType": app.subject,
                "nameIdFormat": app.format, "commaSeparatedProfile": PROFILE,
                "commaSeparatedPermissionSet": PERMISSION_SET,
                "customAttributes": attrs("key", "formula")});
            put(&mut saml, "subjectCustomAttribute", app.subject_attr);
            put(&mut saml, "signingAlgorithmType", app.signing);
            put(&mut saml, "certificate", app.request_cert.clone());
            put(
                &mut saml,
                "encryptionCertificate",
                app.encryption_cert.clone(),
            );
            put(&mut saml, "encryptionType", app.encryption_type);
            put(&mut saml, "issuer", app.issuer.clone());
            put(&mut saml, "startUrl", app.start_url.clone());
            mutate(
                s,
                json!({"type": "ExtlClntAppSamlConfigurablePolicies",
                "fullName": format!("{n}_samlPlcy"), "value": saml}),
            )
            .await;
        }
    }
}

/// The user's 18-character id (from `/__sim/state`).
pub async fn user_id(s: &Sim, username: &str) -> String {
    let state = s.control_get("/__sim/state").await;
    state["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == username)
        .and_then(|u| u["id"].as_str())
        .expect("user id")
        .to_owned()
}

/// The IdP-initiated `app=` id of an app (`/__sim/state` `samlApps`).
pub async fn sp_id(s: &Sim, app: &str) -> String {
    let state = s.control_get("/__sim/state").await;
    state["samlApps"][app]["spId"]
        .as_str()
        .unwrap_or_else(|| panic!("no samlApps.{app}: {}", state["samlApps"]))
        .to_owned()
}

/// The `fault` (IdpEventLog code) of the last sign-in in the call log.
pub async fn last_sign_in_fault(s: &Sim) -> Option<String> {
    let calls = s.control_get("/__sim/calls").await;
    calls["log"]
        .as_array()
        .expect("log")
        .iter()
        .rev()
        .find(|c| {
            c["operation"]
                .as_str()
                .is_some_and(|o| o.starts_with("saml"))
        })
        .and_then(|c| c["fault"].as_str().map(str::to_owned))
}

/// The 18-character form of a 15-character id (Salesforce's case-safe checksum).
pub fn full_id(id15: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut suffix = String::new();
    for chunk in id15.as_bytes().chunks(5) {
        let n = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |n, (i, _)| n | (1 << i));
        suffix.push(ALPHA[n] as char);
    }
    format!("{id15}{suffix}")
}

/// The SP settings of `app`, with the metadata the org publishes for it now.
pub async fn config(s: &Sim, app: &App, dir: &Path) -> SpConfig {
    SpConfig {
        entity_id: app.entity_id.clone(),
        acs_url: app.acs_url.clone(),
        metadata: metadata(s, &app.name, dir).await,
        signing: None,
        encryption: None,
    }
}
