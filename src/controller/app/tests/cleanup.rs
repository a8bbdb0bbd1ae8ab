use super::*;
use crate::api::RELEASE_ANNOTATION;
use crate::api::app::{DeletionPolicy, ManagementPolicy};
use crate::controller::app::cleanup::{CleanupOutcome, decide, delete_owned};
use crate::controller::fixtures::{IDP_CERT, test_app};
use crate::ownership;

#[tokio::test]
async fn deleting_the_resource_deletes_its_own_app() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    assert_eq!(decide(&app), None);
    let outcome = delete_owned(&w.org.api, &app).await.unwrap();
    assert_eq!(outcome, CleanupOutcome::Deleted);
    assert!(w.org.api.connected_app("Telephony_SSO").is_none());
    let event = outcome.event(&app).unwrap();
    assert_eq!(
        event.note,
        "deleted connected app Telephony_SSO from Salesforce"
    );
}

#[tokio::test]
async fn an_app_marked_for_another_resource_survives_the_deletion() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut theirs = crate::controller::desired::connected_app(&test_app().spec, "", None);
    theirs.description = Some(ownership::marker("team-b", "other", "uid-b"));
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), theirs);
    let outcome = delete_owned(&w.org.api, &test_app()).await.unwrap();
    assert_eq!(outcome, CleanupOutcome::NotOwned);
    assert!(!w.org.api.take_calls().contains(&"deleteApp"));
    assert!(w.org.api.connected_app("Telephony_SSO").is_some());
}

#[tokio::test]
async fn an_app_already_gone_needs_no_deletion() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let outcome = delete_owned(&w.org.api, &test_app()).await.unwrap();
    assert_eq!(outcome, CleanupOutcome::Absent);
    assert_eq!(outcome.event(&test_app()), None);
}

#[test]
fn orphan_observe_only_suspend_and_release_leave_salesforce_alone() {
    let mut orphan = test_app();
    orphan.spec.policy.deletion = DeletionPolicy::Orphan;
    let mut observe = test_app();
    observe.spec.policy.management = ManagementPolicy::ObserveOnly;
    let mut suspended = test_app();
    suspended.spec.suspend = true;
    for app in [&orphan, &observe, &suspended] {
        assert_eq!(decide(app), Some(CleanupOutcome::Kept));
    }
    let mut released = orphan.clone();
    released
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(RELEASE_ANNOTATION.into(), "true".into());
    assert_eq!(decide(&released), Some(CleanupOutcome::Released));
    let event = CleanupOutcome::Released.event(&released).unwrap();
    assert!(event.warning && event.note.contains("without touching Salesforce"));
}
