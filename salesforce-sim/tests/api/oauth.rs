//! OAuth token endpoint and REST limits of the simulator.

use crate::harness as sim;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sim::{ADMIN, CC_KEY, CC_SECRET, CLIENT_KEY, Options, Sim};

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn jwt(key_pem: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).expect("key"),
    )
    .expect("sign")
}

async fn bearer(s: &Sim, assertion: &str) -> (u16, Value) {
    s.token_form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion),
    ])
    .await
}

fn claims(exp: Value) -> Value {
    json!({"iss": CLIENT_KEY, "sub": ADMIN, "aud": "https://login.salesforce.com", "exp": exp})
}

#[tokio::test]
async fn jwt_bearer_success_with_numeric_and_string_exp() {
    let s = Sim::start();
    for exp in [json!(now() + 180), json!((now() + 180).to_string())] {
        let (status, body) = bearer(&s, &jwt(&s.key.key_pem, claims(exp))).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap();
        assert!(token.starts_with("00D5g000000SIMU!"), "{token}");
        assert_eq!(body["instance_url"], "https://acme.my.salesforce.com");
        assert_eq!(body["token_type"], "Bearer");
        assert!(
            body["id"]
                .as_str()
                .unwrap()
                .starts_with("https://login.salesforce.com/id/00D5g000000SIMUEAA/005")
        );
        assert!(body.get("refresh_token").is_none());
        assert!(body["scope"].is_string());
    }
}

#[tokio::test]
async fn jwt_bearer_refusals() {
    let s = Sim::start();
    let other = sim::client_key();
    let cases = [
        // (assertion, error, description)
        (
            jwt(
                &s.key.key_pem,
                json!({"iss": CLIENT_KEY, "sub": ADMIN, "aud": "https://acme.my.salesforce.com", "exp": now() + 120}),
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            jwt(&other.key_pem, claims(json!(now() + 120))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            jwt(&s.key.key_pem, claims(json!(now() - 10))),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            jwt(&s.key.key_pem, claims(json!(now() + 3600))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            jwt(
                &s.key.key_pem,
                json!({"iss": "3MVG9UNKNOWN", "sub": ADMIN, "aud": "https://login.salesforce.com", "exp": now() + 120}),
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            jwt(
                &s.key.key_pem,
                json!({"iss": CLIENT_KEY, "sub": "nobody@acme.com", "aud": "https://login.salesforce.com", "exp": now() + 120}),
            ),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            jwt(
                &s.key.key_pem,
                json!({"iss": CLIENT_KEY, "sub": "agent1@acme.com", "aud": "https://login.salesforce.com", "exp": now() + 120}),
            ),
            "invalid_app_access",
            "user is not admin approved to access this app",
        ),
        ("not.a.jwt".to_owned(), "invalid_grant", "invalid assertion"),
    ];
    for (assertion, error, description) in cases {
        let (status, body) = bearer(&s, &assertion).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body,
            json!({"error": error, "error_description": description})
        );
    }
    let (status, body) = s.token_form(&[("grant_type", "password")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn client_credentials_form_and_basic() {
    let s = Sim::start();
    let (status, body) = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CC_KEY),
            ("client_secret", CC_SECRET),
        ])
        .await;
    assert_eq!(status, 200);
    for k in [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(body[k].is_string(), "{k} in {body}");
    }
    let r = s
        .client
        .post(s.u("/services/oauth2/token"))
        .basic_auth(CC_KEY, Some(CC_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, body) = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CC_KEY),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "invalid_client", "error_description": "invalid client credentials"})
        )
    );
    let (status, body) = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "3MVG9NORUNAS"),
            ("client_secret", "other"),
        ])
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "no client credentials user enabled"})
        )
    );
}

#[tokio::test]
async fn tokens_expire_on_the_simulator_clock() {
    let s = Sim::start();
    let t = s.token().await;
    let limits = |t: String| {
        let s = &s;
        async move { s.limits(Some(&t)).await }
    };
    let r = limits(t.clone()).await;
    assert_eq!(r.status().as_u16(), 200);
    s.control_post("/__sim/clock", json!({"advanceSeconds": 2 * 3600 + 1}))
        .await;
    let r = limits(t.clone()).await;
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let (status, xml) = s
        .soap(&t, "<readMetadata><type>ConnectedApp</type></readMetadata>")
        .await;
    assert_eq!(status, 500);
    assert_eq!(sim::fault_of(&xml).unwrap().0, "sf:INVALID_SESSION_ID");
    // A JWT signed "now" (real clock) is expired on the advanced simulator clock.
    let (status, body) = bearer(&s, &jwt(&s.key.key_pem, claims(json!(now() + 120)))).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("expired authorization code"))
    );
}

#[tokio::test]
async fn versions_and_limits_with_usage_header() {
    let s = Sim::start();
    let r = s.client.get(s.u("/services/data/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("sforce-limit-info").is_none());
    let v: Value = r.json().await.unwrap();
    let last = v.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"})
    );
    assert!(
        v.as_array().unwrap().iter().any(|e| e
            == &json!({"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"}))
    );

    let t = s.token().await;
    let r = s.limits(Some(&t)).await;
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/15000");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["DailyApiRequests"],
        json!({"Max": 15000, "Remaining": 14999})
    );
    let r = s.limits(None).await;
    assert_eq!(r.status().as_u16(), 401);

    // Exhausted allocation: 403 REQUEST_LIMIT_EXCEEDED with the header, then its return.
    s.control_post("/__sim/limits", json!({"used": 15000}))
        .await;
    let r = s.limits(Some(&t)).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=15000/15000");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    s.control_post("/__sim/limits", json!({"used": 10})).await;
    let r = s.limits(Some(&t)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=11/15000");
}

#[tokio::test]
async fn https_with_self_signed_ca() {
    let s = Sim::start_with(Options {
        https: true,
        ..Options::default()
    });
    assert!(s.url.starts_with("https://localhost:"), "{}", s.url);
    let t = s.token().await;
    assert!(t.starts_with("00D5g000000SIMU!"));
}
