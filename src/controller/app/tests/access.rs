//! External Client App access: only names not yet granted are deployed, extra grants are revoked
//! through `SetupEntityAccess`, an org whose deploys replace is detected, and a converged app is
//! left alone.

use super::*;
use crate::api::app::AppType;
use crate::api::conditions::types;
use crate::controller::fixtures::{IDP_CERT, app_named};

pub(super) fn eca() -> SsoConnectedApp {
    let mut app = app_named("team-a", "eca", "Voice_ECA", "2026-01-01T00:00:00Z");
    app.spec.app.type_ = AppType::ExternalClientApp;
    app
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The access names the last deploy of `Voice_ECA` carried: (profiles, permission sets).
fn deployed(w: &World) -> (Option<String>, Option<String>) {
    let s = w.org.api.state();
    let p = s.external_apps["Voice_ECA"].saml_policies.as_ref().unwrap();
    (
        p.comma_separated_profile.clone(),
        p.comma_separated_permission_set.clone(),
    )
}

async fn converged(w: &World) -> SsoConnectedApp {
    let mut app = eca();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    assert_eq!(
        w.org.api.granted("Voice_ECA").0,
        names(&["Contact Center Agent", "System Administrator"])
    );
    w.org.api.take_calls();
    app
}

#[tokio::test]
async fn a_converged_app_is_read_again_and_not_written() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    for _ in 0..3 {
        w.reconcile(&mut app).await;
    }
    assert_eq!(w.org.api.writes(), 0, "{:?}", w.org.api.take_calls());
    assert_eq!(state(&app, types::ACCESS_GRANTED), t("True Synced"));
}

#[tokio::test]
async fn an_added_profile_is_the_only_name_deployed() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    app.spec.access.profiles.push("Support".into());
    app.spec.access.permission_sets.push("Voice_Agent".into());
    w.reconcile(&mut app).await;
    // A resend of a granted name would have failed the deploy in an additive org.
    assert_eq!(
        deployed(&w),
        (Some("Support".into()), Some("Voice_Agent".into()))
    );
    assert_eq!(
        w.org.api.granted("Voice_ECA"),
        (
            names(&["Contact Center Agent", "Support", "System Administrator"]),
            names(&["Voice_Agent"])
        )
    );
    let (s, _, m) = cond(&app, types::ACCESS_GRANTED);
    assert_eq!(s, "True");
    assert!(
        m.contains("of the missing names: Support, Voice_Agent"),
        "{m}"
    );
    assert_eq!(state(&app, types::READY), t("True Synced"));
}

#[tokio::test]
async fn a_name_granted_in_another_case_is_not_granted_again() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    app.spec.access.profiles = vec!["contact center agent", "SYSTEM ADMINISTRATOR"]
        .into_iter()
        .map(Into::into)
        .collect();
    w.reconcile(&mut app).await;
    assert_eq!(w.org.api.writes(), 0, "{:?}", w.org.api.take_calls());
}

#[tokio::test]
async fn a_removed_profile_is_revoked_through_setup_entity_access() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    app.spec.access.profiles = vec!["Contact Center Agent"]
        .into_iter()
        .map(Into::into)
        .collect();
    w.reconcile(&mut app).await;
    let calls = w.org.api.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == "revokeGrant").count(),
        1,
        "{calls:?}"
    );
    assert!(!calls.contains(&"writeApp"), "{calls:?}");
    assert_eq!(
        w.org.api.granted("Voice_ECA").0,
        names(&["Contact Center Agent"])
    );
    let (_, _, m) = cond(&app, types::ACCESS_GRANTED);
    assert!(
        m.contains("revoked through SetupEntityAccess: System Administrator"),
        "{m}"
    );
}

#[tokio::test]
async fn an_org_whose_deploys_replace_gets_the_whole_set_once_more() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    w.org.api.state().access_replaces = true;
    app.spec.access.profiles.push("Support".into());
    w.reconcile(&mut app).await;
    assert_eq!(
        w.org.api.granted("Voice_ECA").0,
        names(&["Contact Center Agent", "Support", "System Administrator"])
    );
    let (s, _, m) = cond(&app, types::ACCESS_GRANTED);
    assert_eq!(s, "True");
    assert!(m.contains("of the whole set"), "{m}");
    w.org.api.take_calls();
    w.reconcile(&mut app).await;
    assert_eq!(w.org.api.writes(), 0, "{:?}", w.org.api.take_calls());
}

#[tokio::test]
async fn a_failed_grant_read_is_reported_and_stops_the_stages() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    w.org.api.fail(
        "readGrants",
        crate::salesforce::SalesforceError::Fault {
            operation: "query",
            code: "INSUFFICIENT_ACCESS".into(),
            message: "no View Setup".into(),
            kind: crate::salesforce::ErrorKind::Auth,
        },
    );
    let published = w.published();
    let r = w.reconcile(&mut app).await;
    assert_eq!(cond(&app, types::ACCESS_GRANTED).0, "False");
    assert!(r.outcomes.metadata.is_none());
    assert_eq!(w.published(), published);
    assert_eq!(w.org.api.writes(), 0);
}

#[tokio::test]
async fn an_org_without_per_app_metadata_publishes_the_org_document_and_says_so() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.state().eca_metadata_missing = true;
    let mut app = eca();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    let calls = w.org.api.take_calls();
    assert!(calls.contains(&"fetchOrgMetadata"), "{calls:?}");
    let (_, _, m) = cond(&app, types::METADATA_PUBLISHED);
    assert!(m.contains("org-level metadata"), "{m}");
}

#[tokio::test]
async fn policies_readable_only_by_retrieve_are_deployed_once_and_not_taken_for_drift() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.state().policies_unreadable = true;
    let mut app = eca();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    w.org.api.take_calls();
    for _ in 0..3 {
        w.reconcile(&mut app).await;
    }
    assert_eq!(w.org.api.writes(), 0, "{:?}", w.org.api.take_calls());
    let (s, _, m) = cond(&app, types::APP_READY);
    assert_eq!(s, "True");
    assert!(m.contains("retrieve only"), "{m}");
    // A new generation is still deployed.
    app.spec.saml.acs_url = "https://sso.vendor.example/acs2".into();
    app.metadata.generation = Some(2);
    w.reconcile(&mut app).await;
    let s = w.org.api.state();
    assert_eq!(
        s.external_apps["Voice_ECA"]
            .saml_policies
            .as_ref()
            .unwrap()
            .acs_url,
        "https://sso.vendor.example/acs2"
    );
}

#[tokio::test]
async fn policies_deleted_in_an_org_that_reads_them_are_restored() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = converged(&w).await;
    w.org
        .api
        .state()
        .external_apps
        .get_mut("Voice_ECA")
        .unwrap()
        .saml_policies = None;
    w.reconcile(&mut app).await;
    assert!(
        w.org.api.state().external_apps["Voice_ECA"]
            .saml_policies
            .is_some()
    );
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .drift
            .iter()
            .any(|d| d.field == "samlPolicies")
    );
}
