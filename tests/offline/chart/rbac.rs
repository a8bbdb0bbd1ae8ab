//! The chart's RBAC: least privilege (no wildcards, Secrets get-only, no escalation), exactly
//! the grants the operator uses, and no cluster-scoped RBAC in a namespace-scoped render.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{
    NAMESPACE, NAMESPACED, WATCHED, args, helm_or_skip, kind, of_kind, only, render, strs,
};

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
