//! `sso-operator check-org` (the binary, from files) against the simulated org in each reality
//! variant: read-only it changes nothing; with `--write` its report names the variant the org
//! runs, every finding fits, and nothing it made is left; with a fault injected mid-way it
//! fails, says where, and still leaves nothing behind.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::e2e::{ORG_SECRET, OrgSeed, acme_org, secret};
use crate::common::sim::Sim;

/// A started org (IdP on) in variant `realism`, and the label the org gives it.
async fn org(realism: Value, creation_allowed: bool) -> (Sim, String) {
    let sim = OrgSeed {
        creation_allowed,
        idp_enabled: true,
        ..Default::default()
    }
    .start();
    let answer = sim.control("/__sim/realism", realism).await;
    let label = answer["label"].as_str().expect("label").to_string();
    (sim, label)
}

/// Runs `check-org` against `sim` from files: (exit code, JSON report).
fn check_org(sim: &Sim, extra: &[&str]) -> (i32, Value) {
    let dir = sim.dir.path();
    std::fs::write(dir.join("org.yaml"), acme_org(&sim.url)).expect("org file");
    std::fs::write(
        dir.join("secret.json"),
        secret(ORG_SECRET, &[("tls.key", &sim.key.key_pem)]),
    )
    .expect("secret file");
    let out = Command::new(env!("CARGO_BIN_EXE_sso-operator"))
        .arg("check-org")
        .arg("--org-file")
        .arg(dir.join("org.yaml"))
        .arg("--secret-file")
        .arg(dir.join("secret.json"))
        .args(["--allow-host", &format!("localhost:{}", sim.port)])
        .arg("--salesforce-ca-file")
        .arg(&sim.ca_file)
        .args(["--output", "json"])
        .args(extra)
        .output()
        .expect("run sso-operator check-org");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check"] == check))
        .unwrap_or_else(|| panic!("no finding {check}: {report:#}"))
}

/// The sorted parts of a variant label.
fn parts(label: &str) -> Vec<String> {
    let mut v: Vec<String> = label
        .split(',')
        .filter(|p| *p != "default")
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Apps `check-org` made that the org still holds.
async fn left_behind(sim: &Sim) -> Vec<String> {
    let st = sim.state().await;
    ["connectedApps", "externalClientApps"]
        .iter()
        .flat_map(|k| {
            st[*k]
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .filter(|n| n.starts_with("SsoCheck_"))
        .collect()
}

#[tokio::test]
async fn read_only_checks_change_nothing() {
    let (sim, _) = org(json!({}), true).await;
    sim.reset_calls().await;
    let (code, report) = check_org(&sim, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["fits"], true);
    assert_eq!(report["wrote"], false);
    for check in [
        "authentication",
        "identityProvider",
        "certificateRead",
        "listing",
        "ecaAvailable",
        "orgMetadata",
    ] {
        assert_eq!(
            finding(&report, check)["verdict"],
            "confirmed",
            "{check}: {report:#}"
        );
    }
    assert_eq!(sim.writes().await, 0);
    assert_eq!(sim.count("sobjectDelete").await, 0);
}

#[tokio::test]
async fn write_mode_names_every_variant_and_leaves_nothing() {
    let variants: Vec<(Value, bool)> = vec![
        (json!({}), true),
        (json!({"edition": "production"}), true),
        (json!({"ecaAccessReads": "ids"}), true),
        (json!({"ecaAccessWrites": "replacing"}), true),
        (json!({"ecaMetadata": "notFound"}), true),
        (json!({"defaultsInReads": "omitted"}), true),
        (json!({"nameMatching": "caseSensitive"}), true),
        (json!({"ecaPolicyReads": "retrieveOnly"}), true),
        (json!({"creationBlocked": "perComponent"}), false),
        (json!({"creationBlocked": "fault"}), false),
        (json!({"consumerKeyEcho": "accepted"}), true),
        (json!({"metadataValidUntil": "wholeDays"}), true),
    ];
    let mut failures = Vec::new();
    for (realism, creation_allowed) in variants {
        let (sim, label) = org(realism.clone(), creation_allowed).await;
        let (code, report) = check_org(&sim, &["--write"]);
        let left = left_behind(&sim).await;
        // The one switch check-org cannot see: the operator never sends the consumer key.
        let expected: Vec<String> = parts(&label)
            .into_iter()
            .filter(|p| !p.starts_with("consumerKeyEcho="))
            .collect();
        let ok = code == 0
            && report["fits"] == true
            && parts(report["variant"].as_str().unwrap_or("?")) == expected
            && left.is_empty()
            && finding(&report, "cleanup")["verdict"] == "confirmed"
            && finding(&report, "consumerKeyEcho")["verdict"] != "contradicted";
        if !ok {
            failures.push(format!(
                "{realism}: exit {code}, org label {label}, left {left:?}, report {report:#}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn a_step_that_fails_mid_way_is_reported_and_cleaned_up() {
    let (sim, _) = org(json!({}), true).await;
    // The grants' SOQL read fails: the External Client App exists by then.
    sim.fault(json!({"operation": "query", "count": 50, "status": 500}))
        .await;
    let (code, report) = check_org(&sim, &["--write"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["fits"], false);
    let failed = finding(&report, "setupEntityAccess");
    assert_eq!(failed["fits"], false, "{report:#}");
    assert_eq!(
        finding(&report, "cleanup")["verdict"],
        "confirmed",
        "{report:#}"
    );
    assert!(left_behind(&sim).await.is_empty());
    // It got as far as deploying the app, so the cleanup had something to delete.
    assert!(
        sim.count("deploy").await >= 2,
        "{:?}",
        sim.calls().await["counts"]
    );
}
