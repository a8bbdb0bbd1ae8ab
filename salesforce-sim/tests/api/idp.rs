//! IdP metadata of the simulator: shape, schema validity, and the certificate's key.

use crate::harness as sim;
use crate::xsd;

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use sim::Sim;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

async fn get(s: &Sim, path: &str) -> (u16, String) {
    let r = s.client.get(s.u(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// sha256 of the SubjectPublicKeyInfo inside the metadata's X509Certificate.
fn metadata_key_sha256(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let b64 = doc
        .descendants()
        .find(|n| n.tag_name().name() == "X509Certificate")
        .and_then(|n| n.text())
        .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    hex::encode(Sha256::digest(cert.public_key().raw))
}

#[tokio::test]
async fn org_and_app_metadata_shape() {
    let s = Sim::start();
    let (status, xml) = get(&s, "/.well-known/samlidp.xml").await;
    assert_eq!(status, 200);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "EntityDescriptor");
    assert_eq!(
        root.attribute("entityID"),
        Some("https://acme.my.salesforce.com")
    );
    assert!(root.attribute("validUntil").unwrap().ends_with('Z'));
    let idp = root.children().find(|c| c.is_element()).unwrap();
    let order: Vec<&str> = idp
        .children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect();
    assert_eq!(
        order,
        [
            "KeyDescriptor",
            "NameIDFormat",
            "SingleSignOnService",
            "SingleSignOnService"
        ]
    );
    assert!(xml.contains(r#"Location="https://acme.my.salesforce.com/idp/endpoint/HttpPost""#));
    assert!(xml.contains(r#"Location="https://acme.my.salesforce.com/idp/endpoint/HttpRedirect""#));
    assert!(xml.contains("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"));

    let (status, xml) = get(&s, "/.well-known/samlidp/Existing_Telephony.xml").await;
    assert_eq!(status, 200);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.root_element().attribute("entityID"),
        Some("https://idp.acme.example")
    );
    let slo = doc
        .descendants()
        .find(|n| n.tag_name() == (MD, "SingleLogoutService").into())
        .unwrap();
    assert_eq!(
        slo.attribute("Binding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    assert!(xml.contains("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"));

    for missing in [
        "/.well-known/samlidp/Oauth_Only.xml",
        "/.well-known/samlidp/Nope.xml",
    ] {
        assert_eq!(get(&s, missing).await.0, 404, "{missing}");
    }
    s.control_post(
        "/__sim/mutate",
        json!({"type": "IdentityProviderSettings", "set": {"enableIdentityProvider": false}}),
    )
    .await;
    assert_eq!(get(&s, "/.well-known/samlidp.xml").await.0, 404);
}

#[tokio::test]
async fn metadata_validates_and_carries_the_key_the_org_holds() {
    let s = Sim::start();
    let state = s.control_get("/__sim/state").await;
    let held = |state: &serde_json::Value, name: &str| {
        state["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["publicKeySha256"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, org) = get(&s, "/.well-known/samlidp.xml").await;
    let (_, app) = get(&s, "/.well-known/samlidp/Existing_Telephony.xml").await;
    assert_eq!(
        metadata_key_sha256(&org),
        held(&state, "SelfSignedCert_IdP")
    );
    assert_eq!(
        metadata_key_sha256(&app),
        held(&state, "SelfSignedCert_IdP")
    );

    // Rotation: a new certificate set as the IdP certificate shows up with its own key.
    let (status, _) = s
        .control_post(
            "/__sim/certificates",
            json!({"name": "SelfSignedCert_2027", "setAsIdpCertificate": true}),
        )
        .await;
    assert_eq!(status, 200);
    let state = s.control_get("/__sim/state").await;
    let (_, rotated) = get(&s, "/.well-known/samlidp.xml").await;
    assert_eq!(
        metadata_key_sha256(&rotated),
        held(&state, "SelfSignedCert_2027")
    );
    assert_ne!(metadata_key_sha256(&rotated), metadata_key_sha256(&org));

    // Subject shaped like Salesforce's.
    let doc = roxmltree::Document::parse(&rotated).unwrap();
    let b64 = doc
        .descendants()
        .find(|n| n.tag_name().name() == "X509Certificate")
        .unwrap()
        .text()
        .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let subject = cert.subject().to_string();
    assert_eq!(
        subject,
        "CN=SelfSignedCert_2027, OU=00D5g000000SIMU, O=Salesforce.com, L=San Francisco, ST=CA, C=USA"
    );
    assert_eq!(cert.issuer().to_string(), subject);
    assert_eq!(
        cert.signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA
    );

    let Some(schema) = xsd::saml_metadata_xsd() else {
        xsd::skip("SAML metadata schema validation");
        return;
    };
    let mut files = Vec::new();
    for (i, x) in [org, app, rotated].iter().enumerate() {
        let p = s.dir.path().join(format!("idp-{i}.xml"));
        std::fs::write(&p, x).unwrap();
        files.push(p);
    }
    xsd::validate(&schema, &files).unwrap_or_else(|e| panic!("SAML metadata schema:\n{e}"));
}

#[tokio::test]
async fn valid_until_follows_the_simulator_clock() {
    let s = Sim::start();
    let until = |xml: String| {
        let doc = roxmltree::Document::parse(&xml).unwrap();
        doc.root_element()
            .attribute("validUntil")
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let before = until(get(&s, "/.well-known/samlidp.xml").await.1);
    s.control_post("/__sim/clock", json!({"advanceSeconds": 86_400 * 400}))
        .await;
    let after = until(get(&s, "/.well-known/samlidp.xml").await.1);
    assert!(after.as_second() - before.as_second() >= 86_400 * 400);
    // The 1-year default certificate is now expired on the simulator clock.
    let state = s.control_get("/__sim/state").await;
    let next = state["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "SelfSignedCert_Next")
        .unwrap()
        .clone();
    assert_eq!(next["expired"], true);
}
