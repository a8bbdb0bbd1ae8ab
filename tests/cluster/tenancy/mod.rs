//! Many teams, one org (issue 16): what one team's resources can no longer do to another's, one
//! test per scenario, against the real kube-apiserver, the simulated org and the operator as a
//! process.
//!
//! - another namespace's `SalesforceOrg` naming the same My Domain without credentials can
//!   neither block nor squat (org identity is the authenticated org id);
//! - an API name in another case (`telephony_sso` / `Telephony_SSO`) is never created over or
//!   written to;
//! - a ConfigMap the resource does not control is left untouched;
//! - another uid or cluster with the same `namespace/name` is another owner until reclaimed;
//! - switching an enabled Identity Provider needs the `SalesforceOrg`'s opt-in;
//! - deleting a namespace completes (the `SalesforceOrg` waits for its apps) and leaks nothing;
//! - a resource name longer than a label value still publishes its ConfigMap.
//!
//! Admission (control characters, durations) is in the admission table (`admission/cases.rs`).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Namespace};
use kube::Api;
use serde_json::{Value, json};

use crate::common::cluster;
use crate::common::e2e::{
    self, AppOpts, Cond, Env, OperatorOpts, OrgSeed, app_manifest, jwt_auth, org_manifest, secret,
    unowned_app,
};
use crate::common::sim::{self, JWT_CLIENT, USERNAME};

mod lifecycle;

const SHORT: Duration = Duration::from_secs(30);

/// Condition `type_` of `SalesforceOrg` `name` in `env`'s namespace.
async fn org_condition(env: &Env, name: &str, type_: &str) -> Option<Cond> {
    let org = env.orgs().get_opt(name).await.ok()??;
    let c = org
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status.into(), c.reason.into(), c.message.into()))
}

async fn wait_org_condition(
    env: &Env,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> Cond {
    let what = format!("org {name} {type_}={status} {reason}");
    cluster::wait_for_value(SHORT, &what, || async {
        org_condition(env, name, type_)
            .await
            .filter(|c| c.0 == status && c.1 == reason)
    })
    .await
}

/// The uid of app `name`.
async fn uid_of(env: &Env, name: &str) -> String {
    let app = env.apps().get(name).await.expect("app");
    app.metadata.uid.expect("uid")
}

/// Waits until condition `type_` of app `name` is `False` with reason `Conflict`; its message.
async fn conflict(env: &Env, name: &str, type_: &str) -> String {
    let c = env
        .wait_condition(name, type_, "False", Some("Conflict"), SHORT)
        .await;
    c.2
}

/// The certificate the org's Identity Provider signs with (`""` while it is off).
async fn idp_certificate(env: &Env) -> String {
    let state = env.sim.state().await;
    let idp = &state["identityProvider"];
    if idp["enabled"] == json!(true) {
        idp["certificate"].as_str().unwrap_or_default().to_string()
    } else {
        String::new()
    }
}

/// Write calls of the org naming `name` in any case.
async fn writes_of_any_case(env: &Env, name: &str) -> Vec<Value> {
    let log = env.sim.log().await;
    log.into_iter()
        .filter(|e| sim::WRITE_OPERATIONS.contains(&e["operation"].as_str().unwrap_or_default()))
        .filter(|e| {
            e["fullNames"].as_array().is_some_and(|names| {
                names
                    .iter()
                    .any(|n| n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            })
        })
        .collect()
}

fn with_annotation(yaml: &str, annotation: &str) -> String {
    yaml.replacen(
        "metadata: {name: ",
        &format!("metadata: {{annotations: {{{annotation}}}, name: "),
        1,
    )
}

fn publishing_into(opts: &AppOpts, config_map: &str) -> String {
    app_manifest(opts).replace(
        "publish: {refreshInterval: 1h}",
        &format!("publish: {{refreshInterval: 1h, configMapName: {config_map}}}"),
    )
}

/// Another team's namespace, watched by the same operator, holds a `SalesforceOrg` that names the
/// same My Domain but has no credentials (its Secret does not exist), and an app that claims the
/// first team's API name first and asks for another IdP certificate. Identity is the org id a
/// `SalesforceOrg` authenticated to, so the squatter takes part in no decision: the first team's
/// app is created, Ready, and the IdP enabled with its certificate. A second team that does
/// authenticate, spelling the My Domain differently (trailing `/`), is recognised as the same org:
/// its claim of the taken name is a Conflict for it alone.
///
/// Before issue 16 (a9bd5e7) identity was the lower-cased `instanceUrl` string: the squatter, the
/// older claimant, turned the first team's app to `Conflict` and the other certificate blocked
/// its IdP.
#[tokio::test]
async fn k8s_tenancy_another_namespace_cannot_block_or_squat() {
    // An operator for all namespaces: only on a private cluster.
    let _private = cluster::use_private_cluster();
    let env = Env::start_with(
        "team-a",
        OrgSeed::default(),
        OperatorOpts::default().all_namespaces(),
    )
    .await;
    wait_org_ready(&env).await;

    let (team_b, b_apps) = squatting_team(&env).await;
    env.apply_app_ready().await;
    assert_eq!(
        env.condition("telephony", "IdentityProviderReady")
            .await
            .map(|c| c.0),
        Some("True".into())
    );
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_IdP");
    assert_eq!(
        env.sim.app("Telephony_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs"
    );

    // A second team that authenticates to the same org, spelled with a trailing slash.
    cluster::apply_yaml(
        &team_b,
        &secret("acme-b-jwt", &[("tls.key", &env.sim.key.key_pem)]),
    )
    .expect("apply team b's Secret");
    let acme_b = org_manifest(
        "acme-b",
        &format!("{}/", env.sim.url),
        &env.sim.url,
        &jwt_auth("acme-b-jwt", "tls.key", USERNAME, JWT_CLIENT),
    );
    cluster::apply_yaml(&team_b, &acme_b).expect("apply team b's org");
    let writes = env.sim.writes().await;
    let latecomer = app_manifest(&AppOpts {
        name: "latecomer",
        org: "acme-b",
        acs_url: "https://latecomer.example/acs",
        ..Default::default()
    });
    cluster::apply_yaml(&team_b, &latecomer).expect("apply the latecomer");
    let conflict = cluster::wait_for_value(SHORT, "latecomer AppReady=Conflict", || async {
        let s = b_apps.get_opt("latecomer").await.ok()??.status?;
        s.conditions
            .into_iter()
            .find(|c| c.type_ == "AppReady" && c.reason == "Conflict")
    })
    .await;
    assert!(
        conflict.message.contains(&format!("{}/telephony", env.ns)),
        "{}",
        conflict.message
    );
    assert_eq!(env.sim.writes().await, writes, "no write for the latecomer");
    let generation = env
        .apps()
        .get("telephony")
        .await
        .unwrap()
        .metadata
        .generation;
    env.annotate_sync("telephony", "after-team-b");
    env.wait_ready_at("telephony", generation.unwrap(), SHORT)
        .await;
    assert_eq!(
        env.sim.app("Telephony_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs"
    );
}

/// Team b: a `SalesforceOrg` naming team a's My Domain with no credentials, and an app of it
/// asking for another IdP certificate, reconciled (not Ready).
async fn squatting_team(env: &Env) -> (String, Api<sso_operator::api::SsoConnectedApp>) {
    let team_b = cluster::fresh_namespace("team-b").await;
    let squat = org_manifest(
        "squat",
        &env.sim.url,
        &env.sim.url,
        &jwt_auth("no-such-secret", "tls.key", USERNAME, JWT_CLIENT),
    );
    cluster::apply_yaml(&team_b, &squat).expect("apply the squatting org");
    let squatter = app_manifest(&AppOpts {
        name: "squatter",
        org: "squat",
        certificate: "SelfSignedCert_Other",
        acs_url: "https://squatter.example/acs",
        ..Default::default()
    });
    cluster::apply_yaml(&team_b, &squatter).expect("apply the squatting app");
    let b_apps: Api<sso_operator::api::SsoConnectedApp> =
        Api::namespaced(env.client.clone(), &team_b);
    cluster::wait_for(SHORT, "the squatter reconciled (not Ready)", || async {
        b_apps
            .get_opt("squatter")
            .await
            .ok()
            .flatten()
            .and_then(|a| a.status)
            .is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "False")
            })
    })
    .await;

    (team_b, b_apps)
}

async fn wait_org_ready(env: &Env) {
    cluster::wait_for(SHORT, "org acme Ready", || async {
        env.org_ready(e2e::ORG)
            .await
            .is_some_and(|((status, _, _), _)| status == "True")
    })
    .await;
}

/// The org has `Telephony_SSO` (made by hand). A resource naming `telephony_sso` may adopt
/// unowned apps, yet is refused (`Conflict`, the existing name given), writes nothing, and its
/// deletion leaves the app. A resource naming `Telephony_SSO` adopts it; one naming
/// `TELEPHONY_SSO` afterwards is a Conflict with it, again without a write.
///
/// Before issue 16, reads and the duplicate check matched names exactly: the read of
/// `telephony_sso` found nothing and the operator upserted, which in Salesforce creates or
/// overwrites (the simulator, case-sensitive, records it as a write of a new app; the test fails
/// on that write either way).
#[tokio::test]
async fn k8s_tenancy_name_in_another_case_is_never_overwritten() {
    let seed = OrgSeed {
        connected_apps: vec![unowned_app("Telephony_SSO")],
        ..Default::default()
    };
    let env = Env::start("tenancy-case", seed).await;
    let before = env.sim.app("Telephony_SSO").await.expect("seeded app");
    let adopting = |name: &'static str, api_name: &'static str| AppOpts {
        name,
        api_name,
        adoption: "IfUnowned",
        acs_url: "https://other-team.example/acs",
        ..Default::default()
    };

    env.apply(&app_manifest(&adopting("lower", "telephony_sso")));
    let msg = conflict(&env, "lower", "AppReady").await;
    assert!(
        msg.contains("Telephony_SSO") && msg.contains("regardless of case"),
        "{msg}"
    );
    assert_eq!(
        writes_of_any_case(&env, "telephony_sso").await,
        Vec::<Value>::new()
    );
    assert_eq!(env.sim.app("Telephony_SSO").await.unwrap(), before);
    env.delete_app("lower").await;
    env.wait_deleted("lower", SHORT).await;
    assert_eq!(env.sim.app("Telephony_SSO").await.unwrap(), before);
    assert!(env.sim.app("telephony_sso").await.is_none());

    env.apply(&app_manifest(&adopting("owner", "Telephony_SSO")));
    env.wait_ready("owner", SHORT).await;
    let adopted = env.sim.app("Telephony_SSO").await.unwrap();
    assert_eq!(writes_of_any_case(&env, "telephony_sso").await.len(), 1);

    env.apply(&app_manifest(&AppOpts {
        acs_url: "https://shouting.example/acs",
        ..adopting("shouty", "TELEPHONY_SSO")
    }));
    let msg = conflict(&env, "shouty", "AppReady").await;
    assert!(msg.contains("owner"), "{msg}");
    env.wait_idle(SHORT).await;
    assert_eq!(writes_of_any_case(&env, "telephony_sso").await.len(), 1);
    assert_eq!(env.sim.app("Telephony_SSO").await.unwrap(), adopted);
    assert!(env.sim.app("TELEPHONY_SSO").await.is_none());
}

/// A ConfigMap that exists and is not this resource's is never written: the app is
/// `MetadataPublished=False Conflict` and the ConfigMap keeps its resourceVersion, also after the
/// resource is deleted. Two resources naming one ConfigMap: the second is refused and the first
/// one's metadata stays.
///
/// Before issue 16 the ConfigMap was applied with force and a controller owner reference: taken
/// over, overwritten, and deleted with the resource.
#[tokio::test]
async fn k8s_tenancy_foreign_configmap_is_untouched() {
    let env = Env::start("tenancy-cm", OrgSeed::default()).await;
    let foreign = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "payroll-settings", "labels": {"team": "payroll"}},
        "data": {"metadata.xml": "<payroll/>", "other": "kept"},
    });
    env.apply(&foreign.to_string());
    let version = |name: &'static str| {
        let env = &env;
        async move {
            let cm = env.config_maps().get(name).await.expect("ConfigMap");
            (cm.metadata.resource_version, cm.data)
        }
    };
    let foreign_before = version("payroll-settings").await;

    env.apply(&publishing_into(&AppOpts::default(), "payroll-settings"));
    let msg = conflict(&env, "telephony", "MetadataPublished").await;
    assert!(msg.contains("payroll-settings"), "{msg}");
    env.wait_idle(SHORT).await;
    assert_eq!(version("payroll-settings").await, foreign_before);
    env.delete_app("telephony").await;
    env.wait_deleted("telephony", SHORT).await;
    assert_eq!(version("payroll-settings").await, foreign_before);

    // Two resources, one ConfigMap: the first keeps it.
    let first = AppOpts {
        name: "first",
        api_name: "First_SSO",
        ..Default::default()
    };
    env.apply(&publishing_into(&first, "team-idp"));
    env.wait_ready("first", SHORT).await;
    let first_cm = version("team-idp").await;
    env.apply(&publishing_into(
        &AppOpts {
            name: "second",
            api_name: "Second_SSO",
            ..Default::default()
        },
        "team-idp",
    ));
    let msg = conflict(&env, "second", "MetadataPublished").await;
    assert!(msg.contains("first"), "{msg}");
    env.delete_app("second").await;
    env.wait_deleted("second", SHORT).await;
    assert_eq!(version("team-idp").await, first_cm);
}

/// The marker names uid and cluster. The same `namespace/name` seen by an operator of another
/// cluster (`--cluster-name staging`) is another owner: a spec change is not written and deleting
/// the resource leaves the app. A resource deleted and created again (new uid) is refused too,
/// until it carries `sso-operator.dev/reclaim: "true"`; then it takes the app over with one write.
///
/// Before issue 16 the marker was `namespace/name` only: the staging operator adopted, updated
/// and (policy Delete) deleted production's app.
#[tokio::test]
async fn k8s_tenancy_another_uid_or_cluster_is_another_owner_until_reclaimed() {
    let prod = OperatorOpts::args(&["--cluster-name", "prod"]);
    let mut env = Env::start_with("tenancy-owner", OrgSeed::default(), prod.clone()).await;
    env.apply_app_ready().await;
    let uid = uid_of(&env, "telephony").await;
    let app = env.sim.app("Telephony_SSO").await.unwrap();
    let description = app["description"].as_str().unwrap_or_default().to_string();
    assert!(
        description.contains(&format!("{}/telephony (uid {uid}, cluster prod)", env.ns)),
        "{description}"
    );
    let writes = env.sim.writes_of("Telephony_SSO").await.len();

    // Another cluster with the same namespace/name.
    env.operator.kill();
    env.operator = env.spawn_operator(&OperatorOpts::args(&["--cluster-name", "staging"]));
    env.apply(&app_manifest(&AppOpts {
        acs_url: "https://staging.vendor.example/acs",
        ..Default::default()
    }));
    let msg = conflict(&env, "telephony", "AppReady").await;
    assert!(
        msg.contains("cluster prod") && msg.contains("sso-operator.dev/reclaim"),
        "{msg}"
    );
    env.delete_app("telephony").await;
    env.wait_deleted("telephony", SHORT).await;
    assert_eq!(env.sim.writes_of("Telephony_SSO").await.len(), writes);
    assert_eq!(env.sim.app("Telephony_SSO").await.unwrap(), app);
    // What the garbage collector does (this control plane has none): the ConfigMap controlled by
    // the deleted resource goes with it.
    env.config_maps()
        .delete("telephony-idp-metadata", &Default::default())
        .await
        .expect("delete the ConfigMap of the deleted resource");

    // Back in production: the resource created again has another uid.
    env.operator.kill();
    env.operator = env.spawn_operator(&prod);
    env.apply(&app_manifest(&AppOpts::default()));
    let msg = conflict(&env, "telephony", "AppReady").await;
    assert!(msg.contains(&format!("uid {uid}")), "{msg}");
    assert_eq!(env.sim.writes_of("Telephony_SSO").await.len(), writes);
    env.apply(&with_annotation(
        &app_manifest(&AppOpts::default()),
        "sso-operator.dev/reclaim: \"true\"",
    ));
    env.wait_ready("telephony", SHORT).await;
    let new_uid = uid_of(&env, "telephony").await;
    assert_ne!(new_uid, uid);
    let description = env.sim.app("Telephony_SSO").await.unwrap()["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        description.contains(&format!("(uid {new_uid}, cluster prod)")),
        "{description}"
    );
    assert_eq!(env.sim.writes_of("Telephony_SSO").await.len(), writes + 1);
}

/// The IdP is already enabled with `SelfSignedCert_IdP` (other service providers of the org
/// trust it). An app asking for `SelfSignedCert_Other` is a Conflict and switches nothing; so is
/// the `SalesforceOrg` choosing it without `allowCertificateSwitch` (naming the current
/// certificate). With the opt-in the org switches, with a `CertificateSwitched` warning.
///
/// Before issue 16 any one app switched the org-wide certificate.
#[tokio::test]
async fn k8s_tenancy_idp_switch_needs_the_org_opt_in() {
    let seed = OrgSeed {
        idp_enabled: true,
        ..Default::default()
    };
    let env = Env::start("tenancy-idp", seed).await;
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_IdP");
    env.apply(&app_manifest(&AppOpts {
        certificate: "SelfSignedCert_Other",
        ..Default::default()
    }));
    let msg = conflict(&env, "telephony", "IdentityProviderReady").await;
    assert!(msg.contains("SelfSignedCert_IdP"), "{msg}");
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_IdP");

    let choose = |allow: bool| {
        json!({"spec": {"identityProvider": {
            "certificate": "SelfSignedCert_Other",
            "allowCertificateSwitch": allow,
        }}})
        .to_string()
    };
    let patch = |body: String| {
        let out = env.kubectl(&[
            "patch",
            "salesforceorg",
            e2e::ORG,
            "--type",
            "merge",
            "-p",
            &body,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    patch(choose(false));
    let (_, _, msg) =
        wait_org_condition(&env, e2e::ORG, "IdentityProviderReady", "False", "Conflict").await;
    assert!(
        msg.contains("signs with certificate SelfSignedCert_IdP")
            && msg.contains("allowCertificateSwitch"),
        "{msg}"
    );
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_IdP");
    assert!(env.sim.writes_of("IdentityProvider").await.is_empty());

    patch(choose(true));
    wait_org_condition(&env, e2e::ORG, "IdentityProviderReady", "True", "Synced").await;
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_Other");
    let events: Api<Event> = Api::namespaced(env.client.clone(), &env.ns);
    cluster::wait_for(SHORT, "a CertificateSwitched warning", || async {
        events.list(&Default::default()).await.is_ok_and(|l| {
            l.items.iter().any(|e| {
                e.reason.as_deref() == Some("CertificateSwitched")
                    && e.type_.as_deref() == Some("Warning")
            })
        })
    })
    .await;
    env.annotate_sync("telephony", "after-switch");
    env.wait_ready("telephony", SHORT).await;
}
