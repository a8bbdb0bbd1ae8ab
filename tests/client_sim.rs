//! The Salesforce client against `salesforce-sim` (HTTPS, strict WSDL checks, fault injection).

#[path = "common/client_support.rs"]
mod client_support;

use std::sync::Arc;

use client_support::*;
use serde_json::json;
use sso_operator::salesforce::{
    ConnectedApp, ConnectedAppSamlConfig, Credentials, ErrorKind, IdentityProviderSettings,
    OrgClient, ReadPriority, Salesforce, SalesforceError, SamlIdpSloBinding, SamlNameIdFormatType,
    SamlSigningAlgoType, SamlSubjectType, SecretString,
};

fn client(sim: &Sim, creds: Credentials) -> Arc<OrgClient> {
    let sf = Salesforce::new(sim.options()).expect("client");
    Arc::new(sf.client("ns/org", sim.conn(creds)))
}

fn app(name: &str) -> ConnectedApp {
    let mut a = ConnectedApp::new(name, format!("{name} label"), "ops@acme.com");
    a.description = Some("Partner telephony SSO".into());
    a.profile_name = vec!["System Administrator".into()];
    a.permission_set_name = vec!["Voice_Agent".into()];
    let mut saml = ConnectedAppSamlConfig::new(
        format!("https://sp.example.com/{name}/acs"),
        format!("https://sp.example.com/{name}"),
        SamlSubjectType::FederationId,
    );
    saml.saml_name_id_format = Some(SamlNameIdFormatType::Persistent);
    saml.saml_signing_algo_type = Some(SamlSigningAlgoType::Sha256);
    saml.saml_idp_slo_binding = Some(SamlIdpSloBinding::RedirectBinding);
    saml.saml_slo_url = Some(format!("https://sp.example.com/{name}/slo"));
    a.saml_config = Some(saml);
    a
}

// === auth ===

#[tokio::test]
async fn jwt_bearer_authenticates_once_and_caches_the_token() {
    let sim = Sim::start();
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
    let sim = Sim::start();
    let c = client(&sim, sim.client_credentials());
    let id = c.authenticate().await.expect("client credentials auth");
    assert!(id.user_id.starts_with("005"), "{id:?}");
    assert!(
        c.read_connected_app("Existing_Telephony")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn jwt_bearer_errors_are_auth_errors_with_salesforce_text() {
    let sim = Sim::start();
    let other_key = rsa_key_pair("someone-else");
    let cases: Vec<(Credentials, &str, &str)> = vec![
        (
            Credentials::JwtBearer {
                client_id: "3MVG9UNKNOWN".into(),
                username: ADMIN.into(),
                private_key_pem: SecretString::new(sim.key.key_pem.clone()),
            },
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            Credentials::JwtBearer {
                client_id: JWT_UNAPPROVED_CLIENT.into(),
                username: ADMIN.into(),
                private_key_pem: SecretString::new(sim.key.key_pem.clone()),
            },
            "invalid_app_access",
            "approved",
        ),
        (
            Credentials::JwtBearer {
                client_id: JWT_CLIENT.into(),
                username: ADMIN.into(),
                private_key_pem: SecretString::new(other_key.key_pem.clone()),
            },
            "invalid_grant",
            "invalid assertion",
        ),
        (
            Credentials::JwtBearer {
                client_id: JWT_CLIENT.into(),
                username: "nobody@acme.com".into(),
                private_key_pem: SecretString::new(sim.key.key_pem.clone()),
            },
            "invalid_grant",
            "",
        ),
    ];
    for (creds, error, description) in cases {
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
    let sim = Sim::start();
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    for pem in ["garbage".to_string(), ec.serialize_pem()] {
        let c = client(
            &sim,
            Credentials::JwtBearer {
                client_id: JWT_CLIENT.into(),
                username: ADMIN.into(),
                private_key_pem: SecretString::new(pem),
            },
        );
        let e = c.authenticate().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    }
    assert_eq!(sim.count("token").await, 0);
}

#[tokio::test]
async fn client_credentials_errors_are_auth_errors() {
    let sim = Sim::start();
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
    let sim = Sim::start_with(SimConfig {
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
    let sim = Sim::start();
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

// === metadata round trips ===

#[tokio::test]
async fn connected_app_upsert_read_delete_round_trip() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    let a = app("Voice_SSO");
    assert!(c.read_connected_app("Voice_SSO").await.unwrap().is_none());
    assert!(c.upsert_connected_app(&a).await.unwrap().created);
    let back = c
        .read_connected_app("Voice_SSO")
        .await
        .unwrap()
        .expect("created app");
    assert!(
        back.same_managed_fields(&a),
        "read back differs:\n{back:#?}\nvs\n{a:#?}"
    );
    let mut changed = a.clone();
    changed.label = "Voice SSO v2".into();
    assert!(!c.upsert_connected_app(&changed).await.unwrap().created);
    assert_eq!(
        c.read_connected_app("Voice_SSO")
            .await
            .unwrap()
            .unwrap()
            .label,
        "Voice SSO v2"
    );
    let listed = c.list_connected_apps().await.unwrap();
    assert!(
        listed.iter().any(|f| f.full_name == "Voice_SSO"),
        "{listed:?}"
    );
    c.delete_connected_app("Voice_SSO").await.unwrap();
    assert!(c.read_connected_app("Voice_SSO").await.unwrap().is_none());
    // Deleting what is already gone is success.
    c.delete_connected_app("Voice_SSO").await.unwrap();
}

#[tokio::test]
async fn upsert_of_an_adopted_app_keeps_fields_the_operator_does_not_manage() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    let mut existing = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(existing.unmanaged.names(), vec!["oauthConfig"]);
    existing.profile_name.push("System Administrator".into());
    assert!(!c.upsert_connected_app(&existing).await.unwrap().created);
    let state = sim.state().await;
    let stored = &state["connectedApps"]["Existing_Telephony"];
    assert_eq!(
        stored["oauthConfig"]["callbackUrl"], "https://telephony.example.com/oauth/callback",
        "{stored}"
    );
    let back = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.profile_name.len(), 2);
}

#[tokio::test]
async fn identity_provider_and_certificate() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    let idp = c
        .read_identity_provider()
        .await
        .unwrap()
        .expect("idp settings");
    assert!(idp.enable_identity_provider);
    assert_eq!(idp.certificate_name, "SelfSignedCert_IdP");
    c.upsert_identity_provider(&IdentityProviderSettings {
        certificate_name: "SelfSignedCert_Next".into(),
        enable_identity_provider: true,
    })
    .await
    .unwrap();
    assert_eq!(
        c.read_identity_provider()
            .await
            .unwrap()
            .unwrap()
            .certificate_name,
        "SelfSignedCert_Next"
    );
    let e = c
        .upsert_identity_provider(&IdentityProviderSettings {
            certificate_name: "No_Such_Cert".into(),
            enable_identity_provider: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected, "{e}");
    assert!(e.to_string().contains("INVALID_CROSS_REFERENCE_KEY"), "{e}");

    let cert = c
        .read_certificate("SelfSignedCert_IdP")
        .await
        .unwrap()
        .expect("cert");
    assert_eq!(cert.master_label, "SelfSignedCert IdP");
    assert_eq!(cert.key_size, Some(2048));
    assert!(!cert.ca_signed);
    assert_eq!(
        cert.expiration_date.unwrap().to_string(),
        "2099-11-27T00:00:00Z"
    );
    assert!(c.read_certificate("Nope").await.unwrap().is_none());
}

#[tokio::test]
async fn idp_metadata_is_fetched_from_my_domain_and_parsed() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    let m = c.fetch_idp_metadata(None).await.unwrap();
    assert_eq!(m.entity_id, "https://acme.my.salesforce.com");
    assert!(m.sso_post.is_some() && m.sso_redirect.is_some());
    assert_eq!(m.signing_certificates.len(), 1);
    let state = sim.state().await;
    let cert = state["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "SelfSignedCert_IdP")
        .unwrap()
        .clone();
    let fp = cert["sha256Fingerprint"]
        .as_str()
        .unwrap()
        .replace(':', "")
        .to_uppercase();
    assert_eq!(
        m.signing_certificates[0]
            .sha256_fingerprint
            .replace(':', ""),
        fp
    );

    let per_app = c
        .fetch_idp_metadata(Some("Existing_Telephony"))
        .await
        .unwrap();
    assert_eq!(
        per_app.name_id_formats,
        vec!["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"]
    );
    assert!(per_app.slo.is_some());
    let e = c.fetch_idp_metadata(Some("Unknown_App")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c
        .fetch_idp_metadata(Some("../../etc/passwd"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
}

// === batching ===

#[tokio::test]
async fn twenty_five_concurrent_reads_cost_three_read_metadata_calls() {
    let sim = Sim::start();
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
    let sim = Sim::start();
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
    let sim = Sim::start();
    let mut opts = sim.options();
    opts.coalescing = false;
    let c = Salesforce::new(opts)
        .unwrap()
        .client("ns/org", sim.conn(sim.jwt()));
    let names: Vec<String> = (0..5).map(|i| format!("App_{i}")).collect();
    futures::future::join_all(names.iter().map(|n| c.read_connected_app(n))).await;
    assert_eq!(sim.count("readMetadata").await, 5);
}

// === limits ===

#[tokio::test]
async fn daily_allocation_running_out_pauses_the_org_without_reauth() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    sim.set_limits(15000, 15000).await;
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
async fn create_never_overwrites_an_existing_app_and_creates_share_calls() {
    let sim = Sim::start();
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

#[tokio::test]
async fn concurrent_request_limit_is_transient_and_does_not_pause() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    sim.fault(json!({"operation": "readMetadata", "count": 1, "status": 500,
        "soapFault": {"code": "sf:REQUEST_LIMIT_EXCEEDED", "message": "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded."}}))
        .await;
    let e = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(
        c.read_connected_app("Existing_Telephony")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(sim.count("token").await, 1);
}

#[tokio::test]
async fn concurrent_request_limit_makes_calls_go_one_at_a_time() {
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    c.authenticate().await.unwrap();
    assert_eq!(c.effective_concurrency(), 4);
    // The org now refuses a second Metadata API call while one is served; each call takes 300 ms.
    sim.set_concurrent_limit(1).await;
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
    let sim = Sim::start();
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
    let sim = Sim::start();
    let c = client(&sim, sim.jwt());
    sim.set_limits(14000, 15000).await;
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
    assert!(
        c.read_connected_app("Existing_Telephony")
            .await
            .unwrap()
            .is_some()
    );
}

// === policy ===

#[tokio::test]
async fn creation_blocked_is_its_own_error_and_updates_still_work() {
    let sim = Sim::start_with(SimConfig {
        creation_allowed: false,
        ..SimConfig::default()
    });
    let c = client(&sim, sim.jwt());
    let e = c.upsert_connected_app(&app("Brand_New")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CreationBlocked, "{e}");
    assert!(e.to_string().contains("Support"), "{e}");
    let mut existing = c
        .read_connected_app("Existing_Telephony")
        .await
        .unwrap()
        .unwrap();
    existing.description = Some("updated".into());
    assert!(!c.upsert_connected_app(&existing).await.unwrap().created);
    c.delete_connected_app("Existing_Telephony").await.unwrap();
}

// === hostile responses ===

#[tokio::test]
async fn hostile_and_broken_responses_are_errors_not_panics() {
    let sim = Sim::start();
    // A 1 MiB cap instead of 10 MiB keeps the oversized case small enough for the fault API.
    let mut opts = sim.options();
    opts.max_response_bytes = 1024 * 1024;
    let c = Salesforce::new(opts)
        .unwrap()
        .client("ns/org", sim.conn(sim.jwt()));
    c.authenticate().await.unwrap();
    let lol = {
        let mut x = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            x.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        x + "]><lolz>&lol9;</lolz>"
    };
    let cases = vec![
        (
            json!({"operation": "readMetadata", "status": 200, "contentType": "text/xml",
            "body": "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"}),
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
    assert!(
        c.read_connected_app("Existing_Telephony")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn hosts_outside_the_allow_list_are_refused_before_any_connection() {
    let sim = Sim::start();
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
