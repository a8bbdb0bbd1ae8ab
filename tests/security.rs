//! Security checks against the real kube-apiserver (limits-faults-security.md §6.6):
//! - no secret material (JWT private keys, client secrets, access tokens, JWT assertions) in the
//!   operator's logs at every level, in Events, or in the status of any resource of a run that
//!   authenticates both ways, fails authentication, re-authenticates and meets Salesforce faults;
//! - the chart's pod spec is admitted by the API server's own Pod Security admission in a namespace
//!   labelled `pod-security.kubernetes.io/enforce=restricted` (and a root pod is refused there, so
//!   the check is live).
//!
//! RBAC without Secret `list`/`watch` is proven by `tests/deploy.rs`
//! (`k8s_operator_reaches_ready_with_only_the_charts_rbac`: the operator reaches Ready under the
//! chart's RBAC only, and `kubectl auth can-i list/watch secrets` says no) and by `tests/chart.rs`
//! (the rendered RBAC grants no list/watch on secrets).

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;

use std::process::Command;
use std::time::Duration;

use e2e::{AppOpts, Env, OrgSeed, app_manifest};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const CC_CLIENT: &str = "3MVG9CLIENTCREDS";

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// Pieces of a PEM that would betray a leak: the whole text and every full base64 line.
fn pem_needles(pem: &str) -> Vec<String> {
    let mut v = vec![pem.trim().to_string()];
    v.extend(
        pem.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
            .map(str::to_string),
    );
    v
}

fn app_of(name: &str, api: &str, org: &str) -> String {
    app_manifest(&AppOpts {
        name,
        api_name: api,
        ..Default::default()
    })
    .replace(
        &format!("orgRef: {{name: {}}}", e2e::ORG),
        &format!("orgRef: {{name: {org}}}"),
    )
}

#[tokio::test]
async fn k8s_no_secret_material_in_logs_events_or_status() {
    let client_secret = format!("cs-{:032x}", rand::random::<u128>());
    let wrong_secret = format!("wrong-{:032x}", rand::random::<u128>());
    let seed = OrgSeed {
        extra_oauth_clients: vec![e2e::secret_client(
            CC_CLIENT,
            &client_secret,
            Some(e2e::USERNAME),
        )],
        ..Default::default()
    };
    let mut env = Env::start("sec-leak", seed).await;
    // Every level, every crate.
    env.operator.kill();
    env.operator = e2e::Operator::start_env(
        &env.ns,
        &env.sim,
        env.sim.dir.path(),
        &[],
        &[("RUST_LOG", "trace")],
    );
    let base = env.sim.base.clone();
    let unregistered_key = e2e::rsa_key_pair("not-registered").key_pem;

    // A client-credentials org, one with a wrong client secret, one with an unregistered key.
    let cc_org = |name: &str, secret: &str, value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {secret}}}\nstringData:\n  client-id: {CC_CLIENT}\n  client-secret: {value}\n---\napiVersion: sso-operator.dev/v1alpha1\nkind: SalesforceOrg\nmetadata: {{name: {name}}}\nspec:\n  instanceUrl: {base}\n  login: {{url: {base}}}\n  auth:\n    clientCredentials: {{secretRef: {{name: {secret}}}}}\n"
        )
    };
    env.apply(&cc_org("cc", "cc-secret", &client_secret));
    env.apply(&cc_org("cc-wrong", "cc-wrong-secret", &wrong_secret));
    env.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: bad-jwt}}\nstringData:\n  tls.key: |\n{}---\napiVersion: sso-operator.dev/v1alpha1\nkind: SalesforceOrg\nmetadata: {{name: bad-jwt}}\nspec:\n  instanceUrl: {base}\n  login: {{url: {base}}}\n  auth:\n    jwtBearer: {{clientId: {}, username: {}, privateKeySecretRef: {{name: bad-jwt}}}}\n",
        indent(&unregistered_key, 4),
        e2e::JWT_CLIENT,
        e2e::USERNAME
    ));
    env.apply(&app_manifest(&AppOpts::default()));
    env.apply(&app_of("cc-app", "Cc_SSO", "cc"));
    env.apply(&app_of("bad-app", "Bad_SSO", "bad-jwt"));
    env.wait_ready("telephony", WAIT).await;
    env.wait_ready("cc-app", WAIT).await;
    for org in ["cc-wrong", "bad-jwt"] {
        cluster::wait_for(WAIT, &format!("{org} AuthenticationFailed"), || async {
            env.orgs()
                .get_opt(org)
                .await
                .ok()
                .flatten()
                .and_then(|o| o.status)
                .is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.reason == "AuthenticationFailed")
                })
        })
        .await;
    }

    // Sessions revoked (re-authentication on the next call), then Salesforce errors.
    let tokens_before = env.sim.count("token").await;
    let http = reqwest::Client::builder()
        .tls_certs_only(
            reqwest::Certificate::from_pem_bundle(&std::fs::read(&env.sim.ca_file).unwrap())
                .unwrap(),
        )
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/__sim/sessions/revoke", env.sim.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.annotate_sync("telephony", "revoked");
    env.annotate_sync("cc-app", "revoked");
    cluster::wait_for(WAIT, "re-authenticated", || async {
        env.sim.count("token").await >= tokens_before + 2
    })
    .await;
    env.sim
        .control(
            "/__sim/faults",
            json!({"pathPrefix": "/services/Soap", "status": 503, "body": "down", "count": 3}),
        )
        .await;
    env.annotate_sync("telephony", "faults");
    env.wait_ready("telephony", WAIT).await;
    env.wait_ready("cc-app", WAIT).await;

    // A token of the same kind the operator holds (same client, same endpoint): its exact value
    // must not appear anywhere either, and its shape tells us what any token looks like.
    let sample: Value = http
        .post(format!("{}/services/oauth2/token", env.sim.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CC_CLIENT),
            ("client_secret", client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sample_token = sample["access_token"].as_str().expect("token").to_string();
    let (token_prefix, _) = sample_token.split_once('!').expect("orgId!opaque");
    let token_marker = format!("{token_prefix}!AQ");
    assert!(sample_token.starts_with(&token_marker), "{sample_token}");

    // Collect what a user or a log pipeline can see.
    let port = env.operator.metrics_port;
    cluster::wait_for(WAIT, "operator idle", || {
        e2e::operator_idle(port, "ssoconnectedapp")
    })
    .await;
    let mut corpus: Vec<(&str, String)> = vec![("operator log", env.operator.logs())];
    for (what, args) in [
        ("Events", vec!["get", "events", "-o", "yaml"]),
        (
            "resources",
            vec![
                "get",
                "salesforceorgs,ssoconnectedapps,configmaps",
                "-o",
                "yaml",
            ],
        ),
    ] {
        let out = env.kubectl(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        corpus.push((what, String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    assert!(
        corpus[0].1.len() > 10_000 && corpus[0].1.contains("TRACE"),
        "trace-level logs captured"
    );
    assert!(
        corpus[1].1.contains("AuthenticationFailed"),
        "Events captured"
    );

    let mut needles: Vec<(String, String)> = Vec::new();
    for (what, pem) in [
        ("JWT private key", env.sim.key_pem.clone()),
        ("unregistered JWT private key", unregistered_key.clone()),
    ] {
        for n in pem_needles(&pem) {
            needles.push((what.to_string(), n));
        }
    }
    needles.push(("client secret".into(), client_secret.clone()));
    needles.push(("wrong client secret".into(), wrong_secret.clone()));
    needles.push(("an access token".into(), token_marker.clone()));
    needles.push(("the sample access token".into(), sample_token.clone()));
    // A JWT (header `{"alg":...`) in base64url starts with eyJ; the assertion is one.
    needles.push(("a JWT assertion".into(), "eyJhbGciOi".into()));
    needles.push(("a JWT assertion".into(), "eyJ0eXAiOi".into()));
    needles.push(("a private key".into(), "PRIVATE KEY-----".into()));
    let mut leaks = Vec::new();
    for (where_, text) in &corpus {
        for (what, needle) in &needles {
            if let Some(pos) = text.find(needle.as_str()) {
                let from = text[..pos]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let to = (pos + needle.len() + 40).min(text.len());
                let to = (to..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap();
                leaks.push(format!("{what} in {where_}: ...{}...", &text[from..to]));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secret material found:\n{}",
        leaks.join("\n")
    );
    eprintln!(
        "searched {} bytes of logs, {} of Events, {} of resources for {} needles",
        corpus[0].1.len(),
        corpus[1].1.len(),
        corpus[2].1.len(),
        needles.len()
    );
}

fn helm() -> std::path::PathBuf {
    let h = cluster::cluster().kubectl.with_file_name("helm");
    assert!(h.exists(), "no helm next to kubectl at {}", h.display());
    h
}

#[tokio::test]
async fn k8s_chart_pod_spec_passes_the_restricted_pod_security_profile() {
    let ns = cluster::fresh_namespace("psa-restricted").await;
    let out = cluster::kubectl(&[
        "label",
        "namespace",
        &ns,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chart = cluster::repo_root().join("charts/sso-operator");
    let out = Command::new(helm())
        .args([
            "template",
            "sso-operator",
            chart.to_str().unwrap(),
            "-n",
            &ns,
        ])
        .output()
        .expect("helm template");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8(out.stdout).unwrap();
    let mut pod_spec = None;
    for doc in serde_norway::Deserializer::from_str(&rendered) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] == "Deployment" {
            pod_spec = Some(v["spec"]["template"].clone());
        }
    }
    let template = pod_spec.expect("the chart renders a Deployment");
    // The API server's Pod Security admission checks Pods (a Deployment only gets a warning).
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "chart-pod", "labels": template["metadata"]["labels"].clone()},
        "spec": template["spec"].clone(),
    });
    let apply = |pod: &Value| {
        cluster::kubectl_with_stdin(
            &["apply", "--dry-run=server", "-n", &ns, "-f", "-"],
            Some(&serde_json::to_string(pod).unwrap()),
        )
    };
    let out = apply(&pod);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the chart's pod is refused under enforce=restricted: {stderr}"
    );
    assert!(!stderr.contains("would violate"), "{stderr}");

    // Control: the same pod as root with privilege escalation is refused, so the check is live.
    let mut bad = pod.clone();
    bad["metadata"]["name"] = json!("root-pod");
    bad["spec"]["securityContext"]["runAsNonRoot"] = json!(false);
    for c in bad["spec"]["containers"].as_array_mut().unwrap() {
        c["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    }
    let out = apply(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "a root pod was admitted");
    assert!(
        stderr.contains("violates PodSecurity \"restricted:latest\""),
        "{stderr}"
    );
}
