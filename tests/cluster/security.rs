//! Security checks against the real kube-apiserver (limits-faults-security.md §6.6):
//! - no secret material (JWT private keys, client secrets, access tokens, JWT assertions) in the
//!   operator's logs at every level, in Events, or in the status of any resource of a run that
//!   authenticates both ways, fails authentication, re-authenticates and meets Salesforce faults;
//! - the chart's pod spec is admitted by the API server's own Pod Security admission in a namespace
//!   labelled `pod-security.kubernetes.io/enforce=restricted` (and a root pod is refused there, so
//!   the check is live).
//!
//! RBAC without Secret `list`/`watch` is proven by `deploy.rs`
//! (`k8s_operator_reaches_ready_with_only_the_charts_rbac`: the operator reaches Ready under the
//! chart's RBAC only, and `kubectl auth can-i list/watch secrets` says no) and by the offline
//! binary's `chart::rbac` (the rendered RBAC grants no list/watch on secrets).

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::e2e::{
    self, AppOpts, Env, OperatorOpts, OrgSeed, app_manifest, client_credentials_auth, jwt_auth,
    org_manifest, secret,
};
use crate::common::{cluster, repo};

const WAIT: Duration = Duration::from_secs(60);
const CC_CLIENT: &str = "3MVG9CLIENTCREDS";

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

/// What the run must never show anywhere.
struct Secrets {
    client_secret: String,
    wrong_secret: String,
    unregistered_key: String,
}

/// Orgs of every kind, each with an app or a failure: a JWT org (the environment's), a
/// client-credentials org, one with a wrong client secret, one with an unregistered key.
async fn orgs_that_authenticate_and_fail(env: &Env, secrets: &Secrets) {
    let base = env.sim.url.as_str();
    for (org, secret_name, value) in [
        ("cc", "cc-secret", &secrets.client_secret),
        ("cc-wrong", "cc-wrong-secret", &secrets.wrong_secret),
    ] {
        env.apply(&secret(
            secret_name,
            &[("client-id", CC_CLIENT), ("client-secret", value)],
        ));
        env.apply(&org_manifest(
            org,
            base,
            base,
            &client_credentials_auth(secret_name),
        ));
    }
    env.apply(&secret(
        "bad-jwt",
        &[("tls.key", &secrets.unregistered_key)],
    ));
    let auth = jwt_auth("bad-jwt", "tls.key", e2e::USERNAME, e2e::JWT_CLIENT);
    env.apply(&org_manifest("bad-jwt", base, base, &auth));
    env.apply(&app_manifest(&AppOpts::default()));
    for (name, api_name, org) in [
        ("cc-app", "Cc_SSO", "cc"),
        ("bad-app", "Bad_SSO", "bad-jwt"),
    ] {
        env.apply(&app_manifest(&AppOpts {
            name,
            api_name,
            org,
            ..Default::default()
        }));
    }
    env.wait_ready("telephony", WAIT).await;
    env.wait_ready("cc-app", WAIT).await;
    for org in ["cc-wrong", "bad-jwt"] {
        cluster::wait_for(WAIT, &format!("{org} AuthenticationFailed"), || async {
            env.org_ready(org)
                .await
                .is_some_and(|((_, reason, _), _)| reason == "AuthenticationFailed")
        })
        .await;
    }
}

/// Sessions revoked (re-authentication on the next call), then Salesforce errors; both apps
/// recover.
async fn reauthenticate_and_meet_faults(env: &Env) {
    let tokens_before = env.sim.count("token").await;
    env.sim.revoke_sessions().await;
    env.annotate_sync("telephony", "revoked");
    env.annotate_sync("cc-app", "revoked");
    cluster::wait_for(WAIT, "re-authenticated", || async {
        env.sim.count("token").await >= tokens_before + 2
    })
    .await;
    env.sim
        .fault(json!({"pathPrefix": "/services/Soap", "status": 503, "body": "down", "count": 3}))
        .await;
    env.annotate_sync("telephony", "faults");
    env.wait_ready("telephony", WAIT).await;
    env.wait_ready("cc-app", WAIT).await;
}

/// A token of the same kind the operator holds (same client, same endpoint): its exact value
/// must not appear anywhere either, and its shape (`orgId!AQ...`) tells what any token looks
/// like. Returns (token, marker).
async fn sample_token(env: &Env, client_secret: &str) -> (String, String) {
    let sample: Value = env
        .sim
        .http()
        .post(format!("{}/services/oauth2/token", env.sim.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CC_CLIENT),
            ("client_secret", client_secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = sample["access_token"].as_str().expect("token").to_string();
    let (prefix, _) = token.split_once('!').expect("orgId!opaque");
    let marker = format!("{prefix}!AQ");
    assert!(token.starts_with(&marker), "{token}");
    (token, marker)
}

/// What a user or a log pipeline can see: the operator's log, the Events, the resources.
async fn visible_text(env: &Env) -> Vec<(&'static str, String)> {
    env.wait_idle(WAIT).await;
    let mut corpus = vec![("operator log", env.operator.logs())];
    for (what, kinds) in [
        ("Events", "events"),
        ("resources", "salesforceorgs,ssoconnectedapps,configmaps"),
    ] {
        let out = env.kubectl(&["get", kinds, "-o", "yaml"]);
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
    corpus
}

/// Every needle found in `corpus`, with some context.
fn leaks(corpus: &[(&str, String)], needles: &[(String, String)]) -> Vec<String> {
    let mut leaks = Vec::new();
    for (where_, text) in corpus {
        for (what, needle) in needles {
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
    leaks
}

#[tokio::test]
async fn k8s_no_secret_material_in_logs_events_or_status() {
    let secrets = Secrets {
        client_secret: format!("cs-{:032x}", rand::random::<u128>()),
        wrong_secret: format!("wrong-{:032x}", rand::random::<u128>()),
        unregistered_key: e2e::rsa_key_pair("not-registered").key_pem,
    };
    let seed = OrgSeed {
        extra_oauth_clients: vec![e2e::secret_client(
            CC_CLIENT,
            &secrets.client_secret,
            Some(e2e::USERNAME),
        )],
        ..Default::default()
    };
    // Every level, every crate.
    let env = Env::start_with("sec-leak", seed, OperatorOpts::default().log("trace")).await;
    orgs_that_authenticate_and_fail(&env, &secrets).await;
    reauthenticate_and_meet_faults(&env).await;
    let (token, token_marker) = sample_token(&env, &secrets.client_secret).await;
    let corpus = visible_text(&env).await;

    let mut needles: Vec<(String, String)> = Vec::new();
    for (what, pem) in [
        ("JWT private key", &env.sim.key.key_pem),
        ("unregistered JWT private key", &secrets.unregistered_key),
    ] {
        for n in pem_needles(pem) {
            needles.push((what.to_string(), n));
        }
    }
    needles.push(("client secret".into(), secrets.client_secret.clone()));
    needles.push(("wrong client secret".into(), secrets.wrong_secret.clone()));
    needles.push(("an access token".into(), token_marker));
    needles.push(("the sample access token".into(), token));
    // A JWT (header `{"alg":...`) in base64url starts with eyJ; the assertion is one.
    needles.push(("a JWT assertion".into(), "eyJhbGciOi".into()));
    needles.push(("a JWT assertion".into(), "eyJ0eXAiOi".into()));
    needles.push(("a private key".into(), "PRIVATE KEY-----".into()));
    let leaks = leaks(&corpus, &needles);
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

#[tokio::test]
async fn k8s_chart_pod_spec_passes_the_restricted_pod_security_profile() {
    let ns = cluster::fresh_namespace("psa-restricted").await;
    cluster::kubectl_ok(
        &[
            "label",
            "namespace",
            &ns,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
        ],
        None,
    );
    let rendered = repo::helm_template(&cluster::helm(), &ns, &[]);
    let mut pod_spec = None;
    for v in repo::yaml_docs(&rendered) {
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
