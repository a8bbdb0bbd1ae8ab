//! The chart's Deployment: the restricted Pod Security profile, probes, resources, strategy and
//! PDB following leader election; and `deploy/manifests/` equal to a fresh render.

use serde_json::Value;

use super::{
    NAMESPACE, NAMESPACED, RELEASE, args, chart_dir, container, helm_or_skip, kind, of_kind, only,
    render, run_helm, strs,
};
use crate::common::repo;

/// The pod of the Deployment meets the restricted profile: no host namespaces, non-root, the
/// default seccomp profile, allowed volume types only.
fn assert_restricted_pod(docs: &[Value], what: &str) {
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
}

/// The operator's container meets the restricted profile and runs as the chart means it to:
/// probes on the metrics port, resources, `POD_NAMESPACE`, the flags, a pinned image.
fn assert_restricted(docs: &[Value], what: &str) {
    assert_restricted_pod(docs, what);
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

#[test]
fn deploy_manifests_match_a_fresh_render() {
    let Some(helm) = helm_or_skip("deploy/manifests") else {
        return;
    };
    let fresh = render(&helm, &["--include-crds"]);
    let path = repo::repo_root().join("deploy/manifests/sso-operator.yaml");
    let committed = repo::yaml_docs(&std::fs::read_to_string(&path).unwrap());
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

    let ns = repo::yaml_docs(
        &std::fs::read_to_string(repo::repo_root().join("deploy/manifests/namespace.yaml"))
            .unwrap(),
    );
    assert_eq!(ns.len(), 1);
    assert_eq!(kind(&ns[0]), "Namespace");
    assert_eq!(ns[0]["metadata"]["name"], NAMESPACE);
    assert_eq!(
        ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );

    let k = repo::yaml_docs(
        &std::fs::read_to_string(repo::repo_root().join("deploy/kustomization.yaml")).unwrap(),
    );
    assert_eq!(
        strs(&k[0]["resources"]),
        ["manifests/namespace.yaml", "manifests/sso-operator.yaml"]
    );
}
