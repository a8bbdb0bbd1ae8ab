use super::*;
use crate::api::conditions::types;
use crate::controller::app::claims::ClaimOutcome;
use crate::controller::app::gate::GateOutcome;
use crate::controller::fixtures::{IDP_CERT, test_app};
use crate::error::ConnectError;

/// The status for outcomes that stopped before Salesforce.
fn status_for(app: &mut SsoConnectedApp, outcomes: Outcomes) -> Vec<EventSpec> {
    let now = "2027-01-01T00:00:00Z".parse().unwrap();
    let input = Inputs::new(app, CLUSTER, now);
    let (status, events) = compute_status(&input, &outcomes);
    app.status = Some(status);
    events
}

#[tokio::test]
async fn the_first_successful_reconcile_reports_every_stage_and_ready() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    app.metadata.generation = Some(3);
    let r = w.reconcile(&mut app).await;
    for t_ in [
        types::IDENTITY_PROVIDER_READY,
        types::APP_READY,
        types::ACCESS_GRANTED,
        types::METADATA_PUBLISHED,
        types::CERTIFICATE_VALID,
        types::READY,
    ] {
        assert_eq!(cond(&app, t_).0, "True", "{t_}");
    }
    assert_eq!(cond(&app, types::STALLED).0, "False");
    assert_eq!(cond(&app, types::RECONCILING).0, "False");
    let status = app.status.as_ref().unwrap();
    assert_eq!(status.observed_generation, Some(3));
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(3))
    );
    let ready = r.events.iter().find(|e| e.action == "Reconcile").unwrap();
    assert!(!ready.warning);
    assert_eq!(ready.reason, "Synced");
}

#[tokio::test]
async fn a_reconcile_that_finds_nothing_new_leaves_the_status_identical() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    let first = app.status.clone();
    w.now = "2027-03-01T00:00:00Z".parse().unwrap();
    let r = w.reconcile(&mut app).await;
    assert_eq!(app.status, first, "lastTransitionTime moves only on a flip");
    assert!(r.events.is_empty());
}

#[tokio::test]
async fn an_expired_certificate_makes_the_app_not_ready_with_a_warning() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.now = "2030-02-01T00:00:00Z".parse().unwrap();
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::CERTIFICATE_VALID), t("False Expired"));
    assert_eq!(state(&app, types::READY), t("False Expired"));
    assert!(
        r.events
            .iter()
            .any(|e| e.warning && e.action == "CheckCertificate" && e.reason == "Expired")
    );
}

#[tokio::test]
async fn a_certificate_expiring_soon_warns_once_and_the_app_stays_ready() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.now = "2029-12-20T00:00:00Z".parse().unwrap();
    let mut app = test_app();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::CERTIFICATE_VALID);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ExpiringSoon")
    );
    assert!(message.contains("in 12 days"), "{message}");
    assert!(
        message.contains("choose the certificate on the SalesforceOrg"),
        "the app does not choose the org-wide certificate: {message}"
    );
    let (ready, _, ready_message) = cond(&app, types::READY);
    assert_eq!(ready, "True");
    assert!(ready_message.contains("needs attention"), "{ready_message}");
    assert!(r.events.iter().any(|e| e.action == "CheckCertificate"));
    w.now = "2029-12-21T00:00:00Z".parse().unwrap();
    let r = w.reconcile(&mut app).await;
    assert!(!r.events.iter().any(|e| e.action == "CheckCertificate"));

    // When the org chooses, the message names the exact change on it.
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses(IDP_CERT))
        .await;
    let (_, _, message) = cond(&app, types::CERTIFICATE_VALID);
    assert!(
        message.contains(
            "set spec.identityProvider.rotation.nextCertificate to its name on SalesforceOrg acme"
        ),
        "{message}"
    );
    assert!(!r.events.iter().any(|e| e.action == "CheckCertificate"));
}

#[test]
fn a_suspended_resource_is_not_ready_but_neither_stalled_nor_reconciling() {
    let mut app = test_app();
    let events = status_for(
        &mut app,
        Outcomes {
            gate: Some(GateOutcome::Suspended),
            ..Outcomes::default()
        },
    );
    assert_eq!(state(&app, types::READY), t("False Suspended"));
    // Deliberate: kstatus Current and Argo CD Suspended, not Failed.
    assert_eq!(state(&app, types::STALLED).0, "False");
    assert_eq!(state(&app, types::RECONCILING).0, "False");
    assert!(events.iter().any(|e| e.warning && e.reason == "Suspended"));
}

#[test]
fn an_org_that_cannot_connect_leaves_the_app_reconciling() {
    let mut app = test_app();
    status_for(
        &mut app,
        Outcomes {
            gate: Some(GateOutcome::OrgNotReady {
                org: "acme".into(),
                error: ConnectError::SecretNotFound {
                    namespace: "team-a".into(),
                    name: "acme-jwt".into(),
                },
            }),
            ..Outcomes::default()
        },
    );
    let (status, reason, message) = cond(&app, types::READY);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "OrgNotReady"));
    assert_eq!(
        message,
        "SalesforceOrg acme: SecretNotFound: Secret team-a/acme-jwt does not exist"
    );
    assert_eq!(state(&app, types::RECONCILING), t("True OrgNotReady"));
    assert_eq!(state(&app, types::STALLED).0, "False");
}

#[tokio::test]
async fn the_last_drift_report_is_kept_while_the_app_is_not_ready() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app();
    w.reconcile(&mut app).await;
    app.status.as_mut().unwrap().drift = vec![crate::api::app::DriftEntry {
        field: "samlConfig.acsUrl".into(),
        action: "Corrected".into(),
    }];
    status_for(
        &mut app,
        Outcomes {
            gate: Some(GateOutcome::OrgNotFound { org: "acme".into() }),
            ..Outcomes::default()
        },
    );
    assert_eq!(app.status.as_ref().unwrap().drift.len(), 1);
    assert_eq!(state(&app, types::READY), t("False OrgNotFound"));
    // A missing org is a dependency GitOps may apply next: in progress, not failed.
    assert_eq!(state(&app, types::RECONCILING), t("True OrgNotFound"));
    assert_eq!(state(&app, types::STALLED).0, "False");
}

#[test]
fn a_claim_by_another_resource_is_reported_on_the_app() {
    let mut app = test_app();
    status_for(
        &mut app,
        Outcomes {
            claim: Some(ClaimOutcome::AppClaimed {
                by: "team-b/first".into(),
            }),
            ..Outcomes::default()
        },
    );
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Conflict");
    assert_eq!(
        message,
        "team-b/first already manages app Telephony_SSO in this org"
    );
    assert_eq!(state(&app, types::READY), t("False Conflict"));
    assert_eq!(state(&app, types::STALLED), t("True Conflict"));
}

#[test]
fn an_external_client_app_below_api_63_is_unsupported_not_retried() {
    let mut app = test_app();
    status_for(
        &mut app,
        Outcomes {
            gate: Some(GateOutcome::EcaUnsupported {
                org: "acme".into(),
                api_version: "62.0".into(),
            }),
            ..Outcomes::default()
        },
    );
    let (_, reason, message) = cond(&app, types::APP_READY);
    assert_eq!(reason, "Unsupported");
    assert!(message.contains("uses 62.0"), "{message}");
    assert_eq!(state(&app, types::STALLED), t("True Unsupported"));
}
