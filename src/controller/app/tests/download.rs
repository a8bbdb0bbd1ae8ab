//! The per-app metadata is downloaded only when something that decides it moved: a refresh that
//! finds the IdP, the app and the org's key choice as before reuses the last publish.

use super::*;
use crate::api::conditions::types;
use crate::controller::app::download::{Download, LastPublish};
use crate::controller::app::metadata::MetadataOutcome;
use crate::controller::fixtures::{IDP_CERT, OTHER_CERT, test_app};
use crate::controller::rotation::KeyRole;

/// What the memo would remember of `r`'s download.
fn remembered(r: &Round, now: jiff::Timestamp) -> Option<LastPublish> {
    match (&r.outcomes.metadata, &r.outcomes.publish) {
        (
            Some(MetadataOutcome::Fetched {
                key,
                certificate,
                source,
                ..
            }),
            Some(PublishOutcome::Published {
                config_map, status, ..
            }),
        ) => Some(LastPublish {
            download: Download {
                key: *key,
                at: now,
                source: *source,
            },
            config_map: config_map.clone(),
            status: status.clone(),
            not_after: certificate.not_after,
        }),
        (Some(MetadataOutcome::Unchanged(p)), _) => Some(p.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_refresh_that_finds_nothing_moved_downloads_nothing_and_changes_nothing() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    let r = w
        .reconcile_with(&mut app, org_chooses(IDP_CERT), None)
        .await;
    let last = remembered(&r, w.now);
    assert_eq!(w.org.api.count("fetchAppMetadata"), 1);
    let status = app.status.clone();

    let r = w
        .reconcile_with(&mut app, org_chooses(IDP_CERT), last.clone())
        .await;
    assert!(matches!(
        r.outcomes.metadata,
        Some(MetadataOutcome::Unchanged(_))
    ));
    assert_eq!(w.org.api.count("fetchAppMetadata"), 1, "no second download");
    assert_eq!(w.published(), 1, "nothing published again");
    assert_eq!(app.status, status, "the status stands as it was");
    assert_eq!(state(&app, types::READY), t("True Synced"));
    assert!(r.events.is_empty());
}

#[tokio::test]
async fn a_rotation_phase_or_drift_or_a_restart_downloads_again() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    app.spec.identity_provider.certificate = None;
    let r = w
        .reconcile_with(&mut app, org_chooses(IDP_CERT), None)
        .await;
    let last = remembered(&r, w.now);

    // The org announces a rotation: the key choice moved.
    let announced = Some(OrgIdpView {
        org: "acme".into(),
        current: IDP_CERT.into(),
        allowed: vec![IDP_CERT.into(), OTHER_CERT.into()],
        extra: Some((OTHER_CERT.into(), KeyRole::Next)),
    });
    let r = w.reconcile_with(&mut app, announced.clone(), last).await;
    assert!(matches!(
        r.outcomes.metadata,
        Some(MetadataOutcome::Fetched { .. })
    ));
    assert_eq!(w.org.api.count("fetchAppMetadata"), 2);
    let last = remembered(&r, w.now);

    // Someone changes the app in Salesforce: corrected, and the metadata downloaded again.
    w.org
        .api
        .change_acs_url("Telephony_SSO", "https://evil.example/acs");
    let r = w.reconcile_with(&mut app, announced.clone(), last).await;
    assert!(matches!(
        r.outcomes.metadata,
        Some(MetadataOutcome::Fetched { .. })
    ));
    assert_eq!(w.org.api.count("fetchAppMetadata"), 3);

    // Nothing remembered (a restart, a sweep, a ConfigMap edited): download.
    w.reconcile_with(&mut app, announced, None).await;
    assert_eq!(w.org.api.count("fetchAppMetadata"), 4);
}

#[tokio::test]
async fn a_skipped_download_keeps_saying_which_document_was_published() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.state().eca_metadata_missing = true;
    let mut app = super::access::eca();
    let r = w.reconcile_with(&mut app, None, None).await;
    let last = remembered(&r, w.now);
    let status = app.status.clone();
    let (_, _, m) = cond(&app, types::METADATA_PUBLISHED);
    assert!(m.contains("org-level metadata"), "{m}");

    let r = w.reconcile_with(&mut app, None, last).await;
    assert!(matches!(
        r.outcomes.metadata,
        Some(MetadataOutcome::Unchanged(_))
    ));
    assert_eq!(app.status, status, "no status change, so no status write");
}
