//! Many teams, one org: a namespace deleted with its org and apps, and long resource names.

use super::*;

/// Deleting a namespace as the namespace controller does (this control plane has none): the
/// namespace is marked for deletion, then everything in it is deleted at once, its Secret first.
/// The `SalesforceOrg` waits for its apps, whose cleanup still reaches Salesforce; when nothing is
/// left the namespace is finalized and gone, and the org holds no app of it (policy Delete).
///
/// Before issue 16 the `SalesforceOrg` had no finalizer: it went at once with its Secret, every
/// app's cleanup failed forever and the namespace stayed Terminating.
#[tokio::test]
async fn k8s_tenancy_namespace_deletion_completes_and_leaks_nothing() {
    let env = Env::start("tenancy-nsdel", OrgSeed::default()).await;
    env.apply_app_ready().await;
    env.apply(&app_manifest(&AppOpts {
        name: "second",
        api_name: "Second_SSO",
        ..Default::default()
    }));
    env.wait_ready("second", SHORT).await;
    assert!(env.sim.app("Telephony_SSO").await.is_some());

    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(cluster::kubectl(&[
        "delete",
        "namespace",
        &env.ns,
        "--wait=false",
    ]));
    for kind in [
        "secrets",
        "salesforceorgs",
        "ssoconnectedapps",
        "configmaps",
    ] {
        ok(env.kubectl(&["delete", kind, "--all", "--wait=false"]));
    }
    let client = env.client.clone();
    let ns = env.ns.clone();
    let gone = cluster::poll_until(Duration::from_secs(60), || async {
        let apps = env.apps().list(&Default::default()).await;
        let orgs = env.orgs().list(&Default::default()).await;
        (apps.is_ok_and(|l| l.items.is_empty()) && orgs.is_ok_and(|l| l.items.is_empty()))
            .then_some(())
    })
    .await;
    if gone.is_none() {
        panic!(
            "apps and org not gone within 60 s: {}\noperator log tail:\n{}",
            String::from_utf8_lossy(
                &env.kubectl(&["get", "sca,salesforceorg", "-o", "yaml"])
                    .stdout
            ),
            e2e::tail(&env.operator.logs(), 40)
        );
    }
    assert!(env.sim.app("Telephony_SSO").await.is_none(), "app leaked");
    assert!(env.sim.app("Second_SSO").await.is_none(), "app leaked");

    // The namespace controller's last step: the namespace's own finalizer.
    let finalize = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns},
        "spec": {"finalizers": []},
    });
    let out = cluster::kubectl_with_stdin(
        &[
            "replace",
            "--raw",
            &format!("/api/v1/namespaces/{ns}/finalize"),
            "-f",
            "-",
        ],
        Some(&finalize.to_string()),
    );
    ok(out);
    let namespaces: Api<Namespace> = Api::all(client);
    cluster::wait_for(SHORT, "namespace gone", || async {
        namespaces.get_opt(&ns).await.is_ok_and(|n| n.is_none())
    })
    .await;
}

/// A resource name longer than a label value may be (63 characters) still publishes: no label
/// carries the name.
///
/// Before issue 16 the ConfigMap's label carried the resource name, and the API server refused
/// the ConfigMap.
#[tokio::test]
async fn k8s_tenancy_long_resource_name_publishes() {
    let env = Env::start("tenancy-long", OrgSeed::default()).await;
    let name = format!("telephony-{}", "x".repeat(90));
    env.apply(&app_manifest(&AppOpts {
        name: &name,
        ..Default::default()
    }));
    env.wait_ready(&name, SHORT).await;
    let cm = env
        .config_map(&format!("{name}-idp-metadata"))
        .await
        .expect("the ConfigMap");
    assert!(cm.contains_key("metadata.xml"));
}
