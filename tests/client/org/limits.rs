//! The org's API limits: the daily allocation, the concurrent-request limit, the download cap
//! and the reserve for optional reads.

use serde_json::json;
use sso_operator::salesforce::{ErrorKind, ReadPriority};

use super::{app, assert_existing_app_readable, client};
use crate::common::client::*;

#[tokio::test]
async fn daily_allocation_running_out_pauses_the_org_without_reauth() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    sim.limits(json!({"used": 15000, "max": 15000})).await;
    let e = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Quota, "{e}");
    assert!(e.to_string().contains("TotalRequests"), "{e}");
    let before = sim.total_calls().await;
    // Org-wide pause: fails fast without reaching Salesforce, no re-authentication.
    let e = c.upsert_connected_app(&app("X")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Quota);
    assert!(e.retry_after().is_some());
    assert_eq!(sim.total_calls().await, before);
    assert_eq!(sim.count("token").await, 1);
}

#[tokio::test]
async fn concurrent_request_limit_is_transient_and_does_not_pause() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    sim.fault(json!({"operation": "readMetadata", "count": 1, "status": 500,
        "soapFault": {"code": "sf:REQUEST_LIMIT_EXCEEDED", "message": "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded."}}))
        .await;
    let e = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_existing_app_readable(&c).await;
    assert_eq!(sim.count("token").await, 1);
}

#[tokio::test]
async fn concurrent_request_limit_makes_calls_go_one_at_a_time() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    assert_eq!(c.effective_concurrency(), 4);
    // The org now refuses a second Metadata API call while one is served; each call takes 300 ms.
    sim.limits(json!({"concurrent": 1})).await;
    sim.fault(json!({"operation": "listMetadata", "count": 20, "latencyMs": 300}))
        .await;
    let round = || {
        futures::future::join_all((0..4).map(|_| {
            let c = c.clone();
            async move { c.list_connected_apps().await }
        }))
    };
    let first = round().await;
    let refused: Vec<_> = first.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        !refused.is_empty(),
        "four calls at once against a limit of one: some are refused"
    );
    for e in &refused {
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert!(e.to_string().contains("concurrent request limit"), "{e}");
    }
    assert_eq!(c.effective_concurrency(), 1, "concurrency dropped to one");
    // The next burst goes one call at a time: none is refused.
    let before = sim.count("listMetadata").await;
    let second = round().await;
    assert!(
        second.iter().all(Result::is_ok),
        "after the drop no call is refused: {second:?}"
    );
    assert_eq!(sim.count("listMetadata").await, before + 4);
    assert_eq!(sim.count("token").await, 1, "no re-authentication");
}

/// Metadata downloads are not API calls and take no permit, but a burst of them (every app of an
/// org at its refresh tick) still goes to My Domain a few at a time, not all at once.
#[tokio::test]
async fn metadata_downloads_to_one_org_are_capped() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    sim.fault(json!({"operation": "idpMetadata", "count": 30, "latencyMs": 200}))
        .await;
    let results = futures::future::join_all((0..30).map(|_| {
        let c = c.clone();
        async move { c.fetch_idp_metadata(Some("Existing_Telephony")).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(sim.count("idpMetadata").await, 30);
    let peak = sim.calls().await["peakInFlight"].as_u64().unwrap();
    assert!(
        (2..=10).contains(&peak),
        "thirty downloads at once reach the org {peak} at a time (cap 10)"
    );
}

#[tokio::test]
async fn optional_reads_are_held_back_below_the_reserve() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    sim.limits(json!({"used": 14000, "max": 15000})).await;
    let usage = c.refresh_limits().await.unwrap();
    assert_eq!(usage.limit, 15000);
    assert!(usage.used >= 14000);
    assert!(c.api_usage().is_some());
    let before = sim.count("readMetadata").await;
    let e = c
        .read_connected_app_with("Existing_Telephony", ReadPriority::Optional)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Quota, "{e}");
    assert_eq!(sim.count("readMetadata").await, before);
    assert!(
        c.refresh_limits().await.is_err(),
        "refresh_limits is optional too"
    );
    // Required reads still go through.
    assert_existing_app_readable(&c).await;
}
