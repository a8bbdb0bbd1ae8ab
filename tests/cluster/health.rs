//! The shipped Argo CD health checks (`deploy/argocd`, run in gopher-lua) and Flux's kstatus on
//! objects the operator has just written, against the mapping of docs/argocd-health.md. `make
//! argocd-health` checks the same on recorded objects (`hack/health-check/testdata`); this test
//! keeps those recordings honest: if the operator starts writing other conditions, it fails here.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::cluster;
use crate::common::e2e::{
    AppOpts, Env, JWT_CLIENT, ORG, OrgSeed, USERNAME, app_manifest, jwt_auth, org_manifest,
};
use crate::common::repo::{repo_root, run_ok};

const SHORT: Duration = Duration::from_secs(30);

/// `kubectl get <kind> <name> -o json`, written to `<dir>/<kind>-<name><suffix>.json`; the path.
fn record(env: &Env, kind: &str, name: &str, suffix: &str) -> String {
    let out = env.kubectl(&["get", kind, name, "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = env
        .sim
        .dir
        .path()
        .join(format!("{kind}-{name}{suffix}.json"));
    std::fs::write(&path, &out.stdout).unwrap();
    path.to_string_lossy().into_owned()
}

/// What the health-check tool says of each file: path -> (Argo CD, kstatus).
fn verdicts(files: &[String]) -> BTreeMap<String, (String, String)> {
    let root = repo_root();
    let tool = run_ok(Command::new(root.join("hack/go-tool.sh")).arg("health-check"));
    let patch = root.join("deploy/argocd/argocd-cm-patch.yaml");
    let out = run_ok(
        Command::new(tool.trim())
            .arg("-argocd-cm")
            .arg(&patch)
            .args(files),
    );
    let reports: Vec<Value> = serde_json::from_str(&out).expect("health-check JSON");
    reports
        .iter()
        .map(|r| {
            let s = |tool: &str| r[tool]["status"].as_str().unwrap_or_default().to_string();
            (
                r["file"].as_str().unwrap().to_string(),
                (s("argocd"), s("kstatus")),
            )
        })
        .collect()
}

#[tokio::test]
async fn k8s_argocd_and_kstatus_read_live_objects_as_documented() {
    let mut env = Env::start("health", OrgSeed::default()).await;
    env.apply_app_ready().await;
    // An org whose Secret does not exist.
    env.apply(&org_manifest(
        "no-secret",
        &env.sim.url,
        &env.sim.url,
        &jwt_auth("absent-jwt", "tls.key", USERNAME, JWT_CLIENT),
    ));
    let app = |name, api_name, org, certificate| {
        app_manifest(&AppOpts {
            name,
            api_name,
            org,
            certificate,
            acs_url: "https://other.vendor.example/saml/acs",
            ..Default::default()
        })
    };
    env.apply(&format!(
        "{}  suspend: true\n",
        app("paused", "Paused_SSO", ORG, "SelfSignedCert_IdP")
    ));
    env.apply(&app(
        "orphan",
        "Orphan_SSO",
        "not-yet",
        "SelfSignedCert_IdP",
    ));
    env.apply(&app("other-cert", "Other_SSO", ORG, "SelfSignedCert_Other"));
    cluster::wait_for(SHORT, "no-secret SecretNotFound", || async {
        env.org_ready("no-secret")
            .await
            .is_some_and(|((status, reason, _), _)| status == "False" && reason == "SecretNotFound")
    })
    .await;
    env.wait_condition("paused", "Ready", "False", Some("Suspended"), SHORT)
        .await;
    env.wait_condition("orphan", "Ready", "False", Some("OrgNotFound"), SHORT)
        .await;
    env.wait_condition("other-cert", "Stalled", "True", None, SHORT)
        .await;

    let mut expected = vec![
        (record(&env, "sca", "telephony", ""), ("Healthy", "Current")),
        (record(&env, "sforg", ORG, ""), ("Healthy", "Current")),
        (
            record(&env, "sforg", "no-secret", ""),
            ("Degraded", "Failed"),
        ),
        (
            record(&env, "sca", "paused", ""),
            ("Suspended", "InProgress"),
        ),
        (
            record(&env, "sca", "orphan", ""),
            ("Progressing", "InProgress"),
        ),
        (
            record(&env, "sca", "other-cert", ""),
            ("Degraded", "Failed"),
        ),
    ];
    // A spec change the operator has not seen yet (it is stopped).
    env.operator.kill();
    let out = env.kubectl(&[
        "patch",
        "sca",
        "paused",
        "--type=merge",
        "-p",
        r#"{"spec":{"app":{"label":"Paused SSO, renamed"}}}"#,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expected.push((
        record(&env, "sca", "paused", "-generation-2"),
        ("Progressing", "InProgress"),
    ));

    let files: Vec<String> = expected.iter().map(|(f, _)| f.clone()).collect();
    let got = verdicts(&files);
    for (file, (argocd, kstatus)) in &expected {
        assert_eq!(
            got.get(file).map(|(a, k)| (a.as_str(), k.as_str())),
            Some((*argocd, *kstatus)),
            "{file}: (Argo CD, kstatus)\n{}",
            std::fs::read_to_string(file).unwrap_or_default()
        );
    }
    env.restart_operator();
}
