//! Fault suite (run by `make test-faults`): the operator as a process against the real
//! kube-apiserver and `salesforce-sim` with injected faults (`/__sim/faults`, `/__sim/limits`,
//! `/__sim/sessions/revoke`). Each test asserts an outcome (a condition reason, a count of
//! Salesforce calls, what the org holds) and waits on it with a timeout, never a fixed sleep.
//! The API-server restart and watch-expiry faults need a private control plane: see
//! `tests/faults_apiserver.rs`.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;

use std::time::{Duration, Instant};

use e2e::{AppOpts, Env, OrgSeed, Sim, app_manifest};
use kube::api::DeleteParams;
use serde_json::{Value, json};

const SHORT: Duration = Duration::from_secs(30);
const RECOVERY: Duration = Duration::from_secs(60);

/// Rules still waiting to fire (a rule disappears once its `count` is used up, i.e. as soon as
/// its last matching request arrived, before any injected latency has passed).
async fn active_faults(sim: &Sim) -> usize {
    let (_, body) = sim.get("/__sim/faults").await;
    serde_json::from_str::<Value>(&body).expect("faults json")["active"]
        .as_array()
        .map_or(0, Vec::len)
}

fn log_entries(calls: &Value) -> Vec<Value> {
    calls["log"].as_array().cloned().unwrap_or_default()
}

async fn cm_data(env: &Env, name: &str) -> std::collections::BTreeMap<String, String> {
    env.config_maps()
        .get(name)
        .await
        .expect("configmap")
        .data
        .unwrap_or_default()
}

async fn warning_reasons(env: &Env) -> String {
    let out = env.kubectl(&[
        "get",
        "events",
        "--field-selector",
        "type=Warning",
        "-o",
        "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SIGKILL after the app was created in Salesforce and before any status was written: the next
/// operator recognises the app by its ownership marker. Exactly one upsert, no Conflict.
#[tokio::test]
async fn k8s_fault_sigkill_between_create_and_status_write() {
    let mut env = Env::start("flt-kill", OrgSeed::default()).await;
    // The per-app metadata fetch comes right after the create; hold it for 60 s to open a window.
    env.sim
        .control(
            "/__sim/faults",
            json!({"pathPrefix": "/.well-known/samlidp/Telephony_SSO.xml", "latencyMs": 60000, "count": 1}),
        )
        .await;
    env.apply(&app_manifest(&AppOpts::default()));
    cluster::wait_for(
        SHORT,
        "app created and its metadata fetch in flight",
        || async {
            env.sim.writes_of("Telephony_SSO").await.len() == 1
                && active_faults(&env.sim).await == 0
        },
    )
    .await;
    assert!(env.sim.app("Telephony_SSO").await.is_some());
    let st = env.apps().get("telephony").await.unwrap().status;
    assert!(
        st.as_ref()
            .is_none_or(|s| s.conditions.iter().all(|c| c.type_ != "AppReady")),
        "the window is before the status write, status was {st:?}"
    );
    env.operator.kill(); // SIGKILL
    env.operator = e2e::Operator::start(&env.ns, &env.sim, env.sim.dir.path(), &[]);
    env.wait_ready("telephony", SHORT).await;
    let writes = env.sim.writes_of("Telephony_SSO").await;
    assert_eq!(writes.len(), 1, "exactly one upsert in total: {writes:?}");
    let (_, reason, _) = env.condition("telephony", "AppReady").await.unwrap();
    assert_eq!(reason, "Synced");
    let warnings = warning_reasons(&env).await;
    assert!(
        !warnings.contains("Conflict"),
        "Conflict reported: {warnings}"
    );
    let app = env.sim.app("Telephony_SSO").await.unwrap();
    assert!(
        app["description"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{}/telephony (uid ", env.ns))
    );
}

/// SIGTERM while a reconcile waits on Salesforce: exit 0 within the 25 s drain budget; a change
/// made while the operator is down is finished by the next start, without a duplicate create.
#[tokio::test]
async fn k8s_fault_sigterm_during_reconcile_exits_cleanly_and_next_start_finishes() {
    let mut env = Env::start("flt-term", OrgSeed::default()).await;
    env.sim
        .control(
            "/__sim/faults",
            json!({"pathPrefix": "/.well-known/samlidp/Telephony_SSO.xml", "latencyMs": 3000, "count": 1}),
        )
        .await;
    env.apply(&app_manifest(&AppOpts::default()));
    cluster::wait_for(
        SHORT,
        "reconcile in flight (metadata fetch held)",
        || async {
            env.sim.writes_of("Telephony_SSO").await.len() == 1
                && active_faults(&env.sim).await == 0
        },
    )
    .await;
    let t = Instant::now();
    let status = env.operator.terminate().expect("exit status");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
    eprintln!("exited {:?} after SIGTERM", t.elapsed());

    // Work arrives while no operator runs.
    env.apply(&app_manifest(&AppOpts {
        acs_url: "https://sso.vendor.example/saml/acs2",
        ..Default::default()
    }));
    env.operator = e2e::Operator::start(&env.ns, &env.sim, env.sim.dir.path(), &[]);
    cluster::wait_for(SHORT, "generation 2 Ready", || async {
        env.apps()
            .get("telephony")
            .await
            .ok()
            .and_then(|a| a.status)
            .is_some_and(|s| {
                s.observed_generation == Some(2)
                    && s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
            })
    })
    .await;
    assert_eq!(
        env.sim.app("Telephony_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs2"
    );
    let writes = env.sim.writes_of("Telephony_SSO").await;
    assert_eq!(writes.len(), 2, "one create, one update: {writes:?}");
}

/// Salesforce faults on every SOAP call: Ready=False with the specific reason and a message naming
/// the fault, the last good ConfigMap kept, per-object backoff (few attempts), and recovery without
/// help once the fault is cleared. Timeouts use `--salesforce-timeout-seconds 3` and 6 s latency.
#[tokio::test]
async fn k8s_fault_salesforce_errors_give_reasons_and_recover() {
    let env = Env::start_with(
        "flt-sf",
        OrgSeed::default(),
        &["--salesforce-timeout-seconds", "3"],
    )
    .await;
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", SHORT).await;
    let good = cm_data(&env, "telephony-idp-metadata").await;
    let soap = "/services/Soap";
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "HTTP 503",
            json!({"pathPrefix": soap, "status": 503, "body": "Service Unavailable"}),
            "SalesforceUnavailable",
            "HTTP 503",
        ),
        (
            "HTTP 500 without a SOAP body",
            json!({"pathPrefix": soap, "status": 500, "body": "<html>oops</html>", "contentType": "text/html"}),
            "SalesforceUnavailable",
            "HTTP 500",
        ),
        (
            "connection reset",
            json!({"pathPrefix": soap, "reset": true}),
            "SalesforceUnavailable",
            "network error",
        ),
        (
            "truncated body",
            json!({"pathPrefix": soap, "truncate": true}),
            "SalesforceUnavailable",
            "network error",
        ),
        (
            "HTML maintenance page with HTTP 200",
            json!({"pathPrefix": soap, "html": true}),
            "SalesforceUnavailable",
            "unusable response",
        ),
        (
            "timeout (latency beyond the call deadline)",
            json!({"pathPrefix": soap, "latencyMs": 6000}),
            "SalesforceUnavailable",
            "network error",
        ),
        (
            "SOAP fault UNKNOWN_EXCEPTION",
            json!({"pathPrefix": soap, "soapFault": {"code": "sf:UNKNOWN_EXCEPTION", "message": "UNKNOWN_EXCEPTION: An unexpected error occurred"}}),
            "SalesforceUnavailable",
            "UNKNOWN_EXCEPTION",
        ),
        (
            "concurrent request limit",
            json!({"pathPrefix": soap, "soapFault": {"code": "sf:REQUEST_LIMIT_EXCEEDED", "message": "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded."}}),
            "SalesforceUnavailable",
            "concurrent request limit",
        ),
    ];
    let mut failures = Vec::new();
    for (i, (name, mut rule, reason, needle)) in cases.into_iter().enumerate() {
        rule["count"] = json!(100_000);
        env.sim.control("/__sim/calls/reset", json!({})).await;
        env.sim.control("/__sim/faults", rule).await;
        let t = Instant::now();
        env.annotate_sync("telephony", &format!("fault-{i}"));
        let got = tokio::time::timeout(SHORT, async {
            loop {
                if let Some(c) = env.condition("telephony", "Ready").await
                    && c.0 == "False"
                {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        let Ok((_, got_reason, msg)) = got else {
            failures.push(format!("{name}: Ready never became False"));
            env.sim.delete("/__sim/faults").await;
            continue;
        };
        eprintln!(
            "[{name}] Ready=False after {:?}: {got_reason}: {msg}",
            t.elapsed()
        );
        if got_reason != reason || !msg.contains(needle) {
            failures.push(format!(
                "{name}: expected {reason} with {needle:?}, got {got_reason}: {msg}"
            ));
        }
        if cm_data(&env, "telephony-idp-metadata").await != good {
            failures.push(format!("{name}: the ConfigMap changed during the fault"));
        }
        // Let the per-object backoff run for a few seconds: attempts stay few (1 s doubling).
        let faulted = Instant::now();
        // Attempts = requests the rule matched (its count goes down by one per request; the
        // call log misses requests the client gave up on, e.g. after a timeout).
        let reads = || async {
            let (_, body) = env.sim.get("/__sim/faults").await;
            let v: Value = serde_json::from_str(&body).expect("faults json");
            100_000 - v["active"][0]["count"].as_u64().unwrap_or(100_000) as usize
        };
        cluster::wait_for(SHORT, "a second attempt", || async { reads().await >= 2 }).await;
        let attempts = reads().await;
        let window = faulted.elapsed() + t.elapsed();
        if attempts > 8 {
            failures.push(format!(
                "{name}: {attempts} faulted calls within {window:?}: no backoff"
            ));
        }
        env.sim.delete("/__sim/faults").await;
        let r = Instant::now();
        let recovered = tokio::time::timeout(RECOVERY, env.wait_ready("telephony", RECOVERY)).await;
        if recovered.is_err() {
            failures.push(format!("{name}: no recovery within {RECOVERY:?}"));
        } else {
            eprintln!("[{name}] recovered {:?} after clearing", r.elapsed());
        }
        if !env.sim.writes_of("Telephony_SSO").await.is_empty() {
            failures.push(format!(
                "{name}: Salesforce writes during a fault on an app in sync"
            ));
        }
    }
    assert_eq!(cm_data(&env, "telephony-idp-metadata").await, good);
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}

/// An expired session (all tokens revoked): exactly one re-authentication and one retry, and the
/// app stays Ready.
#[tokio::test]
async fn k8s_fault_expired_session_reauthenticates_once() {
    let env = Env::start("flt-session", OrgSeed::default()).await;
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", SHORT).await;
    env.sim.control("/__sim/calls/reset", json!({})).await;
    let r = reqwest::Client::builder()
        .tls_certs_only(
            reqwest::Certificate::from_pem_bundle(&std::fs::read(&env.sim.ca_file).unwrap())
                .unwrap(),
        )
        .build()
        .unwrap()
        .post(format!("{}/__sim/sessions/revoke", env.sim.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.annotate_sync("telephony", "after-revoke");
    cluster::wait_for(SHORT, "the app re-read after the revoke", || async {
        env.sim.count("readMetadata").await >= 2
    })
    .await;
    let port = env.operator.metrics_port;
    cluster::wait_for(SHORT, "operator idle", || {
        e2e::operator_idle(port, "ssoconnectedapp")
    })
    .await;
    assert_eq!(env.sim.count("token").await, 1, "exactly one re-auth");
    let calls = env.sim.calls().await;
    let invalid = log_entries(&calls)
        .iter()
        .filter(|e| e["status"] == 500 && e["injected"].is_null())
        .count();
    assert_eq!(
        invalid, 1,
        "one call refused with INVALID_SESSION_ID, then retried: {calls}"
    );
    let (status, reason, _) = env.condition("telephony", "Ready").await.unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Synced"));
}

/// The daily allocation runs out: ApiLimitExceeded, the whole org pauses (a second app makes no
/// call at all), no re-authentication, no writes; the pending change is made once the allocation
/// is back and the pause (`--quota-backoff-seconds 15`) is over.
#[tokio::test]
async fn k8s_fault_daily_allocation_exhausted_pauses_the_org() {
    let env = Env::start_with(
        "flt-quota",
        OrgSeed::default(),
        &["--quota-backoff-seconds", "15"],
    )
    .await;
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", SHORT).await;
    let max = env.sim.state().await["apiUsage"]["max"].as_u64().unwrap();
    env.sim.control("/__sim/calls/reset", json!({})).await;
    env.sim.control("/__sim/limits", json!({"used": max})).await;
    env.apply(&app_manifest(&AppOpts {
        acs_url: "https://sso.vendor.example/saml/acs2",
        ..Default::default()
    }));
    let (_, _, msg) = env
        .wait_condition(
            "telephony",
            "Ready",
            "False",
            Some("ApiLimitExceeded"),
            SHORT,
        )
        .await;
    assert!(msg.contains("allocation"), "{msg}");
    let paused_at = Instant::now();
    // A second app of the same org during the pause: refused without any call.
    env.apply(&app_manifest(&AppOpts {
        name: "second",
        api_name: "Second_SSO",
        ..Default::default()
    }));
    env.wait_condition("second", "Ready", "False", Some("ApiLimitExceeded"), SHORT)
        .await;
    let calls = env.sim.calls().await;
    assert!(
        paused_at.elapsed() < Duration::from_secs(15),
        "the checks above must run within the pause"
    );
    assert_eq!(
        calls["counts"]["token"].as_u64().unwrap_or(0),
        0,
        "no re-auth: {calls}"
    );
    assert_eq!(env.sim.writes().await, 0, "no writes while paused: {calls}");
    let second_calls = log_entries(&calls)
        .iter()
        .filter(|e| {
            e["fullNames"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x == "Second_SSO"))
        })
        .count();
    assert_eq!(
        second_calls, 0,
        "org-wide pause: the second app made no call: {calls}"
    );
    let api_calls = log_entries(&calls)
        .iter()
        .filter(|e| e["operation"] != "idpMetadata")
        .count();
    assert!(
        api_calls <= 2,
        "at most the calls that found the limit (one per controller): {calls}"
    );

    // The allocation returns: the pending change is made once, both apps converge, no re-auth.
    env.sim.control("/__sim/limits", json!({"used": 0})).await;
    cluster::wait_for(RECOVERY, "acsUrl updated after the pause", || async {
        env.sim
            .app("Telephony_SSO")
            .await
            .is_some_and(|a| a["samlConfig"]["acsUrl"] == "https://sso.vendor.example/saml/acs2")
    })
    .await;
    eprintln!("resumed {:?} after the pause began", paused_at.elapsed());
    assert!(
        paused_at.elapsed() >= Duration::from_secs(10),
        "writes resumed before the pause ended"
    );
    env.wait_ready("telephony", RECOVERY).await;
    env.wait_ready("second", RECOVERY).await;
    assert_eq!(env.sim.writes_of("Telephony_SSO").await.len(), 1);
    assert_eq!(env.sim.writes_of("Second_SSO").await.len(), 1);
    assert_eq!(env.sim.count("token").await, 0, "still no re-auth");
}

/// Deleting a resource (policy Delete) while Salesforce is down: the finalizer stays, the
/// deletion is retried with backoff, and completes once Salesforce is back.
#[tokio::test]
async fn k8s_fault_deletion_while_salesforce_is_down_keeps_the_finalizer() {
    let env = Env::start("flt-delete", OrgSeed::default()).await;
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", SHORT).await;
    env.sim.control("/__sim/calls/reset", json!({})).await;
    env.sim
        .control(
            "/__sim/faults",
            json!({"pathPrefix": "/services", "status": 503, "body": "down", "count": 100000}),
        )
        .await;
    env.apps()
        .delete("telephony", &DeleteParams::default())
        .await
        .unwrap();
    cluster::wait_for(SHORT, "two failed deletion attempts", || async {
        log_entries(&env.sim.calls().await)
            .iter()
            .filter(|e| e["injected"] == true)
            .count()
            >= 2
    })
    .await;
    let app = env
        .apps()
        .get_opt("telephony")
        .await
        .unwrap()
        .expect("resource kept while Salesforce is down");
    assert!(app.metadata.deletion_timestamp.is_some());
    assert!(
        app.metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == "sso-operator.dev/cleanup")
    );
    assert!(env.sim.app("Telephony_SSO").await.is_some());
    env.sim.delete("/__sim/faults").await;
    let t = Instant::now();
    cluster::wait_for(
        RECOVERY,
        "resource gone after Salesforce is back",
        || async { env.apps().get_opt("telephony").await.unwrap().is_none() },
    )
    .await;
    eprintln!(
        "deletion completed {:?} after the fault cleared",
        t.elapsed()
    );
    assert!(env.sim.app("Telephony_SSO").await.is_none(), "app deleted");
}
