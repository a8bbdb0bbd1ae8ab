//! The chart against the real kube-apiserver: its manifests are accepted (default and
//! namespace-scoped), the operator reconciles to Ready with nothing but the chart's ServiceAccount
//! RBAC, and two replicas with leader election fail over without duplicate Salesforce writes.

use std::time::{Duration, Instant};

use crate::common::e2e::{self, AppOpts, Env, Operator, OperatorOpts, OrgSeed, app_manifest};
use crate::common::{cluster, repo};

const SA: &str = "system:serviceaccount:sso-operator-system:sso-operator";
const SHORT: Duration = Duration::from_secs(30);

/// The chart rendered for `sso-operator-system`, CRDs included.
fn render(extra: &[&str]) -> String {
    let mut args = vec!["--include-crds"];
    args.extend_from_slice(extra);
    repo::helm_template(&cluster::helm(), "sso-operator-system", &args)
}

fn ensure_system_namespace() {
    // Tests run in parallel: whichever creates it first wins, the others find it there.
    let out = cluster::kubectl(&["create", "namespace", "sso-operator-system"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("AlreadyExists"),
        "create namespace: {err}"
    );
}

#[tokio::test]
async fn k8s_chart_renders_are_accepted_by_the_api_server() {
    cluster::install_crds().await;
    ensure_system_namespace();
    let watch_ns = cluster::fresh_namespace("chart-ns").await;
    for extra in [
        vec![],
        vec![
            "--set".to_string(),
            format!("watchNamespace={watch_ns}"),
            "--set".to_string(),
            "clusterName=deploy-test".to_string(),
        ],
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let rendered = render(&extra);
        // Server-side: create or patch is decided by the API server, so objects that
        // k8s_operator_reaches_ready_with_only_the_charts_rbac creates meanwhile (same names,
        // same namespace) cannot turn a dry-run create into AlreadyExists.
        let args = [
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "-f",
            "-",
        ];
        cluster::kubectl_ok(&args, Some(&rendered));
    }
}

#[tokio::test]
async fn k8s_operator_reaches_ready_with_only_the_charts_rbac() {
    let Some(sa_kubeconfig) = cluster::cluster().operator_kubeconfig.clone() else {
        panic!("the cluster has no ServiceAccount kubeconfig (start it with hack/cluster-up.sh)");
    };
    cluster::install_crds().await;
    ensure_system_namespace();
    // The chart's RBAC (and everything else it renders) as an administrator would install it.
    cluster::kubectl_ok(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(&render(&[])),
    );

    // The org, its Secret and an app, created by the admin; the operator runs as the chart's SA.
    // The chart's Role allows only the Lease named `sso-operator-leader`.
    let as_sa = OperatorOpts::args(&[
        "--leader-election",
        "--leader-election-namespace",
        "sso-operator-system",
    ])
    .kubeconfig(&sa_kubeconfig);
    let env = Env::start_with("rbac", OrgSeed::default(), as_sa).await;
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", Duration::from_secs(60)).await;
    let cm = env
        .config_maps()
        .get("telephony-idp-metadata")
        .await
        .expect("ConfigMap written by the SA");
    assert!(cm.data.unwrap().contains_key("metadata.xml"));
    // Events were emitted under the SA too.
    let events = env.kubectl(&["get", "events", "-o", "name"]);
    assert!(
        !String::from_utf8_lossy(&events.stdout).trim().is_empty(),
        "no Events recorded"
    );
    // Deletion (finalizer removal) works with the chart's RBAC.
    env.delete_app("telephony").await;
    env.wait_deleted("telephony", SHORT).await;

    let logs = env.operator.logs();
    let lower = logs.to_lowercase();
    assert!(
        !lower.contains("forbidden") && !lower.contains(" 403"),
        "forbidden in the operator log:\n{}",
        e2e::tail(&logs, 40)
    );

    // What the SA cannot do.
    let can = |args: &[&str]| {
        let mut a = vec!["auth", "can-i"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--as", SA]);
        String::from_utf8_lossy(&cluster::kubectl(&a).stdout)
            .trim()
            .to_string()
    };
    assert_eq!(can(&["list", "secrets", "--all-namespaces"]), "no");
    assert_eq!(can(&["watch", "secrets", "-n", &env.ns]), "no");
    assert_eq!(can(&["get", "secrets", "-n", &env.ns]), "yes");
    assert_eq!(can(&["create", "deployments", "-n", &env.ns]), "no");
    assert_eq!(
        can(&["delete", "salesforceorgs.sso-operator.dev", "-n", &env.ns]),
        "no"
    );
    assert_eq!(can(&["update", "leases", "-n", "kube-system"]), "no");
    assert_eq!(can(&["*", "*"]), "no");
}

async fn is_leader(op: &Operator) -> bool {
    op.metrics()
        .await
        .lines()
        .any(|l| l.trim() == "sso_operator_leader 1")
}

#[tokio::test]
async fn k8s_standby_takes_over_when_the_leader_dies() {
    let mut env = Env::start("failover", OrgSeed::default()).await;
    env.operator.kill();
    let lease = OperatorOpts::args(&[
        "--leader-election",
        "--leader-election-namespace",
        &env.ns,
        "--leader-election-lease-seconds",
        "6",
    ]);
    let mut a = env.spawn_operator(&lease);
    let mut b = env.spawn_operator(&lease);
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", SHORT).await;

    // Exactly one leads, and only the leader reconciles.
    let (la, lb) = (is_leader(&a).await, is_leader(&b).await);
    assert!(la ^ lb, "exactly one leader (a: {la}, b: {lb})");
    let (leader, standby) = if la {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(
        !standby
            .metrics()
            .await
            .contains("sso_operator_reconciles_total"),
        "the standby reconciled"
    );

    // The leader dies; work arrives meanwhile; the standby takes over and finishes it.
    let killed = Instant::now();
    leader.kill();
    env.apply(&app_manifest(&AppOpts {
        name: "second",
        api_name: "Second_SSO",
        ..Default::default()
    }));
    let standby_ref = &*standby;
    cluster::wait_for(
        Duration::from_secs(11),
        "the standby leads within lease + 5 s",
        || is_leader(standby_ref),
    )
    .await;
    eprintln!("new leader after {:?}", killed.elapsed());
    env.wait_ready("second", SHORT).await;

    // No duplicate writes across the handover.
    assert_eq!(
        env.sim.writes_of("Telephony_SSO").await.len(),
        1,
        "{:?}",
        env.sim.writes_of("Telephony_SSO").await
    );
    assert_eq!(env.sim.writes_of("Second_SSO").await.len(), 1);
    assert_eq!(env.sim.writes_of("IdentityProvider").await.len(), 1);

    // A clean shutdown releases the Lease at once.
    let status = standby.terminate().expect("exit status");
    assert!(status.success(), "{status:?}");
    let holder = env.kubectl(&[
        "get",
        "lease",
        "sso-operator-leader",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert!(
        String::from_utf8_lossy(&holder.stdout).trim().is_empty(),
        "Lease still held after shutdown"
    );
}
