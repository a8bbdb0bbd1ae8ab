//! What the SP refuses, for the right reason: a response for another app (audience; another
//! ACS URL: destination), an expired one (the org's clock set back), and one signed with a
//! certificate its metadata does not have (the org switched its IdP certificate; reloaded from
//! the metadata published then, the SP accepts again).

use serde_json::json;

use crate::saml::flow::{Answer, FLOWS, Flow, accept, sign_in, signed_in};
use crate::saml::sp::{Page, Sp, SpConfig, metadata_cert, response_xml, xmlsec_verify};
use crate::saml::{AGENT, App, KINDS, config, create, session, start};

fn refused(sp: &mut Sp, cfg: &SpConfig, answer: &Answer) -> String {
    let v = accept(sp, cfg, answer);
    assert_eq!(v["ok"], false, "the SP accepted: {v}");
    assert_ne!(v["reason"], "badRequest", "{v}");
    v["reason"].as_str().expect("reason").to_owned()
}

#[tokio::test]
async fn the_sp_refuses_another_apps_an_expired_and_a_foreign_signed_response() {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    for kind in KINDS {
        // Two apps of one vendor: one ACS URL, two entity ids; a third with its own ACS URL.
        let mut mine = App::new(&format!("{kind:?}_Mine"));
        let mut theirs = App::new(&format!("{kind:?}_Theirs"));
        let elsewhere = App::new(&format!("{kind:?}_Elsewhere"));
        mine.acs_url = "https://sp.example.com/shared/acs".into();
        theirs.acs_url = mine.acs_url.clone();
        for app in [&mine, &theirs, &elsewhere] {
            create(&s, kind, app).await;
        }
        let cfg = config(&s, &mine, dir.path()).await;
        for other in [&theirs.name, &elsewhere.name] {
            let answer = sign_in(&s, &mut sp, &cfg, Flow::IdpInitiated, other, None).await;
            let reason = refused(&mut sp, &cfg, &answer);
            let expected = if other == &theirs.name {
                "audience"
            } else {
                "destination"
            };
            assert_eq!(reason, expected, "{kind:?}: response for {other}");
        }
        // Expired: the org's clock is ten minutes behind the SP's.
        s.control_post("/__sim/clock", json!({"advanceSeconds": -600}))
            .await;
        for flow in FLOWS {
            let answer = sign_in(&s, &mut sp, &cfg, flow, &mine.name, None).await;
            assert_eq!(
                refused(&mut sp, &cfg, &answer),
                "expired",
                "{kind:?} {flow:?}"
            );
        }
        s.control_post("/__sim/clock", json!({"advanceSeconds": 600}))
            .await;
        signed_in(
            &s,
            &mut sp,
            &cfg,
            Flow::IdpInitiated,
            &mine.name,
            None,
            dir.path(),
        )
        .await;
    }
    // The org switches its IdP certificate; the SPs keep the metadata they loaded.
    let mut stale = Vec::new();
    for kind in KINDS {
        let mut app = App::new(&format!("{kind:?}_Mine"));
        app.acs_url = "https://sp.example.com/shared/acs".into();
        stale.push((kind, config(&s, &app, dir.path()).await, app));
    }
    let (code, body) = s
        .control_post(
            "/__sim/mutate",
            json!({"type": "IdentityProviderSettings", "set": {"certificateName": "SelfSignedCert_Next"}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    for (kind, old, app) in stale {
        let fresh = config(&s, &app, dir.path()).await;
        for flow in FLOWS {
            let answer = sign_in(&s, &mut sp, &old, flow, &app.name, None).await;
            assert_eq!(
                refused(&mut sp, &old, &answer),
                "signature",
                "{kind:?} {flow:?}"
            );
            let Page::Form { saml_response, .. } = &answer.page else {
                panic!("{:?}", answer.page)
            };
            let xml = response_xml(saml_response);
            let root = "/*[local-name()='Response']/*[local-name()='Signature']";
            assert!(xmlsec_verify(&xml, root, &metadata_cert(&old.metadata), dir.path()).is_err());
            // Reloaded from the metadata the org publishes now, the SP accepts.
            signed_in(&s, &mut sp, &fresh, flow, &app.name, None, dir.path()).await;
        }
    }
}
