//! Static checks of the packaging (no cluster): the Helm chart, the plain manifests in `deploy/`
//! rendered from it, and the CRD copy the chart ships.
//!
//! helm is looked up in `$SSO_HELM`, `$SSO_BIN_DIR/helm`, `.local/bin/helm`, the pinned tool cache
//! (`~/.cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm`, filled by `hack/k8s-bins.sh`) and `PATH`.
//! When none is found the helm tests are skipped with a loud message, or fail when
//! `SSO_REQUIRE_HELM=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const RELEASE: &str = "sso-operator";
const NAMESPACE: &str = "sso-operator-system";
const WATCHED: &str = "telephony";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chart_dir() -> PathBuf {
    repo().join("charts/sso-operator")
}

/// Every non-empty document of a multi-document YAML stream, as JSON values.
fn parse_docs(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn find_helm() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("SSO_HELM") {
        let p = PathBuf::from(p);
        // An explicit choice that does not exist is a mistake, not a reason to use another helm.
        assert!(p.is_file(), "SSO_HELM={} is not a file", p.display());
        return Some(p);
    }
    if let Some(dir) = std::env::var_os("SSO_BIN_DIR") {
        candidates.push(PathBuf::from(dir).join("helm"));
    }
    candidates.push(repo().join(".local/bin/helm"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates
            .push(PathBuf::from(home).join(".cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("helm")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// helm, or `None` after a loud skip message (a panic when `SSO_REQUIRE_HELM=1`).
fn helm_or_skip(test: &str) -> Option<PathBuf> {
    let helm = find_helm();
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

fn run_helm(helm: &Path, args: &[&str]) -> std::process::Output {
    Command::new(helm).args(args).output().expect("run helm")
}

/// `helm template sso-operator charts/sso-operator -n sso-operator-system <extra>`, parsed.
fn render(helm: &Path, extra: &[&str]) -> Vec<Value> {
    let chart = chart_dir();
    let mut args = vec![
        "template",
        RELEASE,
        chart.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
    ];
    args.extend_from_slice(extra);
    let out = run_helm(helm, &args);
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_docs(&String::from_utf8(out.stdout).expect("utf-8"))
}

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

// === CRDs ===

#[test]
fn chart_crds_match_sso_operator_crd_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_sso-operator"))
        .arg("crd")
        .output()
        .expect("run sso-operator crd");
    assert!(
        out.status.success(),
        "sso-operator crd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = parse_docs(&String::from_utf8(out.stdout).unwrap());
    let chart_file = chart_dir().join("crds/sso-operator.dev_crds.yaml");
    let shipped = parse_docs(&std::fs::read_to_string(&chart_file).unwrap());
    assert_eq!(generated.len(), 2, "two CRDs");
    assert!(
        shipped == generated,
        "{} is stale: regenerate it with `sso-operator crd > {}`",
        chart_file.display(),
        chart_file.display()
    );

    // The repository's crds/ (when present) must hold the same CRDs.
    let root = repo().join("crds");
    if root.is_dir() {
        let mut from_root: BTreeMap<String, Value> = BTreeMap::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                for doc in parse_docs(&std::fs::read_to_string(&path).unwrap()) {
                    if kind(&doc) == "CustomResourceDefinition" {
                        from_root.insert(doc["metadata"]["name"].as_str().unwrap().to_owned(), doc);
                    }
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
    } else {
        eprintln!(
            "note: no crds/ at the repository root yet; compared the chart copy with `sso-operator crd` only"
        );
    }
}

// === helm lint ===

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

// === RBAC ===

/// Every (apiGroup, resource) → verbs grant in the render, with the kind and namespace of its role.
fn rules(docs: &[Value]) -> Vec<(String, Option<String>, &Value)> {
    docs.iter()
        .filter(|d| matches!(kind(d), "Role" | "ClusterRole"))
        .flat_map(|d| {
            let ns = d["metadata"]["namespace"].as_str().map(str::to_owned);
            let k = kind(d).to_owned();
            d["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |r| (k.clone(), ns.clone(), r))
        })
        .collect()
}

fn assert_least_privilege(docs: &[Value], what: &str) {
    let rules = rules(docs);
    assert!(!rules.is_empty(), "{what}: no RBAC rendered");
    for (k, ns, rule) in &rules {
        let groups = strs(&rule["apiGroups"]);
        let resources = strs(&rule["resources"]);
        let verbs = strs(&rule["verbs"]);
        assert!(
            !groups.contains(&"*") && !resources.contains(&"*") && !verbs.contains(&"*"),
            "{what}: wildcard in {k} {ns:?}: {rule}"
        );
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "{what}: nonResourceURLs in {k}: {rule}"
        );
        if groups.contains(&"") && resources.contains(&"secrets") {
            assert_eq!(
                verbs,
                ["get"],
                "{what}: Secrets must be get-only (no list/watch): {rule}"
            );
        }
        for forbidden in ["escalate", "bind", "impersonate"] {
            assert!(
                !verbs.contains(&forbidden),
                "{what}: {forbidden} in {k}: {rule}"
            );
        }
        assert!(
            !groups.contains(&"apiextensions.k8s.io")
                && !groups.contains(&"rbac.authorization.k8s.io"),
            "{what}: the operator never touches CRDs or RBAC at runtime: {rule}"
        );
    }
}

#[test]
fn rbac_has_no_secret_list_or_watch_and_no_wildcards() {
    let Some(helm) = helm_or_skip("rbac") else {
        return;
    };
    assert_least_privilege(&render(&helm, &[]), "default");
    assert_least_privilege(&render(&helm, NAMESPACED), "namespace-scoped");
    let named = render(&helm, &["--set", "rbac.secretNames={acme-jwt,acme-cc}"]);
    assert_least_privilege(&named, "secretNames");
    let secrets: Vec<_> = rules(&named)
        .into_iter()
        .filter(|(_, _, r)| strs(&r["resources"]).contains(&"secrets"))
        .collect();
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        strs(&secrets[0].2["resourceNames"]),
        ["acme-jwt", "acme-cc"]
    );
}

/// resource (group/resource) → verbs, merged over the rules of one role.
fn grants(role: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in role["rules"].as_array().unwrap() {
        for g in strs(&rule["apiGroups"]) {
            for r in strs(&rule["resources"]) {
                let key = if g.is_empty() {
                    r.to_owned()
                } else {
                    format!("{g}/{r}")
                };
                out.entry(key)
                    .or_default()
                    .extend(strs(&rule["verbs"]).into_iter().map(str::to_owned));
            }
        }
    }
    out
}

fn expected_operator_grants() -> BTreeMap<String, BTreeSet<String>> {
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    BTreeMap::from([
        (
            "sso-operator.dev/salesforceorgs".into(),
            set(&["get", "list", "watch", "patch", "update"]),
        ),
        (
            "sso-operator.dev/salesforceorgs/finalizers".into(),
            set(&["patch", "update"]),
        ),
        (
            "sso-operator.dev/salesforceorgs/status".into(),
            set(&["patch", "update"]),
        ),
        (
            "sso-operator.dev/ssoconnectedapps".into(),
            set(&["get", "list", "watch", "patch", "update"]),
        ),
        (
            "sso-operator.dev/ssoconnectedapps/status".into(),
            set(&["patch", "update"]),
        ),
        (
            "sso-operator.dev/ssoconnectedapps/finalizers".into(),
            set(&["patch", "update"]),
        ),
        (
            "configmaps".into(),
            set(&[
                "get", "list", "watch", "create", "patch", "update", "delete",
            ]),
        ),
        ("secrets".into(), set(&["get"])),
        ("events.k8s.io/events".into(), set(&["create", "patch"])),
        ("events".into(), set(&["create", "patch"])),
    ])
}

#[test]
fn rbac_grants_exactly_what_the_operator_uses() {
    let Some(helm) = helm_or_skip("rbac grants") else {
        return;
    };
    let docs = render(&helm, &[]);
    let cluster = only(&docs, "ClusterRole");
    // Cluster-wide, the operator also reads the kube-system Namespace: this cluster's identity.
    let mut expected = expected_operator_grants();
    expected.insert("namespaces".into(), BTreeSet::from(["get".to_string()]));
    assert_eq!(grants(cluster), expected, "ClusterRole grants");

    // The Lease, in the release namespace only; get/update limited to the one Lease.
    let roles = of_kind(&docs, "Role");
    assert_eq!(
        roles.len(),
        1,
        "only the leader-election Role besides the ClusterRole"
    );
    let le = roles[0];
    assert_eq!(le["metadata"]["namespace"], NAMESPACE);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        grants(le),
        BTreeMap::from([(
            "coordination.k8s.io/leases".to_string(),
            set(&["create", "get", "update"])
        )])
    );
    for rule in le["rules"].as_array().unwrap() {
        if strs(&rule["verbs"]).iter().any(|v| *v != "create") {
            assert_eq!(
                strs(&rule["resourceNames"]),
                ["sso-operator-leader"],
                "{rule}"
            );
        }
    }

    // Both bindings name the operator's ServiceAccount (the RBAC-proof test relies on the name).
    let sa = only(&docs, "ServiceAccount");
    assert_eq!(sa["metadata"]["name"], "sso-operator");
    assert_eq!(sa["metadata"]["namespace"], NAMESPACE);
    for binding in of_kind(&docs, "ClusterRoleBinding")
        .into_iter()
        .chain(of_kind(&docs, "RoleBinding"))
    {
        let subjects = binding["subjects"].as_array().unwrap();
        assert_eq!(subjects.len(), 1, "{binding}");
        assert_eq!(subjects[0]["kind"], "ServiceAccount");
        assert_eq!(subjects[0]["name"], "sso-operator");
        assert_eq!(subjects[0]["namespace"], NAMESPACE);
    }
    assert_eq!(
        only(&docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
        "sso-operator"
    );
}

#[test]
fn namespace_scoped_render_has_no_cluster_scoped_rbac() {
    let Some(helm) = helm_or_skip("namespace-scoped") else {
        return;
    };
    let docs = render(&helm, NAMESPACED);
    for k in ["ClusterRole", "ClusterRoleBinding"] {
        assert!(
            of_kind(&docs, k).is_empty(),
            "namespace-scoped render has a {k}"
        );
    }
    // Every rendered object is namespaced, in the release or the watched namespace.
    for d in &docs {
        let ns = d["metadata"]["namespace"].as_str();
        assert!(
            matches!(ns, Some(NAMESPACE | WATCHED)),
            "{} {} in {ns:?}",
            kind(d),
            d["metadata"]["name"]
        );
    }
    let watched: Vec<_> = of_kind(&docs, "Role")
        .into_iter()
        .filter(|r| r["metadata"]["namespace"] == WATCHED)
        .collect();
    assert_eq!(watched.len(), 1, "one Role in the watched namespace");
    assert_eq!(grants(watched[0]), expected_operator_grants());
    let binding = of_kind(&docs, "RoleBinding")
        .into_iter()
        .find(|b| b["metadata"]["namespace"] == WATCHED)
        .expect("RoleBinding in the watched namespace");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], watched[0]["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["namespace"], NAMESPACE);

    let a = args(&docs);
    assert!(a.contains(&"--namespace=telephony".to_owned()), "{a:?}");
    // The Lease stays in the release namespace, where the leader-election Role is.
    assert!(
        a.contains(&"--leader-election-namespace=$(POD_NAMESPACE)".to_owned()),
        "{a:?}"
    );
}

// === Deployment ===

fn assert_restricted(docs: &[Value], what: &str) {
    let dep = only(docs, "Deployment");
    let pod = &dep["spec"]["template"]["spec"];
    for host in ["hostNetwork", "hostPID", "hostIPC", "hostUsers"] {
        assert!(
            pod[host].is_null() || (host == "hostUsers" && pod[host] == true),
            "{what}: {host} set"
        );
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
    assert_eq!(pod["securityContext"]["runAsUser"], 65532, "{what}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{what}"
    );
    assert_eq!(pod["automountServiceAccountToken"], true, "{what}");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30, "{what}");
    assert!(
        pod["initContainers"].is_null() && pod["ephemeralContainers"].is_null(),
        "{what}"
    );
    let allowed_volumes = [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    for v in pod["volumes"].as_array().into_iter().flatten() {
        let source: Vec<_> = v
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "name")
            .collect();
        assert!(
            source.iter().all(|s| allowed_volumes.contains(&s.as_str())),
            "{what}: volume {v}"
        );
    }

    let c = container(docs);
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
    assert_eq!(sc["runAsNonRoot"], true, "{what}");
    assert_eq!(sc["runAsUser"], 65532, "{what}");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
    assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"], "{what}");
    assert!(
        sc["capabilities"]["add"].is_null(),
        "{what}: capabilities added"
    );
    assert!(
        sc["privileged"].is_null() || sc["privileged"] == false,
        "{what}"
    );
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{what}");
    for p in c["ports"].as_array().unwrap() {
        assert!(p["hostPort"].is_null(), "{what}: hostPort");
    }

    // Probes on the metrics port; the port serves /livez, /readyz and /metrics.
    let port = &c["ports"][0];
    assert_eq!(port["name"], "metrics");
    assert_eq!(port["containerPort"], 8080);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez", "{what}");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "metrics", "{what}");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{what}");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics", "{what}");
    assert_eq!(c["resources"]["requests"]["cpu"], "50m");
    assert_eq!(c["resources"]["requests"]["memory"], "64Mi");
    assert_eq!(c["resources"]["limits"]["memory"], "256Mi");

    let env = c["env"].as_array().unwrap();
    let pod_ns = env
        .iter()
        .find(|e| e["name"] == "POD_NAMESPACE")
        .expect("POD_NAMESPACE");
    assert_eq!(
        pod_ns["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );

    let a = args(docs);
    for want in [
        "--metrics-addr=0.0.0.0:8080",
        "--log-format=json",
        "--leader-election",
    ] {
        assert!(
            a.contains(&want.to_owned()),
            "{what}: {want} missing from {a:?}"
        );
    }
    let image = c["image"].as_str().unwrap();
    assert!(
        !image.ends_with(":latest") && image.contains(':'),
        "{what}: image {image}"
    );
}

#[test]
fn deployment_meets_restricted_pod_security() {
    let Some(helm) = helm_or_skip("pod security") else {
        return;
    };
    assert_restricted(&render(&helm, &[]), "default");
    assert_restricted(&render(&helm, NAMESPACED), "namespace-scoped");
    let with_ca = render(
        &helm,
        &[
            "--set",
            "salesforceCA.existingConfigMap=sim-ca",
            "--set",
            "networkPolicy.enabled=true",
        ],
    );
    assert_restricted(&with_ca, "CA ConfigMap");
    assert!(
        args(&with_ca)
            .contains(&"--salesforce-ca-file=/etc/sso-operator/salesforce-ca/ca.crt".to_owned())
    );
    let mount = &container(&with_ca)["volumeMounts"][0];
    assert!(
        mount["subPath"].is_null(),
        "mounted as a directory so updates reach the pod"
    );
}

#[test]
fn strategy_pdb_and_replicas_follow_leader_election() {
    let Some(helm) = helm_or_skip("strategy") else {
        return;
    };
    let strategy = |docs: &[Value]| {
        only(docs, "Deployment")["spec"]["strategy"]["type"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let default = render(&helm, &[]);
    assert_eq!(strategy(&default), "RollingUpdate");
    assert!(
        of_kind(&default, "PodDisruptionBudget").is_empty(),
        "no PDB for one replica"
    );
    assert!(
        of_kind(&default, "NetworkPolicy").is_empty()
            && of_kind(&default, "ServiceMonitor").is_empty()
    );

    let no_le = render(&helm, &["--set", "leaderElection.enabled=false"]);
    assert_eq!(
        strategy(&no_le),
        "Recreate",
        "without the Lease two pods must never overlap"
    );
    assert!(
        !args(&no_le)
            .iter()
            .any(|a| a.starts_with("--leader-election"))
    );
    assert!(
        of_kind(&no_le, "Role").is_empty(),
        "no Lease Role without leader election"
    );

    let ha = render(&helm, &["--set", "replicaCount=2"]);
    assert_eq!(
        only(&ha, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        1
    );

    let chart = chart_dir();
    let out = run_helm(
        &helm,
        &[
            "template",
            RELEASE,
            chart.to_str().unwrap(),
            "--set",
            "replicaCount=2",
            "--set",
            "leaderElection.enabled=false",
        ],
    );
    assert!(
        !out.status.success(),
        "replicaCount > 1 without leader election must be refused"
    );
}

// === deploy/ ===

#[test]
fn deploy_manifests_match_a_fresh_render() {
    let Some(helm) = helm_or_skip("deploy/manifests") else {
        return;
    };
    let fresh = render(&helm, &["--include-crds"]);
    let path = repo().join("deploy/manifests/sso-operator.yaml");
    let committed = parse_docs(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(
        committed.len(),
        fresh.len(),
        "{} is stale: run `make manifests`",
        path.display()
    );
    for (c, f) in committed.iter().zip(&fresh) {
        assert!(
            c == f,
            "{} is stale at {} {}: run `make manifests` (hack/render-manifests.sh)",
            path.display(),
            kind(f),
            f["metadata"]["name"]
        );
    }

    let ns = parse_docs(
        &std::fs::read_to_string(repo().join("deploy/manifests/namespace.yaml")).unwrap(),
    );
    assert_eq!(ns.len(), 1);
    assert_eq!(kind(&ns[0]), "Namespace");
    assert_eq!(ns[0]["metadata"]["name"], NAMESPACE);
    assert_eq!(
        ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );

    let k = parse_docs(&std::fs::read_to_string(repo().join("deploy/kustomization.yaml")).unwrap());
    assert_eq!(
        strs(&k[0]["resources"]),
        ["manifests/namespace.yaml", "manifests/sso-operator.yaml"]
    );
}
