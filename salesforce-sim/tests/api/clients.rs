//! Third-party Metadata API clients, unchanged, against the simulator (issue 15, acceptance):
//! simple-salesforce 1.12.10 (zeep over its bundled v63.0 WSDL; posts to `/services/Soap/m/63.0/`
//! with a trailing slash) and jsforce 3's `metadata` API. Each creates, reads, updates, lists and
//! deletes a `ConnectedApp` and reads `IdentityProviderSettings`; the test checks what the client
//! saw and what the org holds afterwards. The clients come from PyPI and npm into a cache outside
//! the repository (`hack/client-env.sh`). Nothing here is skipped: without them the tests fail and
//! say why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::harness::{Options, Sim, org};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// (venv python, node_modules) from `hack/client-env.sh`, built once.
fn env() -> &'static (PathBuf, PathBuf) {
    static ENV: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    ENV.get_or_init(|| {
        let script = repo_root().join("hack/client-env.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "hack/client-env.sh failed (it needs python3 with venv, node with npm, PyPI and npm):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("hack/client-env.sh printed no {k}: {text}"))
        };
        (get("python="), get("node_path="))
    })
}

/// A simulator over HTTPS (both clients insist on it or default to it) where connected apps may
/// be created, its CA written next to the org file, and a session.
async fn sim() -> (Sim, PathBuf, String) {
    let sim = Sim::start_with(Options {
        org: org(true),
        https: true,
        control: true,
    });
    let ca = sim.dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem().expect("HTTPS simulator has a CA")).expect("write CA");
    let token = sim.token().await;
    (sim, ca, token)
}

fn run(mut cmd: Command, what: &str) -> Value {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed against the simulator:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(text.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {text}"))
}

/// What every client must have seen for app `name`.
fn check(out: &Value, name: &str) {
    assert_eq!(out["read_after_create"]["fullName"], name, "{out}");
    assert_eq!(
        out["read_after_create"]["acsUrl"], "https://sp.example.com/acs",
        "{out}"
    );
    assert_eq!(
        out["read_after_create"]["profileName"],
        serde_json::json!(["Contact Center Agent"]),
        "{out}"
    );
    assert_eq!(
        out["read_after_update"]["label"],
        format!("{name} renamed"),
        "{out}"
    );
    assert_eq!(
        out["read_after_update"]["acsUrl"], "https://sp.example.com/acs2",
        "{out}"
    );
    let listed: Vec<&str> = out["listed"]
        .as_array()
        .expect("listed")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        listed.contains(&name) && listed.contains(&"Existing_Telephony"),
        "{out}"
    );
    // zeep types the value from the WSDL; jsforce leaves it as the XML text.
    let enabled = &out["identity_provider"]["enableIdentityProvider"];
    assert!(*enabled == true || *enabled == "true", "{out}");
    assert_eq!(
        out["identity_provider"]["certificateName"], "SelfSignedCert_IdP",
        "{out}"
    );
    assert_eq!(out["read_after_delete"], Value::Null, "{out}");
    assert!(
        !out["listed_after_delete"]
            .as_array()
            .expect("listed_after_delete")
            .iter()
            .any(|n| n == name),
        "{out}"
    );
}

/// The org's connected apps by name, from the control plane.
async fn apps_in_org(sim: &Sim) -> Vec<String> {
    let st = sim.control_get("/__sim/state").await;
    let apps = &st["connectedApps"];
    match apps {
        Value::Array(v) => v
            .iter()
            .filter_map(|a| a["fullName"].as_str().or(a.as_str()).map(str::to_owned))
            .collect(),
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("no connectedApps in /__sim/state: {other}"),
    }
}

#[tokio::test]
async fn simple_salesforce_metadata_client_works_unchanged() {
    let (python, _) = env();
    let (sim, ca, token) = sim().await;
    let host = sim
        .url
        .strip_prefix("https://")
        .expect("HTTPS URL")
        .to_owned();
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("salesforce-sim/tests/clients/simple_salesforce_md.py"))
        .arg("Py_Client_App")
        .env("SIM_INSTANCE", &host)
        .env("SIM_TOKEN", &token)
        .env("REQUESTS_CA_BUNDLE", &ca);
    let out = tokio::task::spawn_blocking(move || run(cmd, "simple-salesforce"))
        .await
        .expect("join");
    // The client's own URL, with the trailing slash Salesforce accepts.
    assert_eq!(
        out["metadata_url"],
        format!("https://{host}/services/Soap/m/63.0/"),
        "{out}"
    );
    check(&out, "Py_Client_App");
    assert!(!apps_in_org(&sim).await.iter().any(|a| a == "Py_Client_App"));
}

#[tokio::test]
async fn jsforce_metadata_api_works_unchanged() {
    let (_, node_path) = env();
    let (sim, ca, token) = sim().await;
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("salesforce-sim/tests/clients/jsforce_md.js"))
        .arg("Js_Client_App")
        .env("NODE_PATH", node_path)
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .env("SIM_URL", &sim.url)
        .env("SIM_TOKEN", &token);
    let out = tokio::task::spawn_blocking(move || run(cmd, "jsforce"))
        .await
        .expect("join");
    check(&out, "Js_Client_App");
    assert!(!apps_in_org(&sim).await.iter().any(|a| a == "Js_Client_App"));
}
