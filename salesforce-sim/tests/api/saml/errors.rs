//! The org's error page (with the IdpEventLog code in the call log) instead of a response: the
//! user has no access, the subject has no value, the app is disabled, the IdP is off, the request
//! is not from a known app or not for this endpoint; the login page when nobody is signed in. And
//! the IdP-initiated login URL: by `0sp` id (15 or 18 characters) or API name.

use base64::Engine as _;
use serde_json::json;

use crate::harness::{ADMIN, Sim};
use crate::saml::flow::{FLOWS, Flow, sign_in, signed_in};
use crate::saml::sp::{Page, Sp, SpConfig, parse_page};
use crate::saml::{
    AGENT, App, KINDS, Kind, OUTSIDER, PERMSET_AGENT, config, create, full_id, last_sign_in_fault,
    session, sp_id, start,
};

/// Expects the error page with `code` (and `text` on it) for every flow to `app`.
async fn error_page(s: &Sim, sp: &mut Sp, cfg: &SpConfig, app: &str, code: &str, text: &str) {
    for flow in FLOWS {
        let answer = sign_in(s, sp, cfg, flow, app, None).await;
        let Page::Other(200, html) = &answer.page else {
            panic!(
                "{app} {flow:?}: expected the {code} page, got {:?}",
                answer.page
            );
        };
        assert!(html.contains(text), "{app} {flow:?}: {html}");
        let fault = last_sign_in_fault(s).await;
        assert_eq!(fault.as_deref(), Some(code), "{app} {flow:?}");
    }
}

#[tokio::test]
async fn the_user_needs_a_session_access_and_a_subject_value() {
    let s = start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    for kind in KINDS {
        let app = App::new(&format!("{kind:?}_Access"));
        let mut fed = App::new(&format!("{kind:?}_Fed"));
        fed.subject = "FederationId";
        let mut custom = App::new(&format!("{kind:?}_Custom"));
        custom.subject = "CustomAttribute";
        custom.subject_attr = Some("extension");
        for a in [&app, &fed, &custom] {
            create(&s, kind, a).await;
        }
        let cfg = config(&s, &app, dir.path()).await;
        // Nobody signed in: the login page.
        let out = s.client.delete(s.u("/__sim/saml/session")).send().await;
        assert_eq!(out.expect("sign out").status(), 204);
        let login = "<title>Login | Salesforce</title>";
        error_page(&s, &mut sp, &cfg, &app.name, "LoginRequired", login).await;
        // Granted by a permission set only: signed in.
        session(&s, PERMSET_AGENT).await;
        for flow in FLOWS {
            let (v, _) = signed_in(&s, &mut sp, &cfg, flow, &app.name, None, dir.path()).await;
            assert_eq!(v["nameId"], PERMSET_AGENT);
        }
        // ... but the user has no Federation ID, and no value for the custom subject.
        let fed_cfg = config(&s, &fed, dir.path()).await;
        let text = "Federation Identifier";
        error_page(&s, &mut sp, &fed_cfg, &fed.name, "NoUserFedId", text).await;
        let custom_cfg = config(&s, &custom, dir.path()).await;
        let text = "value for the subject custom attribute";
        error_page(
            &s,
            &mut sp,
            &custom_cfg,
            &custom.name,
            "NoCustomAttrValue",
            text,
        )
        .await;
        // Neither the profile nor a permission set: no access.
        for user in [OUTSIDER, ADMIN] {
            session(&s, user).await;
            let text = "have access to this service provider";
            error_page(&s, &mut sp, &cfg, &app.name, "NoAccess", text).await;
        }
    }
}

#[tokio::test]
async fn a_disabled_app_or_identity_provider_signs_nobody_in() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let eca = App::new("Disabled_Eca");
    create(&s, Kind::External, &eca).await;
    let app = App::new("Some_App");
    create(&s, Kind::Connected, &app).await;
    let (eca_cfg, cfg) = (
        config(&s, &eca, dir.path()).await,
        config(&s, &app, dir.path()).await,
    );
    // An External Client App whose policies are disabled.
    let (code, body) = s
        .control_post(
            "/__sim/mutate",
            json!({"type": "ExtlClntAppConfigurablePolicies",
                   "fullName": "Disabled_Eca_plcy", "set": {"isEnabled": false}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    error_page(
        &s,
        &mut sp,
        &eca_cfg,
        &eca.name,
        "AppBlocked",
        "App blocked",
    )
    .await;
    signed_in(
        &s,
        &mut sp,
        &cfg,
        Flow::IdpInitiated,
        &app.name,
        None,
        dir.path(),
    )
    .await;
    // The identity provider switched off.
    let (code, body) = s
        .control_post(
            "/__sim/mutate",
            json!({"type": "IdentityProviderSettings", "set": {"enableIdentityProvider": false}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    error_page(
        &s,
        &mut sp,
        &cfg,
        &app.name,
        "InvalidSettings",
        "IdP certificate",
    )
    .await;
}

/// POSTs a hand-made `SAMLRequest`; returns the page and the sign-in's fault.
async fn post_request(s: &Sim, saml_request: &str) -> (Page, Option<String>) {
    let r = s
        .client
        .post(s.u("/idp/endpoint/HttpPost"))
        .form(&[("SAMLRequest", saml_request)])
        .send()
        .await
        .expect("post");
    let page = parse_page(r.status().as_u16(), r.text().await.expect("page"));
    (page, last_sign_in_fault(s).await)
}

#[tokio::test]
async fn requests_must_come_from_a_known_app_for_this_endpoint() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let app = App::new("Known");
    create(&s, Kind::Connected, &app).await;
    let cfg = config(&s, &app, dir.path()).await;
    let stranger = SpConfig {
        entity_id: "https://stranger.example.com".into(),
        ..cfg.clone()
    };
    let other_acs = SpConfig {
        acs_url: "https://sp.example.com/Known/other-acs".into(),
        ..cfg.clone()
    };
    for (bad, code) in [(stranger, "UnableToResolve"), (other_acs, "InvalidSp")] {
        for flow in [Flow::Redirect, Flow::Post] {
            let answer = sign_in(&s, &mut sp, &bad, flow, "", None).await;
            assert!(
                matches!(answer.page, Page::Other(200, _)),
                "{code}: {:?}",
                answer.page
            );
            let fault = last_sign_in_fault(&s).await;
            assert_eq!(fault.as_deref(), Some(code), "{flow:?}");
        }
    }
    // Hand-made requests: for another endpoint, not SAML, for this one as reached.
    let request = |dest: &str| {
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{dest}"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{}</saml:Issuer></samlp:AuthnRequest>"#,
            app.entity_id
        );
        base64::engine::general_purpose::STANDARD.encode(xml)
    };
    let (page, fault) = post_request(
        &s,
        &request("https://evil.example.com/idp/endpoint/HttpPost"),
    )
    .await;
    assert!(matches!(page, Page::Other(200, _)), "{page:?}");
    assert_eq!(fault.as_deref(), Some("InvalidIdpEndpoint"));
    let (page, fault) = post_request(&s, "bm90IFNBTUw=").await;
    assert!(matches!(page, Page::Other(200, _)), "{page:?}");
    assert_eq!(fault.as_deref(), Some("InvalidAuthnRequest"));
    let (page, fault) =
        post_request(&s, &request(&format!("{}/idp/endpoint/HttpPost", s.url))).await;
    assert!(matches!(page, Page::Form { .. }), "{page:?}");
    assert_eq!(fault, None);
}

#[tokio::test]
async fn idp_initiated_login_takes_the_0sp_id_or_the_api_name() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let app = App::new("Known");
    create(&s, Kind::Connected, &app).await;
    let cfg = config(&s, &app, dir.path()).await;
    let id15 = sp_id(&s, "Known").await;
    assert!(id15.starts_with("0sp") && id15.len() == 15, "{id15}");
    let state = s.control_get("/__sim/state").await;
    assert_eq!(
        state["samlApps"]["Known"]["idpInitiatedLoginUrl"],
        format!("https://acme.my.salesforce.com/idp/login?app={id15}")
    );
    for login in [id15.clone(), full_id(&id15), "Known".into()] {
        let flow = Flow::IdpInitiated;
        signed_in(&s, &mut sp, &cfg, flow, &login, None, dir.path()).await;
    }
    for unknown in ["0sp000000000000", "Nope"] {
        let answer = sign_in(&s, &mut sp, &cfg, Flow::IdpInitiated, unknown, None).await;
        assert!(
            matches!(answer.page, Page::Other(200, _)),
            "{:?}",
            answer.page
        );
        let fault = last_sign_in_fault(&s).await;
        assert_eq!(fault.as_deref(), Some("UnableToResolve"));
    }
}
