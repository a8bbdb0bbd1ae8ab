//! The CRD YAML in the repository is what this build's `sso-operator crd` prints: `crds/` (the
//! source of `make crds`; `UPDATE_CRDS=1` rewrites it instead of failing) and the chart's copy.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::repo::{crd_yaml, repo_root, yaml_docs};

const CRDS_FILE: &str = "crds/sso-operator.dev_crds.yaml";
const CHART_CRDS_FILE: &str = "charts/sso-operator/crds/sso-operator.dev_crds.yaml";

/// The documents of a repository file.
fn docs_of(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}; run `make crds`", path.display()));
    yaml_docs(&text)
}

#[test]
fn crds_dir_matches_sso_operator_crd() {
    let generated = crd_yaml();
    let path = repo_root().join(CRDS_FILE);
    if std::env::var("UPDATE_CRDS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        eprintln!("rewrote {CRDS_FILE}");
        return;
    }
    let (want, have) = (yaml_docs(&generated), docs_of(&path));
    assert_eq!(want.len(), 2, "sso-operator crd prints two CRDs");
    assert!(
        want == have,
        "{CRDS_FILE} differs from `sso-operator crd`: run `make crds` (or UPDATE_CRDS=1 cargo test --test offline crds_dir)"
    );
}

#[test]
fn chart_crds_match_sso_operator_crd_output() {
    let generated = yaml_docs(&crd_yaml());
    let chart_file = repo_root().join(CHART_CRDS_FILE);
    let shipped = docs_of(&chart_file);
    assert_eq!(generated.len(), 2, "two CRDs");
    assert!(
        shipped == generated,
        "{} is stale: regenerate it with `sso-operator crd > {}`",
        chart_file.display(),
        chart_file.display()
    );

    // Every CRD in crds/ is the chart's, by name.
    let mut from_root: BTreeMap<String, Value> = BTreeMap::new();
    for entry in std::fs::read_dir(repo_root().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            continue;
        }
        for doc in docs_of(&path) {
            if doc["kind"] == "CustomResourceDefinition" {
                from_root.insert(doc["metadata"]["name"].as_str().unwrap().to_owned(), doc);
            }
        }
    }
    let from_chart: BTreeMap<String, Value> = shipped
        .into_iter()
        .map(|d| (d["metadata"]["name"].as_str().unwrap().to_owned(), d))
        .collect();
    assert!(
        from_root == from_chart,
        "crds/ and charts/sso-operator/crds/ differ"
    );
}
