//! The CRDs against a real kube-apiserver: both become Established with their short names and
//! category, the examples in `deploy/examples/` are accepted, and `kubectl explain` shows the
//! field docs. What admission refuses is `admission/`; that `crds/` matches `sso-operator crd`
//! is checked without a cluster (the offline binary's `crds`).

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::Value;
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

use crate::common::{cluster, repo};

#[tokio::test]
async fn k8s_crds_become_established() {
    cluster::install_crds().await;
    let crds = Api::<CustomResourceDefinition>::all(cluster::client().await);
    for (name, short) in cluster::CRD_NAMES.iter().zip(["sforg", "sca"]) {
        assert!(cluster::crd_established(&crds, name).await, "{name}");
        let crd = crds.get(name).await.unwrap();
        let names = crd.status.unwrap().accepted_names.unwrap();
        assert_eq!(
            names.short_names.unwrap_or_default(),
            vec![short.to_owned()]
        );
        assert_eq!(names.categories.unwrap_or_default(), vec!["sso".to_owned()]);
    }
}

fn resource_for(kind: &str) -> Option<ApiResource> {
    match kind {
        "SalesforceOrg" => Some(ApiResource::erase::<SalesforceOrg>(&())),
        "SsoConnectedApp" => Some(ApiResource::erase::<SsoConnectedApp>(&())),
        "Secret" => Some(ApiResource::erase::<Secret>(&())),
        _ => None,
    }
}

#[tokio::test]
async fn k8s_examples_are_accepted() {
    cluster::install_crds().await;
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace("examples").await;
    let dir = repo::repo_root().join("deploy/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut kinds_seen = Vec::new();
    for file in &files {
        for mut doc in repo::yaml_docs(&std::fs::read_to_string(file).unwrap()) {
            // Files that are not Kubernetes objects (e.g. the simulator's org file) are skipped.
            let Some(kind) = doc.get("kind").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let Some(ar) = resource_for(&kind) else {
                continue;
            };
            if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            let obj: DynamicObject = serde_json::from_value(doc).unwrap();
            Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &ar)
                .create(&PostParams::default(), &obj)
                .await
                .unwrap_or_else(|e| panic!("{}: {kind} refused: {e}", file.display()));
            kinds_seen.push(kind);
        }
    }
    for kind in ["SalesforceOrg", "SsoConnectedApp"] {
        assert!(
            kinds_seen.iter().any(|k| k == kind),
            "no {kind} example in deploy/examples"
        );
    }
}

#[tokio::test]
async fn k8s_kubectl_explain_shows_field_docs() {
    cluster::install_crds().await;
    // The OpenAPI document is republished shortly after the CRD is Established.
    let text = cluster::wait_for_value(
        Duration::from_secs(60),
        "kubectl explain sca.spec.saml.acsUrl to show the field's docs",
        || async {
            let out = cluster::kubectl(&["explain", "sca.spec.saml.acsUrl"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && text.contains("Assertion Consumer Service")).then_some(text)
        },
    )
    .await;
    assert!(text.contains("acsUrl"), "{text}");
}
