//! A browser between the SP helper and the simulated org: starts a sign-in (SP-initiated by
//! either binding, or IdP-initiated), follows it to the org's answer, and hands the posted
//! response to the SP. The org's URLs in the metadata are on its My Domain
//! (`https://acme.my.salesforce.com`); the browser sends them to the simulator's address.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::Sim;
use crate::saml::sp::{self, Page, Sp, SpConfig};

pub const MY_DOMAIN: &str = "https://acme.my.salesforce.com";

pub use salesforce_sim::sp_driver::{FLOWS, Flow};

/// The org's answer to a sign-in, and the request it answers (SP-initiated).
#[derive(Debug)]
pub struct Answer {
    pub page: Page,
    pub request_id: Option<String>,
}

fn to_sim(s: &Sim, url: &str) -> String {
    assert!(url.starts_with(MY_DOMAIN), "{url} is not on My Domain");
    format!("{}{}", s.url, &url[MY_DOMAIN.len()..])
}

/// Runs a sign-in. `login_app` is the `app=` of the IdP-initiated flow.
pub async fn sign_in(
    s: &Sim,
    sp: &mut Sp,
    cfg: &SpConfig,
    flow: Flow,
    login_app: &str,
    relay: Option<&str>,
) -> Answer {
    let (resp, request_id) = match flow {
        Flow::Redirect | Flow::Post => {
            let binding = if flow == Flow::Redirect {
                "redirect"
            } else {
                "post"
            };
            let start = sp.call(&json!({
                "op": "request", "binding": binding, "relayState": relay,
                "idpMetadata": cfg.metadata, "sp": cfg.json(),
            }));
            assert_eq!(start["ok"], true, "SP request: {start}");
            let url = to_sim(s, start["url"].as_str().expect("url"));
            let resp = if flow == Flow::Redirect {
                s.client.get(url).send().await
            } else {
                let form: Vec<(String, String)> = start["form"]
                    .as_object()
                    .expect("form")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect();
                s.client.post(url).form(&form).send().await
            };
            (resp, start["requestId"].as_str().map(str::to_owned))
        }
        Flow::IdpInitiated => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("app", login_app);
            if let Some(r) = relay {
                query.append_pair("RelayState", r);
            }
            let url = s.u(&format!("/idp/login?{}", query.finish()));
            let resp = s.client.get(url).send().await;
            (resp, None)
        }
    };
    let resp = resp.expect("sign-in request");
    let status = resp.status().as_u16();
    let page = sp::parse_page(status, resp.text().await.expect("page"));
    Answer { page, request_id }
}

/// The SP's verdict on the response in `answer` (which must be a form).
pub fn accept(sp: &mut Sp, cfg: &SpConfig, answer: &Answer) -> Value {
    let Page::Form {
        saml_response,
        relay_state,
        ..
    } = &answer.page
    else {
        panic!("no response to accept: {:?}", answer.page);
    };
    sp.call(&json!({
        "op": "response", "samlResponse": saml_response, "relayState": relay_state,
        "inResponseTo": answer.request_id, "idpMetadata": cfg.metadata, "sp": cfg.json(),
    }))
}

/// A sign-in that must succeed: the form goes to the app's ACS URL, `xmlsec1` verifies the
/// response's and the assertion's signatures with the certificate of the SP's metadata (the
/// assertion after decrypting it with `decrypt_key`, when encrypted), and the SP accepts it.
/// Returns the SP's verdict and the response XML.
pub async fn signed_in(
    s: &Sim,
    sp: &mut Sp,
    cfg: &SpConfig,
    flow: Flow,
    login_app: &str,
    relay: Option<&str>,
    dir: &Path,
) -> (Value, String) {
    let answer = sign_in(s, sp, cfg, flow, login_app, relay).await;
    let Page::Form {
        action,
        saml_response,
        relay_state,
    } = &answer.page
    else {
        panic!(
            "{flow:?} sign-in to {login_app}: no response: {:?}",
            answer.page
        );
    };
    assert_eq!(
        action, &cfg.acs_url,
        "{flow:?}: the form goes to the ACS URL"
    );
    assert_eq!(relay_state.as_deref(), relay, "{flow:?}: RelayState");
    let xml = sp::response_xml(saml_response);
    let cert = sp::metadata_cert(&cfg.metadata);
    let root_sig = "/*[local-name()='Response']/*[local-name()='Signature']";
    sp::xmlsec_verify(&xml, root_sig, &cert, dir)
        .unwrap_or_else(|e| panic!("{flow:?}: xmlsec1 refuses the response signature: {e}\n{xml}"));
    let assertion_sig = "//*[local-name()='Assertion']/*[local-name()='Signature']";
    let plain = match &cfg.encryption {
        Some((key, _)) => {
            assert!(
                xml.contains("EncryptedAssertion"),
                "{flow:?}: not encrypted"
            );
            assert!(
                !xml.contains("<saml:Assertion"),
                "{flow:?}: plain assertion"
            );
            sp::xmlsec_decrypt(&xml, key, dir)
        }
        None => xml.clone(),
    };
    sp::xmlsec_verify(&plain, assertion_sig, &cert, dir)
        .unwrap_or_else(|e| panic!("{flow:?}: xmlsec1 refuses the assertion signature: {e}"));
    let verdict = accept(sp, cfg, &answer);
    assert_eq!(
        verdict["ok"], true,
        "{flow:?} to {login_app}: SP refuses: {verdict}"
    );
    assert_eq!(
        verdict["inResponseTo"].as_str(),
        answer.request_id.as_deref(),
        "{flow:?}: InResponseTo"
    );
    (verdict, plain)
}
