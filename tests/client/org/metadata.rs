//! Metadata API round trips: connected apps (upsert, read, delete; adoption keeps unmanaged
//! fields; blocked creation), the Identity Provider and its certificate, IdP metadata.

use sso_operator::salesforce::{ErrorKind, IdentityProviderSettings};

use super::{app, client};
use crate::common::client::*;

#[tokio::test]
async fn connected_app_upsert_read_delete_round_trip() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let a = app("Voice_SSO");
    assert!(c.read_connected_app("Voice_SSO").await.unwrap().is_none());
    assert!(c.upsert_connected_app(&a).await.unwrap().created);
    let back = c
        .read_connected_app("Voice_SSO")
        .await
        .unwrap()
        .expect("created app");
    assert!(
        back.same_managed_fields(&a),
        "read back differs:\n{back:#?}\nvs\n{a:#?}"
    );
    let mut changed = a.clone();
    changed.label = "Voice SSO v2".into();
    assert!(!c.upsert_connected_app(&changed).await.unwrap().created);
    assert_eq!(
        c.read_connected_app("Voice_SSO")
            .await
            .unwrap()
            .unwrap()
            .label,
        "Voice SSO v2"
    );
    let listed = c.list_connected_apps().await.unwrap();
    assert!(
        listed.iter().any(|f| f.full_name == "Voice_SSO"),
        "{listed:?}"
    );
    c.delete_connected_app("Voice_SSO").await.unwrap();
    assert!(c.read_connected_app("Voice_SSO").await.unwrap().is_none());
    // Deleting what is already gone is success.
    c.delete_connected_app("Voice_SSO").await.unwrap();
}

#[tokio::test]
async fn upsert_of_an_adopted_app_keeps_fields_the_operator_does_not_manage() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let mut existing = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(existing.unmanaged.names(), vec!["oauthConfig"]);
    existing.profile_name.push("System Administrator".into());
    assert!(!c.upsert_connected_app(&existing).await.unwrap().created);
    let state = sim.state().await;
    let stored = &state["connectedApps"]["Existing_Telephony"];
    assert_eq!(
        stored["oauthConfig"]["callbackUrl"], "https://telephony.example.com/oauth/callback",
        "{stored}"
    );
    let back = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.profile_name.len(), 2);
}

#[tokio::test]
async fn identity_provider_and_certificate() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let idp = c
        .read_identity_provider()
        .await
        .unwrap()
        .expect("idp settings");
    assert!(idp.enable_identity_provider);
    assert_eq!(idp.certificate_name, "SelfSignedCert_IdP");
    c.upsert_identity_provider(&IdentityProviderSettings {
        certificate_name: "SelfSignedCert_Next".into(),
        enable_identity_provider: true,
    })
    .await
    .unwrap();
    assert_eq!(
        c.read_identity_provider()
            .await
            .unwrap()
            .unwrap()
            .certificate_name,
        "SelfSignedCert_Next"
    );
    let e = c
        .upsert_identity_provider(&IdentityProviderSettings {
            certificate_name: "No_Such_Cert".into(),
            enable_identity_provider: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected, "{e}");
    assert!(e.to_string().contains("INVALID_CROSS_REFERENCE_KEY"), "{e}");

    let cert = c
        .read_certificate("SelfSignedCert_IdP")
        .await
        .unwrap()
        .expect("cert");
    assert_eq!(cert.master_label, "SelfSignedCert IdP");
    assert_eq!(cert.key_size, Some(2048));
    assert!(!cert.ca_signed);
    assert_eq!(
        cert.expiration_date.unwrap().to_string(),
        "2099-11-27T00:00:00Z"
    );
    assert!(c.read_certificate("Nope").await.unwrap().is_none());
}

#[tokio::test]
async fn idp_metadata_is_fetched_from_my_domain_and_parsed() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let m = c.fetch_idp_metadata(None).await.unwrap();
    assert_eq!(m.entity_id, "https://acme.my.salesforce.com");
    assert!(m.sso_post.is_some() && m.sso_redirect.is_some());
    assert_eq!(m.signing_certificates.len(), 1);
    let cert = sim.certificate("SelfSignedCert_IdP").await;
    let fp = cert["sha256Fingerprint"]
        .as_str()
        .unwrap()
        .replace(':', "")
        .to_uppercase();
    assert_eq!(
        m.signing_certificates[0]
            .sha256_fingerprint
            .replace(':', ""),
        fp
    );

    let per_app = c
        .fetch_idp_metadata(Some("Existing_Telephony"))
        .await
        .unwrap();
    assert_eq!(
        per_app.name_id_formats,
        vec!["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"]
    );
    assert!(per_app.slo.is_some());
    let e = c.fetch_idp_metadata(Some("Unknown_App")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c
        .fetch_idp_metadata(Some("../../etc/passwd"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
}

#[tokio::test]
async fn creation_blocked_is_its_own_error_and_updates_still_work() {
    let sim = start_org_with(SimConfig {
        creation_allowed: false,
        ..SimConfig::default()
    });
    let c = client(&sim, sim.jwt());
    let e = c.upsert_connected_app(&app("Brand_New")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CreationBlocked, "{e}");
    assert!(e.to_string().contains("Support"), "{e}");
    let mut existing = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    existing.description = Some("updated".into());
    assert!(!c.upsert_connected_app(&existing).await.unwrap().created);
    c.delete_connected_app("Existing_Telephony").await.unwrap();
}
