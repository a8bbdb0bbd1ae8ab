//! Apps during a planned rotation of the org's IdP certificate: which keys they publish, in which
//! order, and which certificates they may name.

use super::*;
use crate::api::conditions::types;
use crate::controller::app::outcomes::Next;
use crate::controller::fixtures::{IDP_CERT, OTHER_CERT, cert, pem_body, test_app};
use crate::controller::rotation::KeyRole;

/// The org `acme` in a rotation from `IDP_CERT` to `OTHER_CERT`, in `phase`.
fn rotating(phase: KeyRole) -> Option<OrgIdpView> {
    let (current, second) = match phase {
        KeyRole::Next => (IDP_CERT, OTHER_CERT.to_string()),
        KeyRole::Previous => (OTHER_CERT, IDP_CERT.to_string()),
    };
    Some(OrgIdpView {
        org: "acme".into(),
        current: current.into(),
        allowed: vec![IDP_CERT.into(), OTHER_CERT.into()],
        extra: Some((second, phase)),
    })
}

/// An app that names no certificate: it follows its org.
fn follower() -> SsoConnectedApp {
    let mut app = test_app();
    app.spec.identity_provider.certificate = None;
    app
}

/// The `ds:X509Certificate` bodies of `xml`'s signing keys, in document order.
fn signing_keys(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("published metadata parses");
    doc.descendants()
        .filter(|n| n.has_tag_name("KeyDescriptor"))
        .filter_map(|kd| {
            kd.descendants()
                .find(|n| n.has_tag_name("X509Certificate"))
                .and_then(|n| n.text())
                .map(str::to_string)
        })
        .collect()
}

fn last_published(w: &World) -> std::collections::BTreeMap<String, String> {
    let all = w.publisher.published.lock().unwrap();
    all.last().expect("published").data.clone().unwrap()
}

#[tokio::test]
async fn an_app_that_names_no_certificate_follows_its_org() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = follower();
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses(IDP_CERT))
        .await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    assert_eq!(r.outcomes.next(), Next::Refresh);
    assert_eq!(last_published(&w)["certificate.pem"], cert(IDP_CERT).pem);
}

#[tokio::test]
async fn without_any_choice_an_app_takes_the_certificate_the_identity_provider_signs_with() {
    let w = World::new(FakeOrg::with_idp(OTHER_CERT));
    let mut app = follower();
    w.reconcile(&mut app).await;
    assert_eq!(state(&app, types::READY), t("True Synced"));
    assert_eq!(last_published(&w)["certificate.pem"], cert(OTHER_CERT).pem);

    // An Identity Provider that is off is never enabled with a certificate nobody chose.
    let w = World::new(FakeOrg::default());
    let mut app = follower();
    let r = w.reconcile(&mut app).await;
    let (status, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "CertificateNotFound")
    );
    assert!(message.contains("no certificate is chosen"), "{message}");
    assert_eq!(r.outcomes.next(), Next::Stalled);
    assert_eq!(w.org.api.writes(), 0);
}

#[tokio::test]
async fn an_announced_rotation_publishes_the_next_key_after_the_current_one() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = follower();
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert_eq!(state(&app, types::METADATA_PUBLISHED), t("True Synced"));
    let data = last_published(&w);
    assert_eq!(data["certificate.pem"], cert(IDP_CERT).pem);
    assert_eq!(data["next-certificate.pem"], cert(OTHER_CERT).pem);
    assert!(!data.contains_key("previous-certificate.pem"));
    assert_eq!(
        signing_keys(&data["metadata.xml"]),
        vec![
            pem_body(&cert(IDP_CERT).pem),
            pem_body(&cert(OTHER_CERT).pem)
        ],
        "the key the IdP signs with first, the next one second"
    );
    // The status names the key the IdP signs with, not the announced one.
    let idp = app
        .status
        .as_ref()
        .unwrap()
        .identity_provider
        .clone()
        .unwrap();
    assert_eq!(idp.certificate.name, IDP_CERT);
}

#[tokio::test]
async fn after_the_switch_the_previous_key_stays_second_until_it_is_retired() {
    let w = World::new(FakeOrg::with_idp(OTHER_CERT));
    let mut app = follower();
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Previous))
        .await;
    let data = last_published(&w);
    assert_eq!(data["certificate.pem"], cert(OTHER_CERT).pem);
    assert_eq!(data["previous-certificate.pem"], cert(IDP_CERT).pem);
    assert!(!data.contains_key("next-certificate.pem"));
    assert_eq!(
        signing_keys(&data["metadata.xml"]),
        vec![
            pem_body(&cert(OTHER_CERT).pem),
            pem_body(&cert(IDP_CERT).pem)
        ]
    );

    // Retired: only the new key is left, as Salesforce serves it.
    app.metadata.generation = Some(2);
    w.reconcile_with_org_choice(&mut app, org_chooses(OTHER_CERT))
        .await;
    let data = last_published(&w);
    assert_eq!(
        signing_keys(&data["metadata.xml"]),
        vec![pem_body(&cert(OTHER_CERT).pem)]
    );
    assert!(!data.contains_key("previous-certificate.pem"));
}

#[tokio::test]
async fn an_app_pinned_to_either_certificate_of_a_rotation_is_not_a_conflict_until_it_ends() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = test_app(); // names IDP_CERT
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert_eq!(state(&app, types::IDENTITY_PROVIDER_READY).0, "True");
    // The org's reconcile switches the IdP through the same shared snapshot.
    w.org.api.state().idp.as_mut().unwrap().certificate_name = OTHER_CERT.into();
    w.org.idp.invalidate().await;
    app.metadata.generation = Some(2);
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Previous))
        .await;
    assert_eq!(state(&app, types::IDENTITY_PROVIDER_READY).0, "True");
    assert_eq!(w.org.api.writes(), 1, "only the app's own creation");

    // Retired: the org now chooses only the new certificate; the pin is a conflict.
    app.metadata.generation = Some(3);
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses(OTHER_CERT))
        .await;
    let (_, reason, message) = cond(&app, types::IDENTITY_PROVIDER_READY);
    assert_eq!(reason, "Conflict");
    assert!(message.contains("SalesforceOrg acme chooses"), "{message}");
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

#[tokio::test]
async fn an_unreadable_second_key_publishes_nothing_and_waits_for_a_fix() {
    let w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.org.api.state().certificates.retain(|c| c != OTHER_CERT);
    let mut app = follower();
    let r = w
        .reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert_eq!(w.published(), 0);
    let (status, _, message) = cond(&app, types::METADATA_PUBLISHED);
    assert_eq!(status, "False");
    assert!(message.contains(OTHER_CERT), "{message}");
    // Checked before the rotation was announced: gone since, which someone must put right.
    assert_eq!(r.outcomes.next(), Next::Stalled);
}

/// A follower whose `softphone` Deployment reads the metadata only at start.
fn with_rollout() -> SsoConnectedApp {
    let mut app = follower();
    app.spec.publish.rollout = vec![RolloutTarget {
        kind: crate::api::app::WorkloadKind::Deployment,
        name: "softphone".into(),
    }];
    app
}

fn restarted(w: &World) -> Vec<(String, String)> {
    w.publisher.restarted.lock().unwrap().clone()
}

#[tokio::test]
async fn workloads_restart_once_per_settled_change_and_never_for_the_first_publish_or_a_refresh() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    let mut app = with_rollout();
    let r = w
        .reconcile_with_org_choice(&mut app, org_chooses(IDP_CERT))
        .await;
    assert!(restarted(&w).is_empty(), "the first publish is a baseline");
    assert_eq!(
        state(&app, types::WORKLOADS_ROLLED_OUT),
        t("True RolledOut")
    );
    assert!(!reasons_of(&r.events).contains(&"RolledOut"));
    let baseline = app.status.as_ref().unwrap().rollout.clone().unwrap();
    assert_eq!(baseline.restarted_at, None);

    // The rotation is announced: new metadata, which waits out publish.rolloutDelay (30s).
    let r = w
        .reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert_eq!(
        r.outcomes.rollout.as_ref().and_then(|o| o.wait()),
        Some(std::time::Duration::from_secs(30))
    );
    assert_eq!(
        state(&app, types::WORKLOADS_ROLLED_OUT),
        t("False RolloutPending")
    );
    assert_eq!(app.status.as_ref().unwrap().rollout, Some(baseline));
    // Ready is about sign-in, not about the workloads.
    assert_eq!(state(&app, types::READY), t("True Synced"));

    w.now += jiff::SignedDuration::from_secs(10);
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert!(restarted(&w).is_empty(), "still inside the delay");

    w.now += jiff::SignedDuration::from_secs(25);
    let r = w
        .reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    let sha = app
        .status
        .as_ref()
        .unwrap()
        .metadata
        .clone()
        .unwrap()
        .sha256;
    assert_eq!(
        restarted(&w),
        vec![("softphone".to_string(), sha.to_string())]
    );
    assert!(reasons_of(&r.events).contains(&"RolledOut"));
    assert_eq!(
        state(&app, types::WORKLOADS_ROLLED_OUT),
        t("True RolledOut")
    );
    assert_eq!(
        app.status
            .as_ref()
            .unwrap()
            .rollout
            .as_ref()
            .unwrap()
            .sha256,
        sha
    );

    // A refresh that publishes the same bytes restarts nothing.
    w.now += jiff::SignedDuration::from_secs(3600);
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    assert_eq!(restarted(&w).len(), 1);
}

#[tokio::test]
async fn a_workload_that_cannot_be_restarted_is_reported_and_retried_with_sign_in_still_ready() {
    let mut w = World::new(FakeOrg::with_idp(IDP_CERT));
    w.publisher.missing_workload = Some("softphone".into());
    let mut app = with_rollout();
    w.reconcile_with_org_choice(&mut app, org_chooses(IDP_CERT))
        .await;
    let baseline = app.status.as_ref().unwrap().rollout.clone();
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    w.now += jiff::SignedDuration::from_secs(31);
    let r = w
        .reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    let (status, reason, message) = cond(&app, types::WORKLOADS_ROLLED_OUT);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RolloutFailed")
    );
    assert!(message.contains("no such workload"), "{message}");
    assert!(reasons_of(&r.events).contains(&"RolloutFailed"));
    assert_eq!(
        app.status.as_ref().unwrap().rollout,
        baseline,
        "what the workloads carry is unchanged"
    );
    assert_eq!(state(&app, types::READY), t("True Synced"));

    // Removing publish.rollout forgets it all.
    app.spec.publish.rollout.clear();
    w.reconcile_with_org_choice(&mut app, rotating(KeyRole::Next))
        .await;
    let s = app.status.as_ref().unwrap();
    assert!(s.rollout.is_none());
    assert!(conditions::find(&s.conditions, types::WORKLOADS_ROLLED_OUT).is_none());
}
