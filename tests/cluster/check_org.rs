//! `sso-operator check-org --org namespace/name`: the `SalesforceOrg` and its Secret read from
//! the cluster, read-only: the report names the simulated org's variant and nothing is written.

use serde_json::{Value, json};

use crate::common::cluster;
use crate::common::e2e::{Env, ORG, OrgSeed};

#[tokio::test]
async fn k8s_check_org_reads_the_org_and_its_secret_from_the_cluster() {
    let env = Env::start(
        "check-org",
        OrgSeed {
            idp_enabled: true,
            ..Default::default()
        },
    )
    .await;
    env.sim
        .control("/__sim/realism", json!({"nameMatching": "caseSensitive"}))
        .await;
    env.sim.reset_calls().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sso-operator"))
        .arg("check-org")
        .args(["--org", &format!("{}/{ORG}", env.ns)])
        .args(["--allow-host", &format!("localhost:{}", env.sim.port)])
        .arg("--salesforce-ca-file")
        .arg(&env.sim.ca_file)
        .args(["--output", "json"])
        .env("KUBECONFIG", cluster::kubeconfig())
        .output()
        .expect("run check-org");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["wrote"], false);
    let auth = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check"] == "authentication"))
        .expect("authentication finding");
    assert_eq!(auth["verdict"], "confirmed", "{report:#}");
    // Read-only: the name-matching switch needs --write to be seen, and nothing was written.
    assert_eq!(report["variant"], "default", "{report:#}");
    assert_eq!(env.sim.writes().await, 0);
}
