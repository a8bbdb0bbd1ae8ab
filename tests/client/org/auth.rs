//! Authentication: both OAuth flows, their errors with Salesforce's text, keys refused before
//! any call, and sessions that expire or stay invalid.

use serde_json::json;
use sso_operator::salesforce::{Credentials, ErrorKind, Salesforce, SalesforceError, SecretString};

use super::{assert_existing_app_readable, client};
use crate::common::client::*;
use crate::common::keys;

#[tokio::test]
async fn jwt_bearer_authenticates_once_and_caches_the_token() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    let id = c.authenticate().await.expect("jwt auth");
    assert_eq!(&id.org_id[..15], "00D5g000000SIMU");
    assert!(id.user_id.starts_with("005"), "{id:?}");
    c.authenticate().await.unwrap();
    c.read_connected_app("Existing_Telephony").await.unwrap();
    assert_eq!(sim.count("token").await, 1);
}

#[tokio::test]
async fn client_credentials_authenticate() {
    let sim = start_org();
    let c = client(&sim, sim.client_credentials());
    let id = c.authenticate().await.expect("client credentials auth");
    assert!(id.user_id.starts_with("005"), "{id:?}");
    assert_existing_app_readable(&c).await;
}

#[tokio::test]
async fn jwt_bearer_errors_are_auth_errors_with_salesforce_text() {
    let sim = start_org();
    let other_key = rsa_key_pair("someone-else");
    let own_key = sim.key.key_pem.as_str();
    let cases = [
        (
            "3MVG9UNKNOWN",
            ADMIN,
            own_key,
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            JWT_UNAPPROVED_CLIENT,
            ADMIN,
            own_key,
            "invalid_app_access",
            "approved",
        ),
        (
            JWT_CLIENT,
            ADMIN,
            &other_key.key_pem,
            "invalid_grant",
            "invalid assertion",
        ),
        (JWT_CLIENT, "nobody@acme.com", own_key, "invalid_grant", ""),
    ];
    for (client_id, username, key, error, description) in cases {
        let creds = sim.jwt_with_key(client_id, username, key);
        let e = client(&sim, creds).authenticate().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        let s = e.to_string();
        assert!(s.contains(error) && s.contains(description), "{s}");
    }
    // Wrong audience.
    let sf = Salesforce::new(sim.options()).unwrap();
    let mut conn = sim.conn(sim.jwt());
    conn.audience = "https://evil.example.com".into();
    let e = sf.client("ns/aud", conn).authenticate().await.unwrap_err();
    assert!(e.to_string().contains("audience is invalid"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Auth);
}

#[tokio::test]
async fn unusable_keys_are_refused_before_any_call() {
    let sim = start_org();
    for pem in ["garbage".to_string(), keys::ec_pkcs8()] {
        let c = client(&sim, sim.jwt_with_key(JWT_CLIENT, ADMIN, &pem));
        let e = c.authenticate().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    }
    assert_eq!(sim.count("token").await, 0);
}

#[tokio::test]
async fn client_credentials_errors_are_auth_errors() {
    let sim = start_org();
    let cases = [
        (CC_CLIENT, "wrong-secret", "invalid_client"),
        (
            CC_NO_RUNAS,
            "other-secret",
            "no client credentials user enabled",
        ),
        ("3MVG9UNKNOWN", "x", "invalid_client_id"),
    ];
    for (id, secret, expected) in cases {
        let c = client(
            &sim,
            Credentials::ClientCredentials {
                client_id: id.into(),
                client_secret: SecretString::new(secret),
            },
        );
        let e = c.authenticate().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(e.to_string().contains(expected), "{e}");
        assert!(!e.to_string().contains(secret), "secret in message: {e}");
    }
}

#[tokio::test]
async fn token_expiry_mid_run_costs_one_reauth_and_one_retry() {
    // A short session timeout, so that moving the simulator's clock past it keeps the clock
    // within the JWT assertion's 3-minute window (the assertion uses the real clock).
    let sim = start_org_with(SimConfig {
        token_ttl: "60s",
        ..SimConfig::default()
    });
    let c = client(&sim, sim.jwt());
    c.read_connected_app("Existing_Telephony").await.unwrap();
    assert_eq!(sim.count("token").await, 1);
    assert_eq!(sim.count("readMetadata").await, 1);
    // Past the session timeout on the simulator's clock.
    sim.advance_clock(90).await;
    let app = c.read_connected_app("Existing_Telephony").await.unwrap();
    assert!(app.is_some());
    assert_eq!(sim.count("token").await, 2, "exactly one re-auth");
    assert_eq!(
        sim.count("readMetadata").await,
        3,
        "the failed call and one retry"
    );
    // REST path: the same rule for /limits.
    sim.advance_clock(61).await;
    c.refresh_limits().await.unwrap();
    assert_eq!(sim.count("token").await, 3);
    assert_eq!(sim.count("limits").await, 2);
}

#[tokio::test]
async fn a_session_that_stays_invalid_is_reported_after_one_retry() {
    let sim = start_org();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    sim.fault(json!({"operation": "readMetadata", "count": 5, "status": 500,
        "soapFault": {"code": "sf:INVALID_SESSION_ID", "message": "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"}}))
        .await;
    let e = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::SessionInvalid { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(sim.count("token").await, 2);
    assert_eq!(sim.count("readMetadata").await, 2);
}
