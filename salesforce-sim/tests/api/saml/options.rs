//! App settings that change the exchange: request signatures checked with the app's
//! certificate, encrypted assertions (AES-128/256, CBC or GCM), SHA-1 signatures, the app's own
//! issuer, the IdP-initiated RelayState, and times on the simulator clock.

use std::path::Path;

use jiff::Timestamp;
use serde_json::json;

use crate::harness::Sim;
use crate::saml::flow::{FLOWS, Flow, accept, sign_in, signed_in};
use crate::saml::sp::{Page, Sp, SpConfig, key_pair};
use crate::saml::{AGENT, App, KINDS, Kind, config, create, last_sign_in_fault, session, start};

#[tokio::test]
async fn request_signatures_are_checked_with_the_apps_certificate() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let (key, cert, cert_pem) = key_pair(dir.path(), "sp-signing");
    let (other_key, other_cert, _) = key_pair(dir.path(), "sp-other");
    for kind in KINDS {
        let mut app = App::new(&format!("{kind:?}_Signed"));
        app.request_cert = Some(cert_pem.clone());
        create(&s, kind, &app).await;
        let plain = config(&s, &app, dir.path()).await;
        for alg in ["rsa-sha256", "rsa-sha1"] {
            let cfg = SpConfig {
                signing: Some((key.clone(), cert.clone(), alg)),
                ..plain.clone()
            };
            for flow in [Flow::Redirect, Flow::Post] {
                let (v, _) = signed_in(&s, &mut sp, &cfg, flow, "", None, dir.path()).await;
                assert_eq!(v["nameId"], AGENT, "{kind:?} {alg} {flow:?}");
            }
        }
        let forged = SpConfig {
            signing: Some((other_key.clone(), other_cert.clone(), "rsa-sha256")),
            ..plain.clone()
        };
        for (cfg, what) in [(&plain, "unsigned"), (&forged, "signed by another key")] {
            for flow in [Flow::Redirect, Flow::Post] {
                let answer = sign_in(&s, &mut sp, cfg, flow, "", None).await;
                let Page::Other(200, html) = &answer.page else {
                    panic!("{kind:?} {what} {flow:?}: {:?}", answer.page);
                };
                assert!(html.contains("Error: Invalid Signature"), "{html}");
                assert_eq!(
                    last_sign_in_fault(&s).await.as_deref(),
                    Some("InvalidSignature"),
                    "{kind:?} {what} {flow:?}"
                );
            }
        }
        // IdP-initiated sign-in has no request to sign.
        let login = format!("{kind:?}_Signed");
        let (v, _) = signed_in(
            &s,
            &mut sp,
            &plain,
            Flow::IdpInitiated,
            &login,
            None,
            dir.path(),
        )
        .await;
        assert_eq!(v["nameId"], AGENT);
    }
}

async fn encrypted(s: &Sim, sp: &mut Sp, kind: Kind, enc: &str, mode: &str, dir: &Path) {
    let (key, cert, cert_pem) = key_pair(dir, &format!("enc-{kind:?}-{enc}-{mode}"));
    let mut app = App::new(&format!("{kind:?}_{enc}_{mode}"));
    app.encryption_cert = Some(cert_pem);
    app.encryption_type = Some(match enc {
        "AES_128" => "AES_128",
        _ => "AES_256",
    });
    create(s, kind, &app).await;
    let cfg = SpConfig {
        encryption: Some((key, cert)),
        ..config(s, &app, dir).await
    };
    let bits = if enc == "AES_128" { "128" } else { "256" };
    let uri = match mode {
        "CBC" => format!("http://www.w3.org/2001/04/xmlenc#aes{bits}-cbc"),
        _ => format!("http://www.w3.org/2009/xmlenc11#aes{bits}-gcm"),
    };
    for flow in FLOWS {
        let (v, _) = signed_in(s, sp, &cfg, flow, &app.name, None, dir).await;
        assert_eq!(v["nameId"], AGENT, "{kind:?} {enc} {mode} {flow:?}");
    }
    // The response on the wire names the cipher.
    let answer = sign_in(s, sp, &cfg, Flow::IdpInitiated, &app.name, None).await;
    let Page::Form { saml_response, .. } = &answer.page else {
        panic!("{:?}", answer.page)
    };
    let xml = crate::saml::sp::response_xml(saml_response);
    assert!(
        xml.contains(&format!(r#"<xenc:EncryptionMethod Algorithm="{uri}"/>"#)),
        "{xml}"
    );
    assert!(
        xml.contains("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
        "{xml}"
    );
}

#[tokio::test]
async fn encrypted_assertions_are_decrypted_by_the_sp() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    for mode in ["CBC", "GCM"] {
        let (code, body) = s
            .control_post("/__sim/policy", json!({"samlEncryptionBlockMode": mode}))
            .await;
        assert_eq!(code, 200, "{body}");
        for kind in KINDS {
            for enc in ["AES_128", "AES_256"] {
                encrypted(&s, &mut sp, kind, enc, mode, dir.path()).await;
            }
        }
    }
    // Triple DES (retired by Salesforce for SAML) gives the error page.
    let mut app = App::new("Legacy_3DES");
    app.encryption_cert = Some(key_pair(dir.path(), "legacy").2);
    app.encryption_type = Some("Triple_Des");
    create(&s, Kind::Connected, &app).await;
    let cfg = config(&s, &app, dir.path()).await;
    let answer = sign_in(&s, &mut sp, &cfg, Flow::IdpInitiated, "Legacy_3DES", None).await;
    assert!(
        matches!(answer.page, Page::Other(200, _)),
        "{:?}",
        answer.page
    );
    assert_eq!(last_sign_in_fault(&s).await.as_deref(), Some("InvalidSp"));
}

#[tokio::test]
async fn sha1_signatures_and_the_apps_own_issuer() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    for kind in KINDS {
        let mut app = App::new(&format!("{kind:?}_Sha1"));
        app.signing = Some("SHA1");
        app.issuer = Some(format!("https://idp.acme.example/{kind:?}"));
        create(&s, kind, &app).await;
        let cfg = config(&s, &app, dir.path()).await;
        let md = std::fs::read_to_string(&cfg.metadata).expect("metadata");
        assert!(md.contains(&format!(r#"entityID="https://idp.acme.example/{kind:?}""#)));
        for flow in FLOWS {
            let (v, xml) = signed_in(&s, &mut sp, &cfg, flow, &app.name, None, dir.path()).await;
            assert_eq!(v["issuer"], format!("https://idp.acme.example/{kind:?}"));
            assert!(
                xml.contains("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
                "{xml}"
            );
            assert!(xml.contains(
                r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#
            ));
            assert!(!xml.contains("rsa-sha256"), "{xml}");
        }
    }
}

fn attribute<'a>(xml: &'a str, element: &str, name: &str) -> &'a str {
    let at = xml
        .find(&format!("<{element} "))
        .unwrap_or_else(|| panic!("no {element}"));
    let rest = &xml[at..];
    let start = rest.find(&format!(" {name}=\"")).expect("attribute") + name.len() + 3;
    let end = rest[start..].find('"').expect("end");
    &rest[start..start + end]
}

#[tokio::test]
async fn times_follow_the_simulator_clock_and_relay_state_defaults_to_the_start_url() {
    let s = start();
    // The session starts, then the org's clock goes back two minutes (still valid for the SP).
    session(&s, AGENT).await;
    let (code, _) = s
        .control_post("/__sim/clock", json!({"advanceSeconds": -120}))
        .await;
    assert_eq!(code, 200);
    let state = s.control_get("/__sim/state").await;
    let sim_now: Timestamp = state["now"]
        .as_str()
        .expect("now")
        .parse()
        .expect("timestamp");
    let since: Timestamp = state["samlSession"]["since"]
        .as_str()
        .expect("since")
        .parse()
        .expect("since");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let mut app = App::new("Clocked");
    app.start_url = Some("https://sp.example.com/Clocked/home".into());
    create(&s, Kind::Connected, &app).await;
    let cfg = config(&s, &app, dir.path()).await;
    // IdP-initiated without RelayState: the app's start URL is sent.
    let answer = sign_in(&s, &mut sp, &cfg, Flow::IdpInitiated, "Clocked", None).await;
    let Page::Form {
        relay_state,
        saml_response,
        ..
    } = &answer.page
    else {
        panic!("{:?}", answer.page)
    };
    assert_eq!(
        relay_state.as_deref(),
        Some("https://sp.example.com/Clocked/home")
    );
    let v = accept(&mut sp, &cfg, &answer);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["nameId"], AGENT);
    let xml = crate::saml::sp::response_xml(saml_response);
    let t = |element: &str, name: &str| -> Timestamp {
        attribute(&xml, element, name).parse().expect("time")
    };
    let issued = t("saml:Assertion", "IssueInstant");
    assert!(
        issued.duration_since(sim_now).as_secs().abs() < 30,
        "{issued} vs {sim_now}"
    );
    let before = t("saml:Conditions", "NotBefore");
    let after = t("saml:Conditions", "NotOnOrAfter");
    assert_eq!(issued.duration_since(before).as_secs(), 30);
    assert_eq!(after.duration_since(issued).as_secs(), 300);
    assert_eq!(t("saml:SubjectConfirmationData", "NotOnOrAfter"), after);
    assert_eq!(
        attribute(&xml, "saml:SubjectConfirmationData", "Recipient"),
        app.acs_url
    );
    let authn = t("saml:AuthnStatement", "AuthnInstant");
    assert!(
        authn.duration_since(since).as_millis().abs() < 1,
        "{authn} vs {since}"
    );
    // IdP-initiated with RelayState: that one wins over the start URL.
    let (_, _) = signed_in(
        &s,
        &mut sp,
        &cfg,
        Flow::IdpInitiated,
        "Clocked",
        Some("/deep/link"),
        dir.path(),
    )
    .await;
}
