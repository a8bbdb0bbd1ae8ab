use super::*;
use crate::api::app::ManagementPolicy;
use crate::api::conditions::types;
use crate::controller::app::outcomes::Next;
use crate::controller::fixtures::{IDP_CERT, test_app};
use crate::salesforce::SalesforceError;

fn network() -> SalesforceError {
    SalesforceError::Network {
        operation: "readMetadata",
        host: "acme.my.salesforce.com".into(),
        reason: "connection reset".into(),
    }
}

#[tokio::test]
async fn a_disabled_identity_provider_is_enabled_once_and_an_event_says_so() {
    let w = World::new(FakeOrg::default());
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(
        state(&app, types::IDENTITY_PROVIDER_READY),
        t("True Synced")
    );
    let idp = w.org.api.state().idp.clone().unwrap();
    assert!(idp.enable_identity_provider);
    assert_eq!(idp.certificate_name, IDP_CERT);
    assert!(reasons_of(&r.events).contains(&"IdentityProviderEnabled"));
    assert_eq!(w.org.api.count("enableIdentityProvider"), 1);
    w.org.api.take_calls();

    let r = w.reconcile(&mut app).await;
    assert!(!reasons_of(&r.events).contains(&"IdentityProviderEnabled"));
    assert!(!w.org.api.take_calls().contains(&"enableIdentityProvider"));
}

#[tokio::test]
async fn an_identity_provider_already_enabled_with_the_certificate_is_not_written() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    assert_eq!(
        state(&app, types::IDENTITY_PROVIDER_READY),
        t("True Synced")
    );
    assert!(!w.org.api.take_calls().contains(&"enableIdentityProvider"));
}

#[tokio::test]
async fn a_certificate_missing_from_the_org_stalls_without_any_write() {
    let w = World::new(FakeOrg::default());
    let mut app = test_app();
    app.spec.identity_provider.certificate = Some("No_Such_Cert".into());
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "CertificateNotFound")
    );
    assert!(
        message.contains("Certificate and Key Management"),
        "{message}"
    );
    assert_eq!(state(&app, types::STALLED), t("True CertificateNotFound"));
    assert_eq!(w.org.api.writes(), 0);
    assert!(r.outcomes.app.is_none(), "later stages do not run");
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn observe_only_reports_the_identity_provider_and_never_enables_it() {
    let w = World::new(FakeOrg::default());
    let mut app = test_app();
    app.spec.policy.management = ManagementPolicy::ObserveOnly;
    w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "ObserveOnly"));
    assert!(
        message.contains("Identity Provider is disabled"),
        "{message}"
    );
    assert_eq!(state(&app, types::READY), t("False ObserveOnly"));
    assert_eq!(w.org.api.writes(), 0);
}

#[tokio::test]
async fn a_failed_settings_read_is_retried_not_stalled() {
    let w = World::new(FakeOrg::default());
    w.org.api.fail("readIdentityProvider", network());
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(
        state(&app, types::IDENTITY_PROVIDER_READY),
        t("False SalesforceUnavailable")
    );
    assert_eq!(state(&app, types::READY), t("False SalesforceUnavailable"));
    assert_eq!(
        state(&app, types::RECONCILING),
        t("True SalesforceUnavailable")
    );
    assert_eq!(state(&app, types::STALLED).0, "False");
    assert_eq!(r.outcomes.next(), Next::Retry);
}

#[tokio::test]
async fn an_exhausted_daily_allocation_pauses_rather_than_stalls() {
    let w = World::new(FakeOrg::default());
    w.org.api.fail(
        "readIdentityProvider",
        SalesforceError::QuotaExhausted {
            operation: "readMetadata",
            message: "REQUEST_LIMIT_EXCEEDED".into(),
            retry_after: Some(std::time::Duration::from_secs(600)),
        },
    );
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("False ApiLimitExceeded"));
    assert_eq!(r.outcomes.next(), Next::Retry);
    assert_eq!(
        r.outcomes.failure().and_then(|e| e.retry_after()),
        Some(std::time::Duration::from_secs(600))
    );
}

#[tokio::test]
async fn apps_of_one_org_share_one_identity_provider_read() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut a = test_app();
    let mut b =
        crate::controller::fixtures::app_named("team-b", "b", "Other_SSO", "2026-01-01T00:00:00Z");
    w.reconcile(&mut a).await;
    w.reconcile(&mut b).await;
    assert_eq!(
        w.org.api.count("readIdentityProvider"),
        1,
        "{:?}",
        w.org.api.take_calls()
    );
}

#[tokio::test]
async fn an_app_never_switches_an_identity_provider_enabled_with_another_certificate() {
    let w = World::new(FakeOrg::with_idp(crate::controller::fixtures::OTHER_CERT));
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Conflict"));
    assert!(
        message.contains("signs with certificate Rotated_IdP"),
        "{message}"
    );
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(
        w.org.api.state().idp.clone().unwrap().certificate_name,
        crate::controller::fixtures::OTHER_CERT
    );
    assert_eq!(r.outcomes.next(), Next::Stalled);
    assert!(
        r.outcomes.app.is_none(),
        "nothing else is done for this app"
    );
}

#[tokio::test]
async fn when_the_org_chooses_the_certificate_apps_only_check_it() {
    // The org chooses another certificate: this app's wish is a conflict, and nothing is written.
    let w = World::new(FakeOrg::default());
    let mut app = test_app();
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses("Rotated_IdP"))
        .await;
    let (_, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!(reason, "Conflict");
    assert!(message.contains("SalesforceOrg acme chooses"), "{message}");
    assert_eq!(r.outcomes.next(), Next::Stalled);

    // The org chooses this certificate but has not enabled it yet: wait for it, write nothing.
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses(IDP_CERT))
        .await;
    assert_eq!(
        state(&app, types::IDENTITY_PROVIDER_READY),
        t("False DependencyNotReady")
    );
    assert_eq!(r.outcomes.next(), Next::Retry);
    assert_eq!(w.org.api.writes(), 0);
    assert_eq!(state(&app, types::RECONCILING).0, "True");
}

#[tokio::test]
async fn an_app_may_enable_an_identity_provider_that_is_off_but_observe_only_may_not() {
    let w = World::new(FakeOrg::default());
    let mut observe = test_app();
    observe.spec.policy.management = ManagementPolicy::ObserveOnly;
    w.reconcile(&mut observe).await;
    assert!(w.org.api.state().idp.is_none());
    let mut app = test_app();
    w.reconcile(&mut app).await;
    assert!(
        w.org
            .api
            .state()
            .idp
            .as_ref()
            .unwrap()
            .enable_identity_provider
    );
}
