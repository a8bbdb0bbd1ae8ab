//! Hostile and broken answers are errors, not panics; hosts outside the allow-list are refused
//! before any connection.

use serde_json::json;
use sso_operator::salesforce::{ErrorKind, Salesforce, SalesforceError};

use super::assert_existing_app_readable;
use crate::common::client::*;
use crate::common::hostile_xml;

#[tokio::test]
async fn hostile_and_broken_responses_are_errors_not_panics() {
    let sim = start_org();
    // A 1 MiB cap instead of 10 MiB keeps the oversized case small enough for the fault API.
    let mut opts = sim.options();
    opts.max_response_bytes = 1024 * 1024;
    let c = Salesforce::new(opts)
        .unwrap()
        .client("ns/org", sim.conn(sim.jwt()));
    c.authenticate().await.unwrap();
    let lol = format!(
        "<?xml version=\"1.0\"?>{}<lolz>&lol9;</lolz>",
        hostile_xml::billion_laughs_doctype()
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?>{}<x>&e;</x>",
        hostile_xml::external_entity_doctype("x", "e")
    );
    let cases = vec![
        (
            json!({"operation": "readMetadata", "status": 200, "contentType": "text/xml",
            "body": xxe}),
            ErrorKind::Protocol,
        ),
        (
            json!({"operation": "readMetadata", "status": 200, "contentType": "text/xml", "body": lol}),
            ErrorKind::Protocol,
        ),
        (
            json!({"operation": "readMetadata", "html": true}),
            ErrorKind::Protocol,
        ),
        (
            json!({"operation": "readMetadata", "html": true, "status": 503}),
            ErrorKind::Transient,
        ),
        (
            json!({"operation": "readMetadata", "truncate": true}),
            ErrorKind::Transient,
        ),
        (
            json!({"operation": "readMetadata", "reset": true}),
            ErrorKind::Transient,
        ),
        (
            json!({"operation": "readMetadata", "status": 200, "contentType": "text/xml",
            "body": format!("<a>{}</a>", "x".repeat(1536 * 1024))}),
            ErrorKind::Protocol,
        ),
        (
            json!({"operation": "readMetadata", "status": 200, "contentType": "text/xml",
            "body": format!("{}{}", "<a>".repeat(100), "</a>".repeat(100))}),
            ErrorKind::Protocol,
        ),
        (
            json!({"operation": "readMetadata", "status": 500, "soapFault": {"code": "sf:SOMETHING_NEW", "message": "odd"}}),
            ErrorKind::Rejected,
        ),
    ];
    for (rule, kind) in cases {
        sim.fault(rule.clone()).await;
        let e = c
            .read_connected_app("Existing_Telephony")
            .await
            .unwrap_err();
        let shown = rule.to_string();
        assert_eq!(e.kind(), kind, "{e} for {}", &shown[..shown.len().min(200)]);
    }
    // IdP metadata: HTML with 200 and an oversized document.
    sim.fault(json!({"operation": "idpMetadata", "html": true}))
        .await;
    assert_eq!(
        c.fetch_idp_metadata(None).await.unwrap_err().kind(),
        ErrorKind::Protocol
    );
    sim.fault(
        json!({"operation": "idpMetadata", "status": 200, "contentType": "application/xml",
        "body": format!("<x>{}</x>", "y".repeat(1536 * 1024))}),
    )
    .await;
    assert_eq!(
        c.fetch_idp_metadata(None).await.unwrap_err().kind(),
        ErrorKind::Protocol
    );
    // And the client still works afterwards.
    assert_existing_app_readable(&c).await;
}

#[tokio::test]
async fn hosts_outside_the_allow_list_are_refused_before_any_connection() {
    let sim = start_org();
    // The simulator is up, but its port is not allow-listed.
    let mut opts = sim.options();
    opts.allow_hosts.clear();
    let sf = Salesforce::new(opts).unwrap();
    let c = sf.client("ns/org", sim.conn(sim.jwt()));
    let e = c.authenticate().await.unwrap_err();
    assert!(matches!(e, SalesforceError::UrlRefused { .. }), "{e}");
    let e = c.fetch_idp_metadata(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    // Same with a non-Salesforce host name.
    let mut conn = sim.conn(sim.jwt());
    conn.instance_url = url::Url::parse("https://metadata.evil.example/").unwrap();
    conn.login_url = conn.instance_url.clone();
    let e = sf
        .client("ns/evil", conn)
        .read_connected_app("X")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    assert_eq!(sim.total_calls().await, 0);
}
