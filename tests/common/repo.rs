//! The repository's files and tools as the tests see them: the root, YAML streams, the
//! `sso-operator crd` output of this build, and helm (for rendering the chart).
//!
//! helm is looked up in `$SSO_HELM`, `$SSO_BIN_DIR/helm`, `.local/bin/helm`, the pinned tool cache
//! (`~/.cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm`, filled by `hack/k8s-bins.sh`) and `PATH`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::Value;

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every non-empty document of a multi-document YAML stream, as JSON values.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// Runs `cmd` (stdin closed), asserts it succeeded (else panics with the command and its
/// stderr), and returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `sso-operator crd` output (the binary built for this test run).
pub fn crd_yaml() -> String {
    run_ok(Command::new(env!("CARGO_BIN_EXE_sso-operator")).arg("crd"))
}

/// helm, from the places listed in the module doc; `None` when there is none.
pub fn find_helm() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SSO_HELM") {
        let p = PathBuf::from(p);
        // An explicit choice that does not exist is a mistake, not a reason to use another helm.
        assert!(p.is_file(), "SSO_HELM={} is not a file", p.display());
        return Some(p);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("SSO_BIN_DIR") {
        candidates.push(PathBuf::from(dir).join("helm"));
    }
    candidates.push(repo_root().join(".local/bin/helm"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates
            .push(PathBuf::from(home).join(".cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("helm")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// `helm template sso-operator charts/sso-operator -n <namespace> <extra>`: the rendered text.
pub fn helm_template(helm: &Path, namespace: &str, extra: &[&str]) -> String {
    let chart = repo_root().join("charts/sso-operator");
    let mut args = vec![
        "template",
        "sso-operator",
        chart.to_str().expect("UTF-8 path"),
        "--namespace",
        namespace,
    ];
    args.extend_from_slice(extra);
    run_ok(Command::new(helm).args(&args))
}
