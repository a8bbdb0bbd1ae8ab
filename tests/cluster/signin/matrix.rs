//! Every app kind × subject type × NameID format, signed in by three flows, with pysaml2
//! configured only from the ConfigMap the operator published (one operator, one org, many apps,
//! one SP process); and what the SP refuses, each for its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::e2e::{Env, Flavor};
use crate::common::sp::{FLOWS, Flow, Sp, SpApp, metadata_keys, pem_body, verify_both};
use crate::signin::{
    AGENT, AGENT_EMAIL, AGENT_EXTENSION, AGENT_FEDERATION_ID, EXTENSION_ATTR, SamlApp,
    idp_certificate, org_cert_file, seed,
};
use salesforce_sim::sp_driver::{NAME_ID_FORMATS as FORMATS, SUBJECT_TYPES as SUBJECTS};

const KINDS: [Flavor; 2] = [Flavor::Connected, Flavor::External];

fn prefix(f: Flavor) -> &'static str {
    match f {
        Flavor::Connected => "Ca",
        Flavor::External => "Eca",
    }
}

/// Applies `apps` at once, waits until all are Ready, and adds the custom attribute to each.
async fn publish(env: &Env, apps: &[SamlApp]) {
    let yaml: Vec<String> = apps.iter().map(SamlApp::manifest).collect();
    env.apply(&yaml.join("---\n"));
    for app in apps {
        env.wait_ready(&app.name, Duration::from_secs(180)).await;
        app.add_extension_attribute(env).await;
    }
}

/// The SP of `app`, configured from the app's ConfigMap only; and the ConfigMap's
/// `certificate.pem` as a file (for `xmlsec1`).
async fn sp_from_config_map(
    env: &Env,
    sp: &Sp,
    app: &SamlApp,
) -> (SpApp, std::path::PathBuf, String) {
    let data = env.config_map_data(&app.config_map()).await;
    let cert = data["certificate.pem"].clone();
    let (entity, keys) = metadata_keys(&data["metadata.xml"]);
    assert_eq!(
        keys,
        vec![pem_body(&cert)],
        "{}: one signing key, certificate.pem",
        app.name
    );
    let cert_file = sp.write(&format!("{}.crt", app.name), &cert);
    (
        sp.load(&data, &app.entity_id, &app.acs_url),
        cert_file,
        entity,
    )
}

fn attr(v: &Value, name: &str) -> Value {
    v["attributes"][name].clone()
}

#[tokio::test]
async fn k8s_signin_both_app_kinds_every_subject_type_and_name_id_format() {
    let env = Env::start("signin-matrix", seed(false)).await;
    let mut apps = Vec::new();
    for kind in KINDS {
        for subject in SUBJECTS {
            for (format, _) in FORMATS {
                let mut app = SamlApp::new(kind, &format!("{}_{subject}_{format}", prefix(kind)));
                app.subject = subject;
                app.format = format;
                apps.push(app);
            }
        }
    }
    publish(&env, &apps).await;
    let agent_id = env.sim.state().await["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == AGENT)
        .and_then(|u| u["id"].as_str())
        .expect("agent id")[..15]
        .to_owned();

    let mut sp = Sp::start();
    let mut persistent: BTreeMap<String, String> = BTreeMap::new();
    let mut signed_in = 0;
    for app in &apps {
        let (cfg, cert, entity) = sp_from_config_map(&env, &sp, app).await;
        let urn = FORMATS
            .iter()
            .find(|(f, _)| *f == app.format)
            .expect("format")
            .1;
        let mut seen = BTreeSet::new();
        for flow in FLOWS {
            let relay = format!("/home?flow={flow:?}");
            let v = sp.sign_in(&env.sim, &cfg, flow, &app.api_name, AGENT, Some(&relay));
            let what = format!("{} {flow:?}: {v}", app.name);
            assert_eq!(v["ok"], true, "refused: {what}");
            signed_in += 1;
            assert_eq!(v["nameIdFormat"], urn, "{what}");
            let name_id = v["nameId"].as_str().expect("nameId").to_owned();
            let expected = match app.subject {
                "Username" => Some(AGENT),
                "FederationId" => Some(AGENT_FEDERATION_ID),
                "UserId" => Some(agent_id.as_str()),
                "CustomAttribute" => Some(AGENT_EXTENSION),
                _ => None,
            };
            match expected {
                Some(e) => assert_eq!(name_id, e, "{what}"),
                // Persistent ids are opaque: not the username, the id or the Federation ID.
                None => assert!(
                    name_id.len() >= 16 && ![AGENT, &agent_id].contains(&name_id.as_str()),
                    "{what}"
                ),
            }
            seen.insert(name_id);
            assert_eq!(v["issuer"], entity, "{what}");
            assert_eq!(v["audience"], json!([app.entity_id]), "{what}");
            assert_eq!(v["relayState"], relay, "{what}");
            if flow != Flow::IdpInitiated {
                assert_eq!(v["inResponseTo"], v["requestId"], "{what}");
            }
            assert_eq!(attr(&v, "username"), json!([AGENT]), "{what}");
            assert_eq!(attr(&v, "userId"), json!([agent_id]), "{what}");
            assert_eq!(attr(&v, "email"), json!([AGENT_EMAIL]), "{what}");
            assert_eq!(attr(&v, EXTENSION_ATTR), json!([AGENT_EXTENSION]), "{what}");
            // xmlsec1 accepts both signatures with the published certificate.
            let response = v["samlResponse"].as_str().expect("samlResponse");
            if let Err(e) = verify_both(response, &cert, sp.dir.path()) {
                panic!("xmlsec1 --verify refused {what}: {e}");
            }
        }
        // One NameID per user and app, whatever the flow.
        assert_eq!(seen.len(), 1, "{}: {seen:?}", app.name);
        if app.subject == "PersistentId" {
            persistent.insert(app.name.clone(), seen.pop_first().expect("one"));
        }
    }
    assert_eq!(signed_in, 2 * 5 * 4 * 3);
    // A persistent id differs between apps (pairwise).
    let distinct: BTreeSet<&String> = persistent.values().collect();
    assert_eq!(distinct.len(), persistent.len(), "{persistent:?}");
}

/// The `SAMLResponse` of the auto-post form the org answers an IdP-initiated sign-in to `app`
/// with (the browser's part, without the SP's ACS URL check the helper makes).
async fn idp_initiated_response(env: &Env, app: &str) -> String {
    env.sim
        .control("/__sim/saml/session", json!({"username": AGENT}))
        .await;
    let (status, page) = env.sim.get(&format!("/idp/login?app={app}")).await;
    assert_eq!(status, 200, "{page}");
    let at = page
        .find(r#"name="SAMLResponse""#)
        .expect("SAMLResponse input");
    let rest = &page[at..];
    let start = rest.find(r#"value=""#).expect("value") + 7;
    let end = rest[start..].find('"').expect("end of value");
    rest[start..start + end].to_owned()
}

/// A refusal by the SP library itself (not the helper's browser part), and its reason.
fn refusal(v: &Value, what: &str) -> String {
    assert_eq!(v["ok"], false, "the SP accepted {what}: {v}");
    assert!(
        !["noResponse", "wrongAcs"].contains(&v["reason"].as_str().unwrap_or_default()),
        "{what}: the org answered no response: {v}"
    );
    v["reason"].as_str().expect("reason").to_owned()
}

#[tokio::test]
async fn k8s_signin_the_sp_refuses_another_apps_an_expired_and_a_foreign_signed_response() {
    let env = Env::start("signin-refuse", seed(false)).await;
    let mut apps = Vec::new();
    for kind in KINDS {
        // One vendor, one ACS URL, two entity ids (Mine, Theirs); a third app with its own ACS URL.
        let mut mine = SamlApp::new(kind, &format!("{}_Mine", prefix(kind)));
        let mut theirs = SamlApp::new(kind, &format!("{}_Theirs", prefix(kind)));
        mine.acs_url = format!("https://sp.vendor.example/{}/acs", prefix(kind));
        theirs.acs_url = mine.acs_url.clone();
        let elsewhere = SamlApp::new(kind, &format!("{}_Elsewhere", prefix(kind)));
        apps.extend([mine, theirs, elsewhere]);
    }
    publish(&env, &apps).await;
    let mut sp = Sp::start();
    let mut refused = 0;
    for trio in apps.chunks(3) {
        let [mine, theirs, elsewhere] = trio else {
            unreachable!()
        };
        let kind = mine.flavor;
        let (cfg, _, _) = sp_from_config_map(&env, &sp, mine).await;
        let ok = |v: &Value, what: &str| assert_eq!(v["ok"], true, "{what}: {v}");

        // Another app's response, posted to this SP's ACS URL: not for its audience.
        let v = sp.sign_in(
            &env.sim,
            &cfg,
            Flow::IdpInitiated,
            &theirs.api_name,
            AGENT,
            None,
        );
        assert_eq!(refusal(&v, "Theirs"), "audience", "{kind:?}: {v}");
        // Another app's response for another ACS URL, posted here anyway: wrong destination.
        let response = idp_initiated_response(&env, &elsewhere.api_name).await;
        let v = sp.accept(&cfg, &response);
        assert_eq!(refusal(&v, "Elsewhere"), "destination", "{kind:?}: {v}");
        refused += 2;

        // Expired: the org's clock ten minutes behind the SP's (the SP allows no skew).
        env.sim.advance_clock(-600).await;
        let verdicts: Vec<Value> = FLOWS
            .iter()
            .map(|&f| sp.sign_in(&env.sim, &cfg, f, &mine.api_name, AGENT, None))
            .collect();
        env.sim.advance_clock(600).await;
        for (flow, v) in FLOWS.iter().zip(&verdicts) {
            assert_eq!(refusal(v, "expired"), "expired", "{kind:?} {flow:?}: {v}");
            refused += 1;
        }
        let v = sp.sign_in(&env.sim, &cfg, Flow::Post, &mine.api_name, AGENT, None);
        ok(&v, "the clock set right again");
    }

    // Signed with a certificate the metadata lacks: the org switched by hand to another one.
    let configs: Vec<(SamlApp, SpApp)> = {
        let mut out = Vec::new();
        for app in apps.iter().step_by(3) {
            out.push((app.clone(), sp_from_config_map(&env, &sp, app).await.0));
        }
        out
    };
    let other = org_cert_file(&env, "SelfSignedCert_Other", sp.dir.path()).await;
    let set_idp =
        |cert: &str| json!({"type": "IdentityProviderSettings", "set": {"certificateName": cert}});
    env.sim
        .control("/__sim/mutate", set_idp("SelfSignedCert_Other"))
        .await;
    assert_eq!(idp_certificate(&env).await, "SelfSignedCert_Other");
    let mut verdicts = Vec::new();
    for (app, cfg) in &configs {
        for flow in FLOWS {
            let v = sp.sign_in(&env.sim, cfg, flow, &app.api_name, AGENT, None);
            verdicts.push((app.name.clone(), flow, v));
        }
    }
    env.sim
        .control("/__sim/mutate", set_idp("SelfSignedCert_IdP"))
        .await;
    for (name, flow, v) in &verdicts {
        assert_eq!(refusal(v, "foreign"), "signature", "{name} {flow:?}: {v}");
        refused += 1;
        // A good signature, only by a certificate the SP was never given.
        let response = v["samlResponse"].as_str().expect("samlResponse");
        verify_both(response, &other, sp.dir.path()).unwrap_or_else(|e| {
            panic!("{name} {flow:?}: not signed by the other certificate: {e}")
        });
    }
    for (app, cfg) in &configs {
        let v = sp.sign_in(&env.sim, cfg, Flow::Redirect, &app.api_name, AGENT, None);
        assert_eq!(v["ok"], true, "{} after switching back: {v}", app.name);
    }
    assert_eq!(refused, 2 * (2 + 3 + 3));
}
