//! The controller as a process against the real kube-apiserver: what it reports before any
//! Salesforce call can help (missing Secret, key or org), that it re-checks when the cause is
//! fixed, that an identical reconcile writes nothing, its probes, its start-up message when it
//! cannot see its CRDs, and a clean SIGTERM.

use std::time::{Duration, Instant};

use kube::Api;

use crate::common::cluster;
use crate::common::e2e::{
    self, AppOpts, Env, ORG, ORG_SECRET, Operator, OperatorOpts, OrgSeed, app_manifest,
};

const SHORT: Duration = Duration::from_secs(30);

/// Waits until the org's `Ready` has `status` and `reason`, for generation 1.
async fn wait_org(env: &Env, status: &str, reason: &str) {
    cluster::wait_for(SHORT, &format!("org Ready={status} {reason}"), || async {
        env.org_ready(ORG)
            .await
            .is_some_and(|((s, r, _), generation)| {
                s == status && r == reason && generation == Some(1)
            })
    })
    .await;
}

/// The org arrives without its Secret, then with a Secret lacking the key, then fixed: each
/// step reported, the last one authenticated.
async fn org_secret_missing_then_wrong_then_fixed(env: &Env) {
    let t = Instant::now();
    env.apply(&e2e::acme_org(&env.sim.url));
    wait_org(env, "False", "SecretNotFound").await;
    eprintln!("SecretNotFound after {:?}", t.elapsed());

    // A Secret without the expected key.
    let pem = env.sim.key.key_pem.as_str();
    env.apply(&e2e::secret(ORG_SECRET, &[("wrong.key", pem)]));
    wait_org(env, "False", "KeyNotFound").await;

    // Fixed: the org authenticates.
    let t = Instant::now();
    cluster::kubectl_ok(&["-n", &env.ns, "delete", "secret", ORG_SECRET], None);
    env.apply(&e2e::secret(ORG_SECRET, &[("tls.key", pem)]));
    wait_org(env, "True", "Authenticated").await;
    eprintln!("Authenticated {:?} after the fix", t.elapsed());
}

#[tokio::test]
async fn k8s_org_reports_missing_secret_and_key_then_recovers() {
    let mut env = Env::start_bare("ctl-org", OrgSeed::default()).await;

    // An app whose org does not exist yet.
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_status("telephony", "app OrgNotFound", SHORT, |s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "False" && c.reason == "OrgNotFound")
            && s.observed_generation == Some(1)
    })
    .await;

    org_secret_missing_then_wrong_then_fixed(&env).await;
    // ... and its app goes on to Ready.
    env.wait_ready("telephony", SHORT).await;
    let org = env.orgs().get(ORG).await.unwrap();
    assert_eq!(
        org.status.as_ref().unwrap().org_id.as_deref(),
        Some("00D5g000000SIMUEAA")
    );

    // A second, identical reconcile (a fresh operator) writes nothing.
    let org_rv = org.metadata.resource_version.clone();
    let app_rv = env.resource_version("telephony").await;
    env.restart_operator();
    env.operator.wait_idle("salesforceorg", SHORT).await;
    env.wait_idle(SHORT).await;
    assert_eq!(
        env.orgs().get(ORG).await.unwrap().metadata.resource_version,
        org_rv,
        "org status rewritten"
    );
    assert_eq!(
        env.resource_version("telephony").await,
        app_rv,
        "app status rewritten"
    );
}

/// A kubeconfig that impersonates `user` (the admin may impersonate), so a test can control
/// exactly what the operator is allowed to see.
fn impersonating_kubeconfig(dir: &std::path::Path, user: &str) -> std::path::PathBuf {
    let admin = std::fs::read_to_string(cluster::kubeconfig()).unwrap();
    let mut doc: serde_json::Value = serde_norway::from_str(&admin).unwrap();
    for u in doc["users"].as_array_mut().unwrap() {
        u["user"]["as"] = serde_json::Value::String(user.to_string());
    }
    let path = dir.join("impersonating.kubeconfig");
    std::fs::write(&path, serde_norway::to_string(&doc).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn k8s_readyz_waits_for_watches_and_sigterm_exits_cleanly() {
    cluster::install_crds().await;
    let ns = cluster::fresh_namespace("ctl-probe").await;
    let dir = tempfile::tempdir().unwrap();
    let user = format!("readyz-{ns}");
    let kubeconfig = impersonating_kubeconfig(dir.path(), &user);
    // A namespace-scoped identity cannot read kube-system's uid: it names the cluster.
    let mut op = Operator::start(
        &ns,
        None,
        dir.path(),
        &OperatorOpts::args(&["--cluster-name", "readyz-test"]).kubeconfig(&kubeconfig),
    );
    // Without permission to read its resources the operator cannot sync: not ready, one clear line.
    cluster::wait_for(SHORT, "the install hint in the log", || async {
        op.logs().contains("install them with")
    })
    .await;
    assert_eq!(op.probe("/readyz").await, Some(503));
    assert_eq!(op.probe("/livez").await, Some(200));

    // Grant what the operator reads in its namespace; it syncs and becomes ready by itself.
    let rbac = format!(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: operator}}
rules:
- apiGroups: [sso-operator.dev]
  resources: [salesforceorgs, ssoconnectedapps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: operator}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: operator}}
subjects: [{{kind: User, name: "{user}", apiGroup: rbac.authorization.k8s.io}}]
"#
    );
    cluster::apply_yaml(&ns, &rbac).unwrap();
    cluster::wait_for(Duration::from_secs(60), "/readyz 200", || async {
        op.probe("/readyz").await == Some(200)
    })
    .await;
    let logs = op.logs();
    assert_eq!(
        logs.matches("install them with").count(),
        1,
        "one line, not a loop:\n{logs}"
    );

    // SIGTERM: exit 0 within 10 s.
    let t = Instant::now();
    let status = op.terminate().expect("exit status");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "still running {:?} after SIGTERM",
        t.elapsed()
    );
    assert!(status.success(), "exit status {status:?}");
    eprintln!("exited {:?} after SIGTERM", t.elapsed());
}

/// The Event recorder against the real API server: a repeat becomes a series on the first Event
/// (not a second Event), another reason or another object is its own Event.
#[tokio::test]
async fn k8s_repeated_event_becomes_a_series() {
    use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
    use k8s_openapi::api::events::v1::Event;
    use kube::api::{ListParams, PostParams};

    let ns = cluster::fresh_namespace("events").await;
    let client = cluster::client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let mut regarding = Vec::new();
    for name in ["a", "b"] {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        let cm = cms.create(&PostParams::default(), &cm).await.unwrap();
        regarding.push(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
            namespace: Some(ns.clone()),
            name: Some(name.into()),
            uid: cm.metadata.uid.clone(),
            ..Default::default()
        });
    }
    let rec = sso_operator::events::Recorder::new(client.clone(), "sso-operator", None);
    let publish = |r: usize, warning: bool, reason: &'static str, note: &str| {
        rec.publish(
            &regarding[r],
            warning,
            reason,
            "Reconcile",
            note.to_string(),
        )
    };
    publish(0, true, "SalesforceUnavailable", "first")
        .await
        .unwrap();
    publish(0, true, "SalesforceUnavailable", "second")
        .await
        .unwrap();
    publish(0, true, "SalesforceUnavailable", "third")
        .await
        .unwrap();
    publish(0, false, "Ready", "ready").await.unwrap();
    publish(1, true, "SalesforceUnavailable", "other object")
        .await
        .unwrap();

    let events: Api<Event> = Api::namespaced(client, &ns);
    fn of<'a>(list: &'a [Event], name: &str, reason: &str) -> Vec<&'a Event> {
        list.iter()
            .filter(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                    && e.reason.as_deref() == Some(reason)
            })
            .collect()
    }
    let list = events.list(&ListParams::default()).await.unwrap().items;
    let repeated = of(&list, "a", "SalesforceUnavailable");
    assert_eq!(
        repeated.len(),
        1,
        "one Event for three publishes: {list:#?}"
    );
    let e = repeated[0];
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(3), "{e:#?}");
    assert_eq!(e.note.as_deref(), Some("first"));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(e.action.as_deref(), Some("Reconcile"));
    assert_eq!(e.reporting_controller.as_deref(), Some("sso-operator"));
    assert_eq!(e.reporting_instance.as_deref(), Some("sso-operator"));
    let ready = of(&list, "a", "Ready");
    assert_eq!(ready.len(), 1);
    assert!(ready[0].series.is_none(), "a single Event has no series");
    assert_eq!(ready[0].type_.as_deref(), Some("Normal"));
    assert_eq!(of(&list, "b", "SalesforceUnavailable").len(), 1);
    assert_eq!(list.len(), 3);

    // The series' Event deleted: the repeat fails once, the next one starts a new Event.
    events
        .delete(e.metadata.name.as_deref().unwrap(), &Default::default())
        .await
        .unwrap();
    assert!(
        publish(0, true, "SalesforceUnavailable", "gone")
            .await
            .is_err()
    );
    publish(0, true, "SalesforceUnavailable", "new")
        .await
        .unwrap();
    let list = events.list(&ListParams::default()).await.unwrap().items;
    let renewed = of(&list, "a", "SalesforceUnavailable");
    assert_eq!(renewed.len(), 1, "{list:#?}");
    assert_eq!(renewed[0].note.as_deref(), Some("new"));
    assert!(renewed[0].series.is_none());
}
