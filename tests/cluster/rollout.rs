//! `publish.rollout`: workloads whose pods read the metadata at start are restarted once per
//! metadata change and never by a refresh that publishes the same bytes. The test cluster has no
//! controller-manager, so no pods exist: a restart is what the workload controller would act on,
//! a new pod template (its `metadata.generation` moves and the template carries the new digest).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::json;

use crate::common::cluster;
use crate::common::e2e::{AppOpts, Env, OrgSeed, app_manifest};

const SHORT: Duration = Duration::from_secs(30);
const ANNOTATION: &str = "sso-operator.dev/idp-metadata-sha256";

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: softphone}
spec:
  replicas: 1
  selector: {matchLabels: {app: softphone}}
  template:
    metadata: {labels: {app: softphone}}
    spec:
      containers: [{name: softphone, image: registry.example/softphone:1}]
"#;

/// The Deployment's generation and its pod template's rollout annotation.
async fn template(env: &Env) -> (i64, Option<String>) {
    let api: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    let d = api.get("softphone").await.expect("get Deployment");
    let annotation = d
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.annotations)
        .and_then(|mut a| a.remove(ANNOTATION));
    (d.metadata.generation.unwrap_or_default(), annotation)
}

async fn published_sha(env: &Env) -> String {
    env.app_status("telephony")
        .await
        .and_then(|s| s.metadata)
        .expect("status.metadata")
        .sha256
        .into()
}

#[tokio::test]
async fn k8s_a_deployment_is_restarted_once_per_metadata_change_and_not_by_a_refresh() {
    let env = Env::start("e2e-rollout", OrgSeed::default()).await;
    env.apply(DEPLOYMENT);
    let manifest = app_manifest(&AppOpts {
        refresh: "1m",
        ..Default::default()
    })
    .replace(
        "publish: {refreshInterval: 1m}",
        "publish: {refreshInterval: 1m, rolloutDelay: 1s, rollout: [{kind: Deployment, name: softphone}]}",
    );
    assert!(manifest.contains("rollout:"), "{manifest}");
    env.apply(&manifest);
    env.wait_ready("telephony", SHORT).await;
    env.wait_condition(
        "telephony",
        "WorkloadsRolledOut",
        "True",
        Some("RolledOut"),
        SHORT,
    )
    .await;
    let (generation, annotation) = template(&env).await;
    assert_eq!(annotation, None, "the first publish restarts nothing");
    let first_sha = published_sha(&env).await;

    // The org's IdP certificate is replaced in Salesforce: new metadata, one restart.
    env.sim
        .control("/__sim/certificates", json!({"name": "SelfSignedCert_IdP"}))
        .await;
    env.annotate_sync("telephony", "after-new-certificate");
    let rolled = cluster::wait_for_value(
        SHORT,
        "Deployment restarted for the new metadata",
        || async {
            let (g, a) = template(&env).await;
            a.map(|a| (g, a))
        },
    )
    .await;
    let new_sha = published_sha(&env).await;
    assert_ne!(new_sha, first_sha);
    assert_eq!(
        rolled,
        (generation + 1, new_sha.clone()),
        "one new pod template"
    );
    env.wait_condition(
        "telephony",
        "WorkloadsRolledOut",
        "True",
        Some("RolledOut"),
        SHORT,
    )
    .await;

    // A refresh that reads Salesforce again and publishes the same bytes restarts nothing.
    let calls = env.sim.total_calls().await;
    env.annotate_sync("telephony", "no-op-refresh");
    cluster::wait_for(SHORT, "the refresh read Salesforce", || async {
        env.sim.total_calls().await > calls
    })
    .await;
    env.wait_idle(SHORT).await;
    assert_eq!(published_sha(&env).await, new_sha);
    assert_eq!(template(&env).await, (generation + 1, Some(new_sha)));
}
