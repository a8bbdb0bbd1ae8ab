//! Static checks of the packaging (no cluster): the Helm chart (`helm lint`, the values schema,
//! RBAC, the Deployment) and the plain manifests in `deploy/` rendered from it.
//!
//! helm is found as `common::repo::find_helm` says. When there is none the helm tests are skipped
//! with a loud message, or fail when `SSO_REQUIRE_HELM=1`.

mod deployment;
mod rbac;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::repo;

const RELEASE: &str = "sso-operator";
const NAMESPACE: &str = "sso-operator-system";
const WATCHED: &str = "telephony";

fn chart_dir() -> PathBuf {
    repo::repo_root().join("charts/sso-operator")
}

/// helm, or `None` after a loud skip message (a panic when `SSO_REQUIRE_HELM=1`).
fn helm_or_skip(test: &str) -> Option<PathBuf> {
    let helm = repo::find_helm();
    if helm.is_none() {
        let msg = format!(
            "{test}: helm NOT FOUND (tried $SSO_HELM, $SSO_BIN_DIR/helm, .local/bin/helm, \
             ~/.cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm, PATH); run hack/k8s-bins.sh"
        );
        if std::env::var_os("SSO_REQUIRE_HELM").is_some_and(|v| v == "1") {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    }
    helm
}

/// `helm <args>` on the chart: its exit status and output.
fn run_helm(helm: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(helm).args(args).output().expect("run helm")
}

/// `helm template sso-operator charts/sso-operator -n sso-operator-system <extra>`, parsed.
fn render(helm: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    repo::yaml_docs(&repo::helm_template(helm, NAMESPACE, extra))
}

/// A namespaced install (it must name the cluster: no cluster-scoped RBAC to read kube-system).
const NAMESPACED: &[&str] = &[
    "--set",
    "watchNamespace=telephony",
    "--set",
    "clusterName=test-cluster",
];

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

fn only<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    let found = of_kind(docs, k);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {k}, found {}",
        found.len()
    );
    found[0]
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn container(docs: &[Value]) -> &Value {
    let containers = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container: the operator");
    &containers[0]
}

fn args(docs: &[Value]) -> Vec<String> {
    strs(&container(docs)["args"])
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn lint(extra: &[&str]) {
    let Some(helm) = helm_or_skip("helm lint") else {
        return;
    };
    let chart = chart_dir();
    let mut a = vec!["lint", "--strict", chart.to_str().unwrap()];
    a.extend_from_slice(extra);
    let out = run_helm(&helm, &a);
    assert!(
        out.status.success(),
        "helm {a:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn helm_lint_strict_passes_with_default_values() {
    lint(&[]);
}

#[test]
fn helm_lint_strict_passes_namespace_scoped() {
    lint(NAMESPACED);
}

#[test]
fn values_schema_rejects_unknown_keys_and_bad_values() {
    let Some(helm) = helm_or_skip("values schema") else {
        return;
    };
    let chart = chart_dir();
    for bad in [
        "watchNamspace=telephony",
        "logFormat=xml",
        "watchNamespace=Not_A_Namespace",
        "image.tagg=1",
    ] {
        let out = run_helm(
            &helm,
            &["template", RELEASE, chart.to_str().unwrap(), "--set", bad],
        );
        assert!(
            !out.status.success(),
            "--set {bad} should be rejected by values.schema.json"
        );
    }
}
