//! Salesforce faults (run by `make test-faults`): the operator as a process against the real
//! kube-apiserver and `salesforce-sim` with injected faults (`/__sim/faults`, `/__sim/limits`,
//! `/__sim/sessions/revoke`): errors on every SOAP call, an expired session, the daily
//! allocation running out, a deletion while Salesforce is down.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::e2e::{AppOpts, Env, OperatorOpts, OrgSeed, app_manifest};
use crate::common::{cluster, sim};

const SHORT: Duration = Duration::from_secs(30);
const RECOVERY: Duration = Duration::from_secs(60);
const CM: &str = "telephony-idp-metadata";

fn log_entries(calls: &Value) -> Vec<Value> {
    calls["log"].as_array().cloned().unwrap_or_default()
}

/// A fault on every SOAP call, and what the app must report: (name, rule, reason, in the message).
fn soap_faults() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let soap = "/services/Soap";
    vec![
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
    ]
}

/// Requests the only active fault rule matched (its count of 100 000 goes down by one per
/// request; the call log misses requests the client gave up on, e.g. after a timeout).
async fn faulted_requests(env: &Env) -> usize {
    let active = env.sim.active_faults().await;
    let left = active.first().and_then(|r| r["count"].as_u64());
    100_000 - left.unwrap_or(100_000) as usize
}

/// One fault on a Ready app: `Ready=False` with `reason` and `needle`, the ConfigMap kept, few
/// attempts (per-object backoff), recovery once cleared, no write. Returns what failed.
async fn fault_case(
    env: &Env,
    i: usize,
    (name, mut rule, reason, needle): (&str, Value, &str, &str),
    good: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    rule["count"] = json!(100_000);
    env.sim.reset_calls().await;
    env.sim.fault(rule).await;
    let t = Instant::now();
    env.annotate_sync("telephony", &format!("fault-{i}"));
    let not_ready = cluster::poll_until(SHORT, || async {
        env.condition("telephony", "Ready")
            .await
            .filter(|c| c.0 == "False")
    })
    .await;
    let Some((_, got_reason, msg)) = not_ready else {
        env.sim.clear_faults().await;
        return vec![format!("{name}: Ready never became False")];
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
    if env.config_map_data(CM).await != *good {
        failures.push(format!("{name}: the ConfigMap changed during the fault"));
    }
    // Let the per-object backoff run for a few seconds: attempts stay few (1 s doubling).
    let faulted = Instant::now();
    cluster::wait_for(SHORT, "a second attempt", || async {
        faulted_requests(env).await >= 2
    })
    .await;
    let attempts = faulted_requests(env).await;
    let window = faulted.elapsed() + t.elapsed();
    if attempts > 8 {
        failures.push(format!(
            "{name}: {attempts} faulted calls within {window:?}: no backoff"
        ));
    }
    env.sim.clear_faults().await;
    let r = Instant::now();
    let ready = || async {
        let c = env.condition("telephony", "Ready").await;
        c.is_some_and(|c| c.0 == "True").then_some(())
    };
    if cluster::poll_until(RECOVERY, ready).await.is_none() {
        failures.push(format!("{name}: no recovery within {RECOVERY:?}"));
    } else {
        eprintln!("[{name}] recovered {:?} after clearing", r.elapsed());
    }
    if !env.sim.writes_of("Telephony_SSO").await.is_empty() {
        failures.push(format!(
            "{name}: Salesforce writes during a fault on an app in sync"
        ));
    }
    failures
}

/// Salesforce faults on every SOAP call: Ready=False with the specific reason and a message naming
/// the fault, the last good ConfigMap kept, per-object backoff (few attempts), and recovery without
/// help once the fault is cleared. Timeouts use `--salesforce-timeout-seconds 3` and 6 s latency.
#[tokio::test]
async fn k8s_fault_salesforce_errors_give_reasons_and_recover() {
    let short_calls = OperatorOpts::args(&["--salesforce-timeout-seconds", "3"]);
    let env = Env::start_with("flt-sf", OrgSeed::default(), short_calls).await;
    env.apply_app_ready().await;
    let good = env.config_map_data(CM).await;
    let mut failures = Vec::new();
    for (i, case) in soap_faults().into_iter().enumerate() {
        failures.extend(fault_case(&env, i, case, &good).await);
    }
    assert_eq!(env.config_map_data(CM).await, good);
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
    env.apply_app_ready().await;
    env.sim.reset_calls().await;
    env.sim.revoke_sessions().await;
    env.annotate_sync("telephony", "after-revoke");
    cluster::wait_for(SHORT, "the app re-read after the revoke", || async {
        env.sim.count("readMetadata").await >= 2
    })
    .await;
    env.wait_idle(SHORT).await;
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
    let quota_pause = OperatorOpts::args(&["--quota-backoff-seconds", "15"]);
    let env = Env::start_with("flt-quota", OrgSeed::default(), quota_pause).await;
    env.apply_app_ready().await;
    let max = env.sim.state().await["apiUsage"]["max"].as_u64().unwrap();
    env.sim.reset_calls().await;
    env.sim.limits(json!({"used": max})).await;
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
        .filter(|e| sim::names(e, "Second_SSO"))
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
    env.sim.limits(json!({"used": 0})).await;
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
    env.apply_app_ready().await;
    env.sim.reset_calls().await;
    env.sim
        .fault(json!({"pathPrefix": "/services", "status": 503, "body": "down", "count": 100000}))
        .await;
    env.delete_app("telephony").await;
    cluster::wait_for(SHORT, "two failed deletion attempts", || async {
        let log = env.sim.log().await;
        log.iter().filter(|e| e["injected"] == true).count() >= 2
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
    env.sim.clear_faults().await;
    let t = Instant::now();
    env.wait_deleted("telephony", RECOVERY).await;
    eprintln!(
        "deletion completed {:?} after the fault cleared",
        t.elapsed()
    );
    assert!(env.sim.app("Telephony_SSO").await.is_none(), "app deleted");
}
