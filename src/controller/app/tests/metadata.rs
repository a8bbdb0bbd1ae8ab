use super::*;
use crate::api::conditions::types;
use crate::controller::app::outcomes::Next;
use crate::controller::fixtures::{IDP_CERT, OTHER_CERT, cert, test_app};
use crate::salesforce::SalesforceError;

#[tokio::test]
async fn the_metadata_and_certificate_are_published_with_the_identity_provider_in_status() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::METADATA_PUBLISHED), t("True Synced"));
    assert!(reasons_of(&r.events).contains(&"MetadataPublished"));
    let cm = w.publisher.published.lock().unwrap()[0].clone();
    let data = cm.data.unwrap();
    assert_eq!(data["certificate.pem"], cert(IDP_CERT).pem);
    assert_eq!(data["entity-id"], "https://acme.my.salesforce.com");
    let idp = app
        .status
        .as_ref()
        .unwrap()
        .identity_provider
        .clone()
        .unwrap();
    assert_eq!(idp.certificate.name, IDP_CERT);
    assert_eq!(
        idp.certificate.sha256_fingerprint,
        cert(IDP_CERT).info.sha256_fingerprint
    );
}

#[tokio::test]
async fn metadata_for_another_issuer_is_refused_and_not_published() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    app.spec.saml.issuer = Some("https://issuer.example".into());
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::METADATA_PUBLISHED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "MetadataInvalid")
    );
    assert!(
        message.contains("not the issuer https://issuer.example"),
        "{message}"
    );
    assert_eq!(w.published(), 0);
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn a_rotation_seen_in_the_metadata_first_rereads_the_identity_provider_once() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    // An admin switches the IdP certificate; the shared snapshot still names the old one.
    w.org.api.state().idp.as_mut().unwrap().certificate_name = OTHER_CERT.into();
    w.org.api.take_calls();
    app.metadata.generation = Some(2);
    w.reconcile(&mut app).await;
    assert_eq!(
        w.org.api.count("readIdentityProvider"),
        1,
        "{:?}",
        w.org.api.take_calls()
    );
    assert_eq!(state(&app, types::METADATA_PUBLISHED), t("True Synced"));
    let idp = app
        .status
        .as_ref()
        .unwrap()
        .identity_provider
        .clone()
        .unwrap();
    assert_eq!(idp.certificate.name, OTHER_CERT);
    let last = w
        .publisher
        .published
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last.data.unwrap()["certificate.pem"], cert(OTHER_CERT).pem);
}

#[tokio::test]
async fn metadata_signed_by_a_certificate_the_identity_provider_does_not_use_is_retried() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.state().metadata_signed_by = Some(OTHER_CERT.into());
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::METADATA_PUBLISHED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "MetadataInvalid")
    );
    assert!(message.contains(IDP_CERT), "{message}");
    assert_eq!(r.outcomes.next(), Next::Retry);
    assert_eq!(w.published(), 0);
}

#[tokio::test]
async fn unusable_metadata_is_reported_as_invalid_and_retried() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.fail(
        "fetchAppMetadata",
        SalesforceError::protocol("fetchIdpMetadata", "root element is 'html'"),
    );
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(
        state(&app, types::METADATA_PUBLISHED),
        t("False MetadataInvalid")
    );
    assert_eq!(state(&app, types::RECONCILING).0, "True");
    assert_eq!(r.outcomes.next(), Next::Retry);
}

#[tokio::test]
async fn published_at_moves_only_when_the_content_changes() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let first = app.status.as_ref().unwrap().metadata.clone().unwrap();
    w.now = "2027-01-02T00:00:00Z".parse().unwrap();
    let r = w.reconcile(&mut app).await;
    assert_eq!(
        app.status.as_ref().unwrap().metadata.clone().unwrap(),
        first
    );
    assert!(!reasons_of(&r.events).contains(&"MetadataPublished"));
    w.org.api.state().entity_id = "https://acme2.my.salesforce.com".into();
    let r = w.reconcile(&mut app).await;
    let moved = app.status.as_ref().unwrap().metadata.clone().unwrap();
    assert_ne!(moved.sha256, first.sha256);
    assert_ne!(moved.published_at, first.published_at);
    assert!(reasons_of(&r.events).contains(&"MetadataPublished"));
}
