//! The lifecycle tests shared by both kinds of Salesforce app: each test body runs once for a
//! SAML connected app and once for an External Client App (in an org where connected-app
//! creation is blocked, as in Spring '26), so both stay held to the same behaviour.

use std::time::Duration;

use serde_json::json;

use crate::common::e2e::{self, AppOpts, Env, Flavor, OrgSeed, app_manifest};
use crate::common::{cluster, sim};

const SHORT: Duration = Duration::from_secs(30);
const ACS: &str = "https://sso.vendor.example/saml/acs";

fn seed(f: Flavor) -> OrgSeed {
    // External Client Apps must work where connected apps can no longer be created.
    OrgSeed {
        creation_allowed: f == Flavor::Connected,
        ..Default::default()
    }
}

fn opts(f: Flavor) -> AppOpts<'static> {
    AppOpts {
        app_type: f.app_type(),
        ..Default::default()
    }
}

async fn acs_of(env: &Env, f: Flavor, name: &str) -> Option<String> {
    f.saml(&env.sim, name)
        .await
        .and_then(|s| s["acsUrl"].as_str().map(str::to_string))
}

async fn wait_acs(env: &Env, f: Flavor, name: &str, url: &str, timeout: Duration) {
    cluster::wait_for(timeout, &format!("{name} acsUrl {url}"), || async {
        acs_of(env, f, name).await.as_deref() == Some(url)
    })
    .await
}

async fn created_and_ready(f: Flavor) {
    let env = Env::start("kind-ready", seed(f)).await;
    env.apply(&app_manifest(&opts(f)));
    env.wait_ready("telephony", SHORT).await;
    let saml = f
        .saml(&env.sim, "Telephony_SSO")
        .await
        .expect("app in the org");
    assert_eq!(saml["acsUrl"], ACS);
    assert_eq!(saml["entityUrl"], "https://sso.vendor.example/sp");
    assert_eq!(saml["profiles"], json!(["Contact Center Agent"]));
    let (_, served) = env.sim.get("/.well-known/samlidp/Telephony_SSO.xml").await;
    let cm = env
        .config_maps()
        .get("telephony-idp-metadata")
        .await
        .unwrap();
    assert_eq!(
        sim::without_valid_until(&cm.data.unwrap()["metadata.xml"]),
        sim::without_valid_until(&served),
        "the published document is what the org serves (validUntil is stamped per download)"
    );
}

async fn acs_change_updates_the_app(f: Flavor) {
    let env = Env::start("kind-update", seed(f)).await;
    env.apply(&app_manifest(&opts(f)));
    env.wait_ready("telephony", SHORT).await;
    let before = env.sim.writes_of("Telephony_SSO").await.len();
    let idp_writes = env.sim.writes_of("IdentityProvider").await.len();
    env.apply(&app_manifest(&AppOpts {
        acs_url: "https://sso.vendor.example/saml/acs2",
        ..opts(f)
    }));
    wait_acs(
        &env,
        f,
        "Telephony_SSO",
        "https://sso.vendor.example/saml/acs2",
        SHORT,
    )
    .await;
    env.wait_ready_at("telephony", 2, SHORT).await;
    assert_eq!(
        env.sim.writes_of("Telephony_SSO").await.len(),
        before + 1,
        "exactly one app write"
    );
    assert_eq!(
        env.sim.writes_of("IdentityProvider").await.len(),
        idp_writes,
        "the IdP is left alone"
    );
    let saml = f.saml(&env.sim, "Telephony_SSO").await.unwrap();
    assert_eq!(saml["entityUrl"], "https://sso.vendor.example/sp");
}

async fn drift_is_reverted_within_one_refresh(f: Flavor) {
    let env = Env::start("kind-drift", seed(f)).await;
    env.apply(&app_manifest(&AppOpts {
        refresh: "1m",
        ..opts(f)
    }));
    env.wait_ready("telephony", SHORT).await;
    env.sim
        .control(
            "/__sim/mutate",
            f.mutate_acs("Telephony_SSO", "https://admin-edit.example/acs"),
        )
        .await;
    // (No read-back here: a re-check triggered meanwhile may already have reverted it.)
    // The operator's own timer (1m, ±10% jitter), not a nudge.
    wait_acs(&env, f, "Telephony_SSO", ACS, Duration::from_secs(100)).await;
    env.wait_status("telephony", "drift reported in status", SHORT, |s| {
        s.drift
            .iter()
            .any(|d| d.field.ends_with(".acsUrl") && d.action == "Corrected")
    })
    .await;
}

async fn observe_only_reports_and_never_writes(f: Flavor) {
    let env = Env::start("kind-observe", seed(f)).await;
    env.apply(&app_manifest(&opts(f)));
    env.wait_ready("telephony", SHORT).await;
    env.apply(&app_manifest(&AppOpts {
        management: "ObserveOnly",
        ..opts(f)
    }));
    env.wait_status("telephony", "generation 2 observed", SHORT, |s| {
        s.observed_generation == Some(2)
    })
    .await;
    let writes = env.sim.writes().await;
    env.sim
        .control(
            "/__sim/mutate",
            f.mutate_acs("Telephony_SSO", "https://admin-edit.example/acs"),
        )
        .await;
    env.annotate_sync("telephony", "1");
    env.wait_status("telephony", "drift reported", SHORT, |s| {
        s.drift
            .iter()
            .any(|d| d.field.ends_with(".acsUrl") && d.action == "Reported")
    })
    .await;
    assert_eq!(env.sim.writes().await, writes, "ObserveOnly never writes");
    assert_eq!(
        acs_of(&env, f, "Telephony_SSO").await.as_deref(),
        Some("https://admin-edit.example/acs")
    );
    assert_eq!(
        env.condition("telephony", "AppReady").await.unwrap().1,
        "ObserveOnly"
    );
}

async fn deletion_policies(f: Flavor) {
    let env = Env::start("kind-delete", seed(f)).await;
    env.apply(&app_manifest(&opts(f)));
    env.apply(&app_manifest(&AppOpts {
        name: "kept",
        api_name: "Kept_SSO",
        deletion: "Orphan",
        ..opts(f)
    }));
    env.wait_ready("telephony", SHORT).await;
    env.wait_ready("kept", SHORT).await;
    env.delete_app("telephony").await;
    env.delete_app("kept").await;
    cluster::wait_for(SHORT, "both resources gone", || async {
        env.gone("telephony").await && env.gone("kept").await
    })
    .await;
    assert!(
        !f.exists(&env.sim, "Telephony_SSO").await,
        "Delete removes the app"
    );
    assert!(
        f.exists(&env.sim, "Kept_SSO").await,
        "Orphan leaves the app"
    );
}

async fn adoption(f: Flavor) {
    let env = Env::start("kind-adopt", seed(f)).await;
    f.create_unowned(&env.sim, "Telephony_SSO").await;
    env.apply(&app_manifest(&opts(f)));
    let (_, _, msg) = env
        .wait_condition("telephony", "AppReady", "False", Some("Conflict"), SHORT)
        .await;
    assert!(msg.contains("IfUnowned"), "{msg}");
    assert!(
        env.sim.writes_of("Telephony_SSO").await.is_empty(),
        "an unmarked app is never written"
    );
    // Deleting the resource (policy Delete) leaves the app that was never ours.
    env.delete_app("telephony").await;
    env.wait_deleted("telephony", SHORT).await;
    assert!(f.exists(&env.sim, "Telephony_SSO").await);
    assert!(env.sim.writes_of("Telephony_SSO").await.is_empty());
    // With IfUnowned it is taken over and carries the marker afterwards.
    env.apply(&app_manifest(&AppOpts {
        name: "adopter",
        adoption: "IfUnowned",
        ..opts(f)
    }));
    env.wait_ready("adopter", SHORT).await;
    let saml = f.saml(&env.sim, "Telephony_SSO").await.unwrap();
    assert!(
        saml["description"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/adopter", env.ns)),
        "{saml}"
    );
    assert_eq!(saml["acsUrl"], ACS);
}

macro_rules! both_kinds {
    ($($body:ident => $connected:ident, $external:ident;)*) => {$(
        #[tokio::test]
        async fn $connected() {
            $body(Flavor::Connected).await
        }
        #[tokio::test]
        async fn $external() {
            $body(Flavor::External).await
        }
    )*};
}

both_kinds! {
    created_and_ready => k8s_connected_app_created_and_ready, k8s_external_client_app_created_and_ready;
    acs_change_updates_the_app => k8s_connected_app_acs_change_updates_only_the_app, k8s_external_client_app_acs_change_updates_only_the_app;
    drift_is_reverted_within_one_refresh => k8s_connected_app_drift_reverted_within_one_refresh, k8s_external_client_app_drift_reverted_within_one_refresh;
    observe_only_reports_and_never_writes => k8s_connected_app_observe_only_never_writes, k8s_external_client_app_observe_only_never_writes;
    deletion_policies => k8s_connected_app_delete_and_orphan, k8s_external_client_app_delete_and_orphan;
    adoption => k8s_connected_app_adoption, k8s_external_client_app_adoption;
}

#[tokio::test]
async fn k8s_external_client_app_deploy_failure_names_the_component() {
    let env = Env::start("kind-deployfail", seed(Flavor::External)).await;
    env.sim
        .fault(json!({"operation": "deploy", "count": 100, "failComponent": "Telephony_SSO_samlPlcy", "problem": "Invalid ACS URL for this org"}))
        .await;
    env.apply(&app_manifest(&opts(Flavor::External)));
    let (_, reason, msg) = env
        .wait_condition("telephony", "AppReady", "False", None, SHORT)
        .await;
    assert_eq!(reason, "Rejected", "{msg}");
    assert!(
        msg.contains("Telephony_SSO_samlPlcy") && msg.contains("Invalid ACS URL for this org"),
        "{msg}"
    );
}

#[tokio::test]
async fn k8s_external_client_app_needs_api_63() {
    let env = Env::start("kind-version", seed(Flavor::External)).await;
    let org = e2e::acme_org(&env.sim.url).replace("spec:\n", "spec:\n  apiVersion: \"62.0\"\n");
    env.apply(&org);
    env.apply(&app_manifest(&opts(Flavor::External)));
    let (_, reason, msg) = env
        .wait_condition("telephony", "AppReady", "False", None, SHORT)
        .await;
    assert_eq!(reason, "Unsupported", "{msg}");
    assert!(msg.contains("63.0"), "{msg}");
    assert_eq!(env.sim.writes().await, 0);
}
