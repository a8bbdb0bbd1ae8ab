//! Sign-in end to end (issues 18 and 19): the operator publishes an app's IdP metadata into a
//! ConfigMap; a SAML service provider that is not part of this project (pysaml2, through
//! `common::sp`), configured only from that ConfigMap, signs an agent of the simulated org in.
//!
//! - `matrix`: both app kinds × every subject type and NameID format, SP-initiated (Redirect,
//!   POST) and IdP-initiated; what the SP refuses (another app's response, an expired one, one
//!   signed with a certificate its metadata lacks) and why;
//! - `rotation`: a planned IdP certificate rotation with the SP reloading the ConfigMap
//!   throughout: no refused sign-in; the same switch by hand in the org: refused sign-ins until
//!   the operator republishes.

mod matrix;
mod rotation;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::e2e::{Env, Flavor, ORG, OrgSeed};
use crate::common::sim::UserSpec;

/// The agent who signs in: Contact Center Agent (the profile every app grants), Federation ID
/// [`AGENT_FEDERATION_ID`], extension [`AGENT_EXTENSION`].
pub const AGENT: &str = "agent1@acme.com";
pub const AGENT_FEDERATION_ID: &str = "agent1";
pub const AGENT_EMAIL: &str = "agent.one@acme.example";
pub const AGENT_EXTENSION: &str = "4711";
/// The custom attribute an admin adds to every app in Setup (the operator does not manage custom
/// attributes; it keeps them): the agent's extension, also the subject of `CustomAttribute` apps.
pub const EXTENSION_ATTR: &str = "extension";

/// An org with the agent; connected-app creation allowed (both kinds in one org); the IdP on with
/// `SelfSignedCert_IdP` when `idp_enabled`.
pub fn seed(idp_enabled: bool) -> OrgSeed {
    let fields: BTreeMap<String, String> = [
        ("Email", AGENT_EMAIL),
        ("Department", "Voice"),
        ("Extension__c", AGENT_EXTENSION),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    OrgSeed {
        creation_allowed: true,
        idp_enabled,
        extra_users: vec![UserSpec {
            username: AGENT.into(),
            profile: "Contact Center Agent".into(),
            federation_id: Some(AGENT_FEDERATION_ID.into()),
        }],
        user_fields: [(AGENT.to_owned(), fields)].into_iter().collect(),
        ..OrgSeed::default()
    }
}

/// One SAML app of a sign-in test.
#[derive(Clone, Debug)]
pub struct SamlApp {
    pub flavor: Flavor,
    /// The `SsoConnectedApp`'s name (lower case, dashes).
    pub name: String,
    /// The app's API name in Salesforce (and the `app=` of IdP-initiated sign-in).
    pub api_name: String,
    pub entity_id: String,
    pub acs_url: String,
    pub subject: &'static str,
    pub format: &'static str,
    /// `identityProvider.certificate` of the app (`None`: it follows the org or the IdP).
    pub certificate: Option<&'static str>,
}

impl SamlApp {
    /// An app `api_name` of kind `flavor`, subject Username, format Unspecified, with its own
    /// entity id and ACS URL.
    pub fn new(flavor: Flavor, api_name: &str) -> SamlApp {
        let name = api_name.to_lowercase().replace('_', "-");
        SamlApp {
            flavor,
            entity_id: format!("https://sp.vendor.example/{name}"),
            acs_url: format!("https://sp.vendor.example/{name}/acs"),
            name,
            api_name: api_name.to_owned(),
            subject: "Username",
            format: "Unspecified",
            certificate: Some("SelfSignedCert_IdP"),
        }
    }

    /// The ConfigMap the operator publishes the app's metadata into.
    pub fn config_map(&self) -> String {
        format!("{}-idp-metadata", self.name)
    }

    pub fn manifest(&self) -> String {
        let custom = if self.subject == "CustomAttribute" {
            format!("\n    subjectCustomAttribute: {EXTENSION_ATTR}")
        } else {
            String::new()
        };
        let idp = match self.certificate {
            Some(c) => format!("{{certificate: {c}}}"),
            None => "{}".to_owned(),
        };
        format!(
            r#"apiVersion: sso-operator.dev/v1alpha1
kind: SsoConnectedApp
metadata: {{name: {name}}}
spec:
  orgRef: {{name: {ORG}}}
  identityProvider: {idp}
  app:
    type: {ty}
    apiName: {api}
    label: {api}
    contactEmail: voice-admins@acme.example
  saml:
    acsUrl: {acs}
    entityId: {entity}
    subjectType: {subject}
    nameIdFormat: {format}{custom}
  access:
    profiles: [Contact Center Agent]
  publish: {{refreshInterval: 1h}}
  policy: {{deletion: Delete}}
"#,
            name = self.name,
            ty = self.flavor.app_type(),
            api = self.api_name,
            acs = self.acs_url,
            entity = self.entity_id,
            subject = self.subject,
            format = self.format,
        )
    }

    /// An admin adds the custom attribute [`EXTENSION_ATTR`] (`$User.Extension__c`) to the app
    /// in Setup: the connected app's `attributes`, the External Client App's SAML policies'
    /// `customAttributes` (WSDL field names).
    pub async fn add_extension_attribute(&self, env: &Env) {
        let attrs = json!([{"key": EXTENSION_ATTR, "formula": "$User.Extension__c"}]);
        let change: Value = match self.flavor {
            Flavor::Connected => json!({"type": "ConnectedApp", "fullName": self.api_name,
                "set": {"attributes": attrs}}),
            Flavor::External => json!({"type": "ExtlClntAppSamlConfigurablePolicies",
                "fullName": format!("{}_samlPlcy", self.api_name),
                "set": {"customAttributes": attrs}}),
        };
        env.sim.control("/__sim/mutate", change).await;
    }
}

/// The org's IdP certificate as the simulator holds it now (`identityProvider.certificate`).
pub async fn idp_certificate(env: &Env) -> String {
    env.sim.state().await["identityProvider"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A PEM file of the org's certificate `name` (from the simulator: what signs, not what is
/// published), in `dir`.
pub async fn org_cert_file(env: &Env, name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let pem = env.sim.certificate(name).await["pem"]
        .as_str()
        .expect("pem")
        .to_owned();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, pem).expect("write certificate");
    path
}
