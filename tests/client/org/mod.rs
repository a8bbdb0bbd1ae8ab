//! The Salesforce client's org operations against `salesforce-sim` (HTTPS, strict WSDL checks,
//! fault injection), by subject.

mod auth;
mod batching;
mod hostile;
mod limits;
mod metadata;

use std::sync::Arc;

use sso_operator::salesforce::{
    ConnectedApp, ConnectedAppSamlConfig, Credentials, OrgClient, Salesforce, SamlIdpSloBinding,
    SamlNameIdFormatType, SamlSigningAlgoType, SamlSubjectType,
};

use crate::common::client::Sim;

/// A client of the org with `creds` and the default options.
fn client(sim: &Sim, creds: Credentials) -> Arc<OrgClient> {
    let sf = Salesforce::new(sim.options()).expect("client");
    Arc::new(sf.client("ns/org", sim.conn(creds)))
}

/// The org's `Existing_Telephony` app reads back: the client works (still, or again).
async fn assert_existing_app_readable(c: &OrgClient) {
    let app = c.read_connected_app("Existing_Telephony").await.unwrap();
    assert!(app.is_some(), "Existing_Telephony not found");
}

/// A SAML connected app `name` with every field the operator manages.
fn app(name: &str) -> ConnectedApp {
    let mut a = ConnectedApp::new(name, format!("{name} label"), "ops@acme.com");
    a.description = Some("Partner telephony SSO".into());
    a.profile_name = vec!["System Administrator".into()];
    a.permission_set_name = vec!["Voice_Agent".into()];
    let mut saml = ConnectedAppSamlConfig::new(
        format!("https://sp.example.com/{name}/acs"),
        format!("https://sp.example.com/{name}"),
        SamlSubjectType::FederationId,
    );
    saml.saml_name_id_format = Some(SamlNameIdFormatType::Persistent);
    saml.saml_signing_algo_type = Some(SamlSigningAlgoType::Sha256);
    saml.saml_idp_slo_binding = Some(SamlIdpSloBinding::RedirectBinding);
    saml.saml_slo_url = Some(format!("https://sp.example.com/{name}/slo"));
    a.saml_config = Some(saml);
    a
}
