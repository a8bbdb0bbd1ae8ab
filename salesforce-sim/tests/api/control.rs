//! `/__sim/` controls: fault injection, call log, mutate, policy, and their absence without
//! `--control`.

use crate::harness as sim;

use std::time::{Duration, Instant};

use serde_json::json;
use sim::{Options, Sim, fault_of, results_of, saml_app};

const READ: &str = "<readMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames></readMetadata>";

#[tokio::test]
async fn injected_faults_apply_to_the_next_n_matching_requests() {
    let s = Sim::start();
    let t = s.token().await;
    s.control_post("/__sim/faults", json!({"operation": "readMetadata", "count": 2, "status": 503, "body": "Service Unavailable"})).await;
    for _ in 0..2 {
        let (status, body) = s.soap(&t, READ).await;
        assert_eq!((status, body.as_str()), (503, "Service Unavailable"));
    }
    assert_eq!(s.soap(&t, READ).await.0, 200);

    s.control_post("/__sim/faults", json!({"operation": "upsertMetadata", "soapFault": {"code": "sf:UNKNOWN_EXCEPTION", "message": "An unexpected error occurred."}})).await;
    // Not matching: a read passes.
    assert_eq!(s.soap(&t, READ).await.0, 200);
    let (status, xml) = s
        .soap(&t, &sim::upsert(&saml_app("Existing_Telephony")))
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        fault_of(&xml).unwrap(),
        (
            "sf:UNKNOWN_EXCEPTION".into(),
            "UNKNOWN_EXCEPTION: An unexpected error occurred.".into()
        )
    );
}

/// Faults that break the exchange: a maintenance page, a reset connection, a truncated body.
#[tokio::test]
async fn injected_html_reset_and_truncation() {
    let s = Sim::start();
    let t = s.token().await;
    s.control_post(
        "/__sim/faults",
        json!({"pathPrefix": "/.well-known/", "html": true}),
    )
    .await;
    let r = s
        .client
        .get(s.u("/.well-known/samlidp.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Maintenance"));

    s.control_post(
        "/__sim/faults",
        json!({"operation": "readMetadata", "reset": true}),
    )
    .await;
    let r = s.soap_send(&t, READ).await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "reset must fail the exchange");

    s.control_post(
        "/__sim/faults",
        json!({"operation": "readMetadata", "truncate": true}),
    )
    .await;
    let r = s.soap_send(&t, READ).await;
    match r {
        Ok(resp) => {
            assert_eq!(resp.status().as_u16(), 200);
            assert!(
                resp.text().await.is_err(),
                "truncated body must fail to read"
            );
        }
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
}

/// A token fault, injected latency, and clearing every rule.
#[tokio::test]
async fn injected_token_fault_latency_and_clearing() {
    let s = Sim::start();
    let t = s.token().await;
    s.control_post("/__sim/faults", json!({"operation": "token", "status": 400, "contentType": "application/json", "body": "{\"error\":\"invalid_grant\",\"error_description\":\"authentication failure\"}"})).await;
    let (status, body) = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim::CC_KEY),
            ("client_secret", sim::CC_SECRET),
        ])
        .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("authentication failure"))
    );

    s.control_post(
        "/__sim/faults",
        json!({"operation": "readMetadata", "latencyMs": 300}),
    )
    .await;
    let start = Instant::now();
    assert_eq!(s.soap(&t, READ).await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // Clearing.
    s.control_post(
        "/__sim/faults",
        json!({"operation": "readMetadata", "count": 100, "status": 500}),
    )
    .await;
    let r = s.client.delete(s.u("/__sim/faults")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(s.soap(&t, READ).await.0, 200);
}

#[tokio::test]
async fn call_log_counts_operations_and_names() {
    let s = Sim::start_with(Options {
        org: sim::org(true),
        ..Options::default()
    });
    let t = s.token().await;
    s.soap(&t, READ).await;
    s.soap(
        &t,
        &format!(
            "<upsertMetadata>{}{}</upsertMetadata>",
            saml_app("A_One"),
            saml_app("A_Two")
        ),
    )
    .await;
    s.client
        .get(s.u("/.well-known/samlidp/A_One.xml"))
        .send()
        .await
        .unwrap();
    s.limits(Some(&t)).await;
    let calls = s.control_get("/__sim/calls").await;
    assert_eq!(
        calls["counts"],
        json!({"token": 1, "readMetadata": 1, "upsertMetadata": 1, "idpMetadata": 1, "limits": 1})
    );
    let log = calls["log"].as_array().unwrap();
    assert_eq!(log[2]["operation"], "upsertMetadata");
    assert_eq!(log[2]["type"], "ConnectedApp");
    assert_eq!(log[2]["fullNames"], json!(["A_One", "A_Two"]));
    assert_eq!(log[2]["status"], 200);
    assert!(
        log.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    let r = s
        .client
        .post(s.u("/__sim/calls/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(s.control_get("/__sim/calls").await["counts"], json!({}));
}

#[tokio::test]
async fn mutate_changes_an_app_as_an_admin_would() {
    let s = Sim::start();
    let t = s.token().await;
    let (status, body) = s
        .control_post("/__sim/mutate", json!({"type": "ConnectedApp", "fullName": "Existing_Telephony", "set": {"samlConfig.acsUrl": "https://drifted.example.com/acs", "profileName": ["System Administrator"]}, "unset": ["samlConfig.samlSloUrl"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, xml) = s.soap(&t, READ).await;
    assert!(
        xml.contains("<acsUrl>https://drifted.example.com/acs</acsUrl>"),
        "{xml}"
    );
    assert!(xml.contains("<profileName>System Administrator</profileName>"));
    assert!(!xml.contains("samlSloUrl"));
    let state = s.control_get("/__sim/state").await;
    assert_eq!(
        state["connectedApps"]["Existing_Telephony"]["samlConfig"]["acsUrl"],
        "https://drifted.example.com/acs"
    );
    // Invalid values are refused like Setup would.
    let (status, _) = s
        .control_post("/__sim/mutate", json!({"type": "ConnectedApp", "fullName": "Existing_Telephony", "set": {"samlConfig.samlSubjectType": "federationId"}}))
        .await;
    assert_eq!(status, 400);
    // Policy toggle lets creation through.
    s.control_post(
        "/__sim/policy",
        json!({"connectedAppCreationAllowed": true}),
    )
    .await;
    let (_, xml) = s
        .soap(
            &t,
            &format!("<createMetadata>{}</createMetadata>", saml_app("Brand_New")),
        )
        .await;
    assert!(results_of(&xml)[0].success, "{xml}");
    // Sessions can be revoked.
    s.client
        .post(s.u("/__sim/sessions/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(s.soap(&t, READ).await.0, 500);
}

#[tokio::test]
async fn controls_are_absent_without_the_flag() {
    let s = Sim::start_with(Options {
        control: false,
        ..Options::default()
    });
    let r = s.client.get(s.u("/__sim/state")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
}
