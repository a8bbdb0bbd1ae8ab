//! Coalescing: concurrent reads and creates share calls; one failing component fails alone.

use sso_operator::salesforce::{ErrorKind, Salesforce};

use super::{app, client};
use crate::common::client::*;

#[tokio::test]
async fn twenty_five_concurrent_reads_cost_three_read_metadata_calls() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let names: Vec<String> = (0..25).map(|i| format!("App_{i:02}")).collect();
    let reads = names.iter().map(|n| c.read_connected_app(n));
    let results = futures::future::join_all(reads).await;
    assert!(results.iter().all(|r| matches!(r, Ok(None))), "{results:?}");
    assert_eq!(sim.count("readMetadata").await, 3);
    assert_eq!(sim.count("token").await, 1);
}

#[tokio::test]
async fn a_partial_batch_failure_fails_only_that_component() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let good1 = app("Good_One");
    let mut bad = app("Bad_Profile");
    bad.profile_name = vec!["No Such Profile".into()];
    let good2 = app("Good_Two");
    let (r1, r2, r3) = tokio::join!(
        c.upsert_connected_app(&good1),
        c.upsert_connected_app(&bad),
        c.upsert_connected_app(&good2)
    );
    assert_eq!(sim.count("upsertMetadata").await, 1, "one coalesced call");
    assert!(r1.unwrap().created);
    assert!(r3.unwrap().created);
    let e = r2.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected);
    let s = e.to_string();
    assert!(
        s.contains("Bad_Profile")
            && s.contains("INVALID_CROSS_REFERENCE_KEY")
            && s.contains("No Such Profile"),
        "{s}"
    );
}

#[tokio::test]
async fn coalescing_can_be_turned_off() {
    let sim = start_org();
    let mut opts = sim.options();
    opts.coalescing = false;
    let c = Salesforce::new(opts)
        .unwrap()
        .client("ns/org", sim.conn(sim.jwt()));
    let names: Vec<String> = (0..5).map(|i| format!("App_{i}")).collect();
    futures::future::join_all(names.iter().map(|n| c.read_connected_app(n))).await;
    assert_eq!(sim.count("readMetadata").await, 5);
}

#[tokio::test]
async fn create_never_overwrites_an_existing_app_and_creates_share_calls() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let before = c.read_connected_app("Existing_Telephony").await.unwrap();
    // An app of that name exists: createMetadata refuses it, and nothing about it changes.
    let e = c
        .create_connected_app(&app("Existing_Telephony"))
        .await
        .unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    assert_eq!(
        c.read_connected_app("Existing_Telephony").await.unwrap(),
        before,
        "the existing app is untouched"
    );
    // New apps created together share one createMetadata call.
    let names: Vec<String> = (0..10).map(|i| format!("New_App_{i}")).collect();
    let results = futures::future::join_all(names.iter().map(|n| {
        let c = c.clone();
        let a = app(n);
        async move { c.create_connected_app(&a).await }
    }))
    .await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|o| o.created)));
    assert_eq!(
        sim.count("createMetadata").await,
        2,
        "one refused create, then one call for the ten new apps"
    );
    for n in &names {
        assert!(c.read_connected_app(n).await.unwrap().is_some(), "{n}");
    }
}
