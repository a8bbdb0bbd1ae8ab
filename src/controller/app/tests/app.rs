use super::*;
use crate::api::app::{AdoptionPolicy, AppType, ManagementPolicy};
use crate::api::conditions::types;
use crate::controller::app::outcomes::Next;
use crate::controller::fixtures::{CLUSTER, IDP_CERT, marker_of, test_app};
use crate::ownership;
use crate::salesforce::{ComponentError, ConnectedApp, SalesforceError};

fn world() -> World {
    World::new(FakeOrg::with_idp(IDP_CERT))
}

/// An app in the org as someone else left it: `description` decides who owns it.
fn existing(description: Option<&str>) -> ConnectedApp {
    let mut a = crate::controller::desired::connected_app(&test_app().spec, "", None);
    a.description = description.map(str::to_string);
    a.contact_phone = Some("+1 555 0100".into());
    a
}

/// The resource after a first successful reconcile, and its app in the org.
async fn converged(w: &World) -> SsoConnectedApp {
    let mut app = test_app();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    w.org.api.take_calls();
    app
}

#[tokio::test]
async fn a_new_connected_app_is_created_without_a_read_when_the_listing_lacks_it() {
    let w = world();
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    let create = calls
        .iter()
        .position(|c| *c == "createConnectedApp")
        .unwrap();
    assert!(calls[..create].contains(&"listConnectedApps"), "{calls:?}");
    assert!(!calls[..create].contains(&"readApp"), "{calls:?}");
    assert!(reasons_of(&r.events).contains(&"Created"));
    let created = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert_eq!(
        ownership::owner_of(created.description.as_deref()),
        ownership::Owner::Resource {
            namespace: "team-a".into(),
            name: "voice".into(),
            uid: Some("uid-team-a-voice".into()),
            cluster: Some(CLUSTER.into()),
        }
    );
    assert_eq!(state(&app, types::APP_READY), t("True Synced"));
    assert_eq!(app.status.unwrap().app.unwrap().api_name, "Telephony_SSO");
}

#[tokio::test]
async fn an_app_created_meanwhile_is_read_instead_of_overwritten() {
    let w = world();
    // The listing was taken before someone else created the app by hand.
    assert!(w.org.listing.absent(&w.org.api, "Telephony_SSO").await);
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), existing(Some("made by hand")));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    assert!(calls.contains(&"createConnectedApp") && calls.contains(&"readApp"));
    assert!(!calls.contains(&"writeApp"), "{calls:?}");
    assert_eq!(state(&app, types::APP_READY), t("False Conflict"));
    let kept = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert_eq!(kept.description.as_deref(), Some("made by hand"));
}

#[tokio::test]
async fn without_a_listing_nothing_is_created_and_the_app_is_retried() {
    let w = world();
    w.org.api.fail(
        "listConnectedApps",
        SalesforceError::protocol("listMetadata", "garbled"),
    );
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(
        w.org.api.writes(),
        0,
        "no create without a listing that proves absence"
    );
    assert_eq!(r.outcomes.next(), Next::Retry);
    w.org.api.state().failing.clear();
    let r = w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    let read = calls.iter().position(|c| *c == "readApp").unwrap();
    let create = calls
        .iter()
        .position(|c| *c == "createConnectedApp")
        .unwrap();
    assert!(read < create, "{calls:?}");
    assert!(
        !calls.contains(&"writeApp"),
        "a create is createMetadata, never an upsert"
    );
    assert!(reasons_of(&r.events).contains(&"Created"));
}

#[tokio::test]
async fn a_name_taken_in_another_case_is_a_conflict_and_nothing_is_written() {
    let w = world();
    w.org
        .api
        .state()
        .connected_apps
        .insert("TELEPHONY_SSO".into(), existing(Some("made by hand")));
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Conflict");
    assert!(
        message.contains("unique regardless of case") && message.contains("TELEPHONY_SSO"),
        "{message}"
    );
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn an_external_client_app_is_created_only_after_a_listing_proves_it_absent() {
    let w = world();
    let mut app = test_app();
    app.spec.app.type_ = AppType::ExternalClientApp;
    w.org.api.fail(
        "listExternalClientApps",
        SalesforceError::protocol("listMetadata", "garbled"),
    );
    w.reconcile(&mut app).await;
    assert_eq!(w.org.api.writes(), 0, "no deploy without a listing");
    w.org.api.state().failing.clear();
    w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    let list = calls
        .iter()
        .position(|c| *c == "listExternalClientApps")
        .unwrap();
    let deploy = calls.iter().position(|c| *c == "writeApp").unwrap();
    assert!(list < deploy, "{calls:?}");
    assert_eq!(state(&app, types::APP_READY), t("True Synced"));
}

#[tokio::test]
async fn an_app_in_sync_is_not_written_and_its_status_not_changed() {
    let w = world();
    let mut app = converged(&w).await;
    let before = app.status.clone();
    let r = w.reconcile(&mut app).await;
    assert_eq!(w.org.api.writes(), 0);
    assert!(r.events.is_empty(), "{:?}", r.events);
    assert_eq!(app.status, before);
}

#[tokio::test]
async fn drift_made_in_salesforce_is_corrected_and_reported() {
    let w = world();
    let mut app = converged(&w).await;
    w.org
        .api
        .change_acs_url("Telephony_SSO", "https://evil.example/acs");
    let r = w.reconcile(&mut app).await;
    let drifted = r.events.iter().find(|e| e.reason == "Drifted").unwrap();
    assert!(drifted.warning && drifted.note.contains("samlConfig.acsUrl"));
    let drift = &app.status.as_ref().unwrap().drift;
    assert_eq!(drift.len(), 1);
    assert_eq!(
        (drift[0].field.as_str(), drift[0].action.as_str()),
        ("samlConfig.acsUrl", "Corrected")
    );
    let fixed = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert_eq!(
        fixed.saml_config.unwrap().acs_url,
        "https://sso.vendor.example/acs"
    );
}

#[tokio::test]
async fn a_changed_spec_is_an_update_not_drift() {
    let w = world();
    let mut app = converged(&w).await;
    app.spec.app.label = "Voice SSO".into();
    app.metadata.generation = Some(2);
    let r = w.reconcile(&mut app).await;
    let updated = r.events.iter().find(|e| e.reason == "Updated").unwrap();
    assert_eq!(updated.note, "updated connected app Telephony_SSO: label");
    assert!(app.status.as_ref().unwrap().drift.is_empty());
    assert_eq!(
        w.org.api.connected_app("Telephony_SSO").unwrap().label,
        "Voice SSO"
    );
}

#[tokio::test]
async fn an_app_marked_for_another_resource_is_never_touched() {
    let w = world();
    let theirs = marker_of("team-b", "other", "uid-b");
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), existing(Some(&theirs)));
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::APP_READY);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Conflict"));
    assert!(message.contains("managed by team-b/other"), "{message}");
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(state(&app, types::STALLED), t("True Conflict"));
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn an_unmarked_app_is_not_taken_over_by_default() {
    let w = world();
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), existing(None));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Conflict");
    assert!(message.contains("IfUnowned"), "{message}");
    assert_eq!(w.org.api.writes(), 0);
}

#[tokio::test]
async fn an_unmarked_app_is_adopted_when_the_spec_allows_keeping_unmanaged_settings() {
    let w = world();
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), existing(None));
    let mut app = test_app();
    app.spec.policy.adoption = AdoptionPolicy::IfUnowned;
    let r = w.reconcile(&mut app).await;
    assert!(reasons_of(&r.events).contains(&"Adopted"));
    let adopted = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert_eq!(
        ownership::owner_of(adopted.description.as_deref()).claim(&ownership::Claimant {
            namespace: "team-a",
            name: "voice",
            uid: "uid-team-a-voice",
            cluster: CLUSTER,
        }),
        ownership::Claim::Mine
    );
    assert_eq!(adopted.contact_phone.as_deref(), Some("+1 555 0100"));
    assert!(
        app.status.as_ref().unwrap().drift.is_empty(),
        "adoption is not drift"
    );
}

/// The org holds an app marked for `team-a/voice` with `uid` in `cluster`.
fn marked_by(w: &World, uid: &str, cluster: &str) {
    let marker = ownership::marker(&ownership::Claimant {
        namespace: "team-a",
        name: "voice",
        uid,
        cluster,
    });
    let mut app = crate::controller::desired::connected_app(&test_app().spec, &marker, None);
    app.description = Some(marker);
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), app);
}

#[tokio::test]
async fn a_recreated_resource_needs_an_explicit_reclaim() {
    let w = world();
    marked_by(&w, "uid-of-the-deleted-resource", CLUSTER);
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Conflict");
    assert!(
        message.contains("uid uid-of-the-deleted-resource")
            && message.contains("sso-operator.dev/reclaim"),
        "{message}"
    );
    assert_eq!(w.org.api.writes(), 0);

    app.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(crate::api::RECLAIM_ANNOTATION.into(), "true".into());
    let r = w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::APP_READY), t("True Synced"));
    assert!(reasons_of(&r.events).contains(&"Reclaimed"));
    let now = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert!(now.description.unwrap().contains("uid uid-team-a-voice"));
}

#[tokio::test]
async fn the_same_name_in_another_cluster_is_not_this_resource() {
    let w = world();
    // Production's app; this is a staging cluster with the same namespace/name and even uid.
    marked_by(&w, "uid-team-a-voice", "prod-eu");
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Conflict");
    assert!(message.contains("cluster prod-eu"), "{message}");
    assert_eq!(w.org.api.writes(), 0);
}

#[tokio::test]
async fn a_marker_written_before_clusters_were_recorded_is_still_mine() {
    let w = world();
    let old = "Managed by sso-operator: team-a/voice (uid uid-team-a-voice)".to_string();
    let mut mine = crate::controller::desired::connected_app(&test_app().spec, &old, None);
    mine.description = Some(old);
    w.org
        .api
        .state()
        .connected_apps
        .insert("Telephony_SSO".into(), mine);
    let mut app = test_app();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::APP_READY), t("True Synced"));
}

#[tokio::test]
async fn observe_only_reports_drift_without_writing() {
    let w = world();
    let mut app = converged(&w).await;
    app.spec.policy.management = ManagementPolicy::ObserveOnly;
    w.org
        .api
        .state()
        .connected_apps
        .get_mut("Telephony_SSO")
        .unwrap()
        .profile_name = vec!["System Administrator".into()];
    w.reconcile(&mut app).await;
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(state(&app, types::APP_READY), t("True ObserveOnly"));
    assert_eq!(state(&app, types::ACCESS_GRANTED), t("False Drifted"));
    let drift = &app.status.as_ref().unwrap().drift;
    assert_eq!(drift[0].field, "profileName");
    assert_eq!(drift[0].action, "Reported");
}

#[tokio::test]
async fn observe_only_does_not_create_a_missing_app() {
    let w = world();
    let mut app = test_app();
    app.spec.policy.management = ManagementPolicy::ObserveOnly;
    let r = w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::APP_READY), t("False NotFound"));
    assert_eq!(
        state(&app, types::ACCESS_GRANTED),
        t("False DependencyNotReady")
    );
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn blocked_connected_app_creation_stalls_with_a_warning_naming_the_remedy() {
    let w = world();
    w.org.api.state().creation_blocked = true;
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ConnectedAppCreationBlocked")
    );
    assert!(message.contains("Salesforce Support"), "{message}");
    assert_eq!(
        state(&app, types::ACCESS_GRANTED),
        t("False DependencyNotReady")
    );
    let warning = r
        .events
        .iter()
        .find(|e| e.reason == "ConnectedAppCreationBlocked" && e.action == "CreateApp")
        .unwrap();
    assert!(warning.warning);
    assert_eq!(r.outcomes.next(), Next::Stalled);
    assert!(w.org.api.connected_app("Telephony_SSO").is_none());
}

#[tokio::test]
async fn a_refused_update_waits_for_a_change() {
    let w = world();
    let mut app = converged(&w).await;
    app.spec.access.profiles.push("No Such Profile".into());
    app.metadata.generation = Some(2);
    w.org.api.fail(
        "writeApp",
        SalesforceError::Component {
            operation: "upsertMetadata",
            metadata_type: "ConnectedApp",
            full_name: "Telephony_SSO".into(),
            errors: vec![ComponentError {
                status_code: "FIELD_INTEGRITY_EXCEPTION".into(),
                message: "no profile named No Such Profile".into(),
                fields: vec!["profileName".into()],
            }],
        },
    );
    let r = w.reconcile(&mut app).await;
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Rejected");
    assert!(message.contains("No Such Profile"), "{message}");
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn an_external_client_app_is_deployed_when_missing() {
    let w = world();
    let mut app = test_app();
    app.spec.app.type_ = AppType::ExternalClientApp;
    let r = w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    assert!(!calls.contains(&"listConnectedApps"), "{calls:?}");
    assert!(calls.contains(&"readApp") && calls.contains(&"writeApp"));
    assert!(reasons_of(&r.events).contains(&"Created"));
    let eca = w
        .org
        .api
        .state()
        .external_apps
        .get("Telephony_SSO")
        .cloned()
        .unwrap();
    assert_eq!(
        eca.saml_policies.unwrap().acs_url,
        "https://sso.vendor.example/acs"
    );
    assert_eq!(state(&app, types::READY), t("True Synced"));
}

#[tokio::test]
async fn refused_credentials_make_the_app_say_its_org_is_not_ready() {
    let w = world();
    w.org.api.fail(
        "readApp",
        SalesforceError::TokenRefused {
            flow: "jwt-bearer",
            host: "login.salesforce.com".into(),
            status: 400,
            error: "invalid_grant".into(),
            description: "user hasn't approved this consumer".into(),
        },
    );
    let mut app = converged(&w).await;
    app.metadata.generation = Some(2);
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("False OrgNotReady"));
    assert_eq!(state(&app, types::STALLED), t("True OrgNotReady"));
}

#[tokio::test]
async fn access_lists_what_the_spec_grants() {
    let w = world();
    let app = converged(&w).await;
    let (status, _, message) = cond(&app, types::ACCESS_GRANTED);
    assert_eq!(status, "True");
    assert_eq!(
        message,
        "profiles: Contact Center Agent, System Administrator; permission sets: none"
    );
    let granted = w.org.api.connected_app("Telephony_SSO").unwrap();
    assert_eq!(
        granted.profile_name,
        vec!["Contact Center Agent", "System Administrator"]
    );
}

#[tokio::test]
async fn creation_blocked_does_not_stop_an_existing_app_from_updating() {
    let w = world();
    let mut app = converged(&w).await;
    w.org.api.state().creation_blocked = true;
    app.spec.app.label = "Renamed".into();
    app.metadata.generation = Some(2);
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
}
