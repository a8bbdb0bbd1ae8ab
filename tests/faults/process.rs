//! Faults of the operator process: SIGKILL between the create in Salesforce and the status
//! write, SIGTERM in the middle of a reconcile.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::cluster;
use crate::common::e2e::{AppOpts, Env, OrgSeed, app_manifest};

const SHORT: Duration = Duration::from_secs(30);
/// The per-app metadata download, which comes right after the create.
const METADATA: &str = "/.well-known/samlidp/Telephony_SSO.xml";

/// An environment whose default app was just created in Salesforce, with its metadata fetch
/// held for `hold_ms` (it comes right after the create): the window between the create and
/// the status write.
async fn start_in_the_window(prefix: &str, hold_ms: u64) -> Env {
    let env = Env::start(prefix, OrgSeed::default()).await;
    env.sim
        .fault(json!({"pathPrefix": METADATA, "latencyMs": hold_ms, "count": 1}))
        .await;
    env.apply(&app_manifest(&AppOpts::default()));
    cluster::wait_for(
        SHORT,
        "app created and its metadata fetch in flight",
        || async {
            env.sim.writes_of("Telephony_SSO").await.len() == 1
                && env.sim.active_faults().await.is_empty()
        },
    )
    .await;
    env
}

/// Reasons of the Warning Events in the namespace, one a line.
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
    // The metadata fetch held for 60 s: the status write cannot come before the SIGKILL.
    let mut env = start_in_the_window("flt-kill", 60_000).await;
    assert!(env.sim.app("Telephony_SSO").await.is_some());
    let st = env.apps().get("telephony").await.unwrap().status;
    assert!(
        st.as_ref()
            .is_none_or(|s| s.conditions.iter().all(|c| c.type_ != "AppReady")),
        "the window is before the status write, status was {st:?}"
    );
    env.restart_operator(); // SIGKILL, and a fresh start
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
    let mut env = start_in_the_window("flt-term", 3000).await;
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
    env.restart_operator();
    env.wait_ready_at("telephony", 2, SHORT).await;
    assert_eq!(
        env.sim.app("Telephony_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs2"
    );
    let writes = env.sim.writes_of("Telephony_SSO").await;
    assert_eq!(writes.len(), 2, "one create, one update: {writes:?}");
}
