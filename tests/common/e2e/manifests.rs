//! The Kubernetes objects the end-to-end tests apply: Secrets, `SalesforceOrg`s and
//! `SsoConnectedApp`s, each written in one place, and the hand-made app an org may already hold.

use serde_json::{Value, json};

use crate::common::sim::{JWT_CLIENT, USERNAME};

/// The `SalesforceOrg` every environment has.
pub const ORG: &str = "acme";
/// Its JWT Secret (key `tls.key`).
pub const ORG_SECRET: &str = "acme-jwt";

/// A Secret `name` with these string entries (JSON is YAML too: values stay exact).
pub fn secret(name: &str, entries: &[(&str, &str)]) -> String {
    let data: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": data,
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).expect("JSON"))
}

/// `auth:` of a JWT bearer org: the private key in Secret `secret` under `key`.
pub fn jwt_auth(secret: &str, key: &str, username: &str, client: &str) -> String {
    format!(
        "jwtBearer: {{clientId: {client}, username: {username}, privateKeySecretRef: {{name: {secret}, key: {key}}}}}"
    )
}

/// `auth:` of a client-credentials org (`client-id` and `client-secret` in Secret `secret`).
pub fn client_credentials_auth(secret: &str) -> String {
    format!("clientCredentials: {{secretRef: {{name: {secret}}}}}")
}

/// A `SalesforceOrg` `name` with these URLs and `auth` (one line of [`jwt_auth`] or
/// [`client_credentials_auth`]).
pub fn org_manifest(name: &str, instance: &str, login: &str, auth: &str) -> String {
    format!(
        "apiVersion: sso-operator.dev/v1alpha1\nkind: SalesforceOrg\nmetadata: {{name: {name}}}\nspec:\n  instanceUrl: {instance}\n  login: {{url: {login}}}\n  auth:\n    {auth}\n"
    )
}

/// The environment's org [`ORG`] at `base`, authenticating with [`ORG_SECRET`].
pub fn acme_org(base: &str) -> String {
    org_manifest(
        ORG,
        base,
        base,
        &jwt_auth(ORG_SECRET, "tls.key", USERNAME, JWT_CLIENT),
    )
}

/// Knobs for [`app_manifest`].
pub struct AppOpts<'a> {
    pub name: &'a str,
    pub org: &'a str,
    pub api_name: &'a str,
    pub acs_url: &'a str,
    pub deletion: &'a str,
    pub adoption: &'a str,
    pub management: &'a str,
    pub refresh: &'a str,
    pub certificate: &'a str,
    pub app_type: &'a str,
    /// `spec.access`, as one line of YAML.
    pub access: &'a str,
}

impl Default for AppOpts<'_> {
    fn default() -> Self {
        Self {
            name: "telephony",
            org: ORG,
            api_name: "Telephony_SSO",
            acs_url: "https://sso.vendor.example/saml/acs",
            deletion: "Delete",
            adoption: "Never",
            management: "Full",
            refresh: "1h",
            certificate: "SelfSignedCert_IdP",
            app_type: "ConnectedApp",
            access: "{profiles: [Contact Center Agent], permissionSets: [Voice_Agent]}",
        }
    }
}

pub fn app_manifest(o: &AppOpts) -> String {
    format!(
        r#"apiVersion: sso-operator.dev/v1alpha1
kind: SsoConnectedApp
metadata: {{name: {name}}}
spec:
  orgRef: {{name: {org}}}
  identityProvider: {{certificate: {cert}}}
  app:
    type: {ty}
    apiName: {api}
    label: Telephony SSO
    contactEmail: voice-admins@acme.example
    description: SSO for the partner telephony system
  saml:
    acsUrl: {acs}
    entityId: https://sso.vendor.example/sp
    subjectType: FederationId
    nameIdFormat: EmailAddress
    singleLogout: {{url: https://sso.vendor.example/saml/slo, binding: Post}}
  access: {access}
  publish: {{refreshInterval: {refresh}}}
  policy: {{deletion: {del}, adoption: {adopt}, management: {mgmt}}}
"#,
        name = o.name,
        org = o.org,
        cert = o.certificate,
        ty = o.app_type,
        api = o.api_name,
        acs = o.acs_url,
        refresh = o.refresh,
        del = o.deletion,
        adopt = o.adoption,
        mgmt = o.management,
        access = o.access,
    )
}

/// An app already in the org, without the ownership marker (for adoption tests).
pub fn unowned_app(full_name: &str) -> Value {
    json!({
        "fullName": full_name,
        "label": "Hand Made",
        "contactEmail": "admin@acme.example",
        "description": "created by hand in Setup",
        "profileName": ["System Administrator"],
        "samlConfig": {
            "acsUrl": "https://old.vendor.example/acs",
            "entityUrl": "https://old.vendor.example/sp",
            "samlSubjectType": "Username",
        },
    })
}
