//! The controller as a process against the real kube-apiserver: what it reports before any
//! Salesforce call can help (missing Secret, key or org), that it re-checks when the cause is
//! fixed, that an identical reconcile writes nothing, its probes, its start-up message when it
//! cannot see its CRDs, and a clean SIGTERM.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;

use std::time::{Duration, Instant};

use e2e::{AppOpts, OrgSeed, Sim, app_manifest, org_manifest};
use kube::Api;
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

const SHORT: Duration = Duration::from_secs(30);

async fn org_condition(
    api: &Api<SalesforceOrg>,
    name: &str,
) -> Option<(String, String, Option<i64>)> {
    let o = api.get_opt(name).await.ok()??;
    let c = o
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status, c.reason, c.observed_generation))
}

async fn wait_org(api: &Api<SalesforceOrg>, status: &str, reason: &str, timeout: Duration) {
    cluster::wait_for(timeout, &format!("org Ready={status} {reason}"), || async {
        org_condition(api, e2e::ORG)
            .await
            .is_some_and(|c| c.0 == status && c.1 == reason && c.2 == Some(1))
    })
    .await;
}

#[tokio::test]
async fn k8s_org_reports_missing_secret_and_key_then_recovers() {
    cluster::install_crds().await;
    let ns = cluster::fresh_namespace("ctl-org").await;
    let sim = Sim::start(&OrgSeed::default());
    let mut op = e2e::Operator::start(&ns, &sim, sim.dir.path(), &[]);
    let client = cluster::client().await;
    let orgs: Api<SalesforceOrg> = Api::namespaced(client.clone(), &ns);
    let apps: Api<SsoConnectedApp> = Api::namespaced(client.clone(), &ns);

    // An app whose org does not exist yet.
    cluster::apply_yaml(&ns, &app_manifest(&AppOpts::default())).unwrap();
    cluster::wait_for(SHORT, "app OrgNotFound", || async {
        apps.get_opt("telephony")
            .await
            .ok()
            .flatten()
            .and_then(|a| a.status)
            .is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "False" && c.reason == "OrgNotFound")
                    && s.observed_generation == Some(1)
            })
    })
    .await;

    let t = Instant::now();
    cluster::apply_yaml(&ns, &org_manifest(&sim.base)).unwrap();
    wait_org(&orgs, "False", "SecretNotFound", SHORT).await;
    eprintln!("SecretNotFound after {:?}", t.elapsed());

    // A Secret without the expected key.
    let key = sim.dir.path().join("k.pem");
    std::fs::write(&key, &sim.key_pem).unwrap();
    let out = cluster::kubectl(&[
        "-n",
        &ns,
        "create",
        "secret",
        "generic",
        "acme-jwt",
        &format!("--from-file=wrong.key={}", key.display()),
    ]);
    assert!(out.status.success());
    wait_org(&orgs, "False", "KeyNotFound", SHORT).await;

    // Fixed: the org authenticates and its app goes on to Ready.
    let t = Instant::now();
    let out = cluster::kubectl(&["-n", &ns, "delete", "secret", "acme-jwt"]);
    assert!(out.status.success());
    let out = cluster::kubectl(&[
        "-n",
        &ns,
        "create",
        "secret",
        "generic",
        "acme-jwt",
        &format!("--from-file=tls.key={}", key.display()),
    ]);
    assert!(out.status.success());
    wait_org(&orgs, "True", "Authenticated", SHORT).await;
    eprintln!("Authenticated {:?} after the fix", t.elapsed());
    std::fs::remove_file(&key).ok();
    cluster::wait_for(SHORT, "app Ready", || async {
        apps.get_opt("telephony")
            .await
            .ok()
            .flatten()
            .and_then(|a| a.status)
            .is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
    })
    .await;
    let org = orgs.get(e2e::ORG).await.unwrap();
    assert_eq!(
        org.status.as_ref().unwrap().org_id.as_deref(),
        Some("00D5g000000SIMUEAA")
    );

    // A second, identical reconcile (a fresh operator) writes nothing.
    let org_rv = org.metadata.resource_version.clone();
    let app_rv = apps
        .get("telephony")
        .await
        .unwrap()
        .metadata
        .resource_version;
    op.kill();
    let op = e2e::Operator::start(&ns, &sim, sim.dir.path(), &[]);
    let port = op.metrics_port;
    cluster::wait_for(SHORT, "org reconciled by the new operator", || {
        e2e::operator_idle(port, "salesforceorg")
    })
    .await;
    cluster::wait_for(SHORT, "apps reconciled by the new operator", || {
        e2e::operator_idle(port, "ssoconnectedapp")
    })
    .await;
    assert_eq!(
        orgs.get(e2e::ORG).await.unwrap().metadata.resource_version,
        org_rv,
        "org status rewritten"
    );
    assert_eq!(
        apps.get("telephony")
            .await
            .unwrap()
            .metadata
            .resource_version,
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

async fn readyz(port: u16) -> Option<u16> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .ok()?;
    Some(r.status().as_u16())
}

#[tokio::test]
async fn k8s_readyz_waits_for_watches_and_sigterm_exits_cleanly() {
    cluster::install_crds().await;
    let ns = cluster::fresh_namespace("ctl-probe").await;
    let dir = tempfile::tempdir().unwrap();
    let user = format!("readyz-{ns}");
    let kubeconfig = impersonating_kubeconfig(dir.path(), &user);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("op.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sso-operator"))
        .args([
            "run",
            "--namespace",
            &ns,
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            // A namespace-scoped identity cannot read kube-system's uid: name the cluster.
            "--cluster-name",
            "readyz-test",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    // Without permission to read its resources the operator cannot sync: not ready, one clear line.
    cluster::wait_for(SHORT, "the install hint in the log", || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("install them with")
    })
    .await;
    assert_eq!(readyz(port).await, Some(503));
    assert_eq!(
        reqwest::get(format!("http://127.0.0.1:{port}/livez"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

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
        readyz(port).await == Some(200)
    })
    .await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logs.matches("install them with").count(),
        1,
        "one line, not a loop:\n{logs}"
    );

    // SIGTERM: exit 0 within 10 s.
    let t = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
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
