use super::*;
use crate::api::RELEASE_ANNOTATION;
use crate::api::app::{AppOrigin, AppType, DeletionPolicy, ManagementPolicy};
use crate::controller::app::cleanup::{CleanupOutcome, decide, delete_owned};
use crate::controller::fixtures::{CLUSTER, IDP_CERT, marker_of, test_app};

#[tokio::test]
async fn deleting_the_resource_deletes_its_own_app() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    app.spec.policy.deletion = Some(DeletionPolicy::Delete);
    w.reconcile(&mut app).await;
    assert_eq!(decide(&app), None);
    let outcome = delete_owned(&w.org.api, &app, CLUSTER).await.unwrap();
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
    theirs.description = Some(marker_of("team-b", "other", "uid-b"));
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), theirs);
    let outcome = delete_owned(&w.org.api, &test_app(), CLUSTER)
        .await
        .unwrap();
    assert_eq!(outcome, CleanupOutcome::NotOwned);
    assert!(!w.org.api.take_calls().contains(&"deleteApp"));
    assert!(w.org.api.connected_app("Telephony_SSO").is_some());
}

#[tokio::test]
async fn an_app_already_gone_needs_no_deletion() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let outcome = delete_owned(&w.org.api, &test_app(), CLUSTER)
        .await
        .unwrap();
    assert_eq!(outcome, CleanupOutcome::Absent);
    assert_eq!(outcome.event(&test_app()), None);
}

#[test]
fn orphan_observe_only_suspend_and_release_leave_salesforce_alone() {
    let mut orphan = test_app();
    orphan.spec.policy.deletion = Some(DeletionPolicy::Orphan);
    let mut observe = test_app();
    observe.spec.policy.management = ManagementPolicy::ObserveOnly;
    let mut suspended = test_app();
    suspended.spec.suspend = true;
    for app in [&orphan, &observe, &suspended] {
        assert!(matches!(decide(app), Some(CleanupOutcome::Kept(_))));
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

#[tokio::test]
async fn by_default_only_an_external_client_app_this_resource_created_is_deleted() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut created_ca = test_app();
    w.reconcile(&mut created_ca).await;
    let kept = decide(&created_ca).expect("a connected app is kept by default");
    let note = kept.event(&created_ca).unwrap().note;
    assert!(
        note.contains("cannot be recreated without Salesforce Support"),
        "{note}"
    );

    let mut created_eca = crate::controller::fixtures::app_named(
        "team-a",
        "eca",
        "Voice_ECA",
        "2026-01-01T00:00:00Z",
    );
    created_eca.spec.app.type_ = AppType::ExternalClientApp;
    w.reconcile(&mut created_eca).await;
    assert_eq!(
        decide(&created_eca),
        None,
        "made by this resource: can be made again"
    );

    // An ECA that existed before (adopted), or whose origin is unknown, stays.
    let mut adopted = created_eca.clone();
    adopted
        .status
        .as_mut()
        .unwrap()
        .app
        .as_mut()
        .unwrap()
        .origin = Some(AppOrigin::Adopted);
    assert!(matches!(decide(&adopted), Some(CleanupOutcome::Kept(_))));
    adopted
        .status
        .as_mut()
        .unwrap()
        .app
        .as_mut()
        .unwrap()
        .origin = None;
    assert!(matches!(decide(&adopted), Some(CleanupOutcome::Kept(_))));
    // Explicit Delete deletes either kind.
    created_ca.spec.policy.deletion = Some(DeletionPolicy::Delete);
    assert_eq!(decide(&created_ca), None);
}

#[tokio::test]
async fn the_status_records_whether_the_app_was_created_or_adopted() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let origin = |a: &SsoConnectedApp| a.status.as_ref().unwrap().app.as_ref().unwrap().origin;
    assert_eq!(origin(&app), Some(AppOrigin::Created));
    w.reconcile(&mut app).await;
    assert_eq!(
        origin(&app),
        Some(AppOrigin::Created),
        "kept by later reconciles"
    );

    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut unmarked = crate::controller::desired::connected_app(&test_app().spec, "", None);
    unmarked.description = None;
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), unmarked);
    let mut adopter = test_app();
    adopter.spec.policy.adoption = crate::api::app::AdoptionPolicy::IfUnowned;
    w.reconcile(&mut adopter).await;
    assert_eq!(origin(&adopter), Some(AppOrigin::Adopted));
}

#[tokio::test]
async fn a_resource_recreated_under_the_same_name_does_not_delete_its_predecessors_app() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut earlier = crate::controller::desired::connected_app(&test_app().spec, "", None);
    earlier.description = Some(marker_of("team-a", "voice", "uid-of-the-earlier-resource"));
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), earlier);
    let outcome = delete_owned(&w.org.api, &test_app(), CLUSTER)
        .await
        .unwrap();
    assert_eq!(outcome, CleanupOutcome::NotOwned);
    assert!(w.org.api.connected_app("Telephony_SSO").is_some());
}
