//! The SP helper's `signin` operation, what the operator's end-to-end test uses: one call per
//! sign-in, the helper acting as SP and browser against the simulator over HTTPS (its CA
//! trusted from a file), with only the metadata file and the SP's own settings.

use serde_json::json;

use crate::harness::{Options, Sim};
use crate::saml::sp::{Sp, metadata_cert, response_xml, xmlsec_verify};
use crate::saml::{AGENT, App, KINDS, OUTSIDER, config, create, org};

#[tokio::test]
async fn one_call_signs_in_over_https() {
    let s = Sim::start_with(Options {
        org: org(),
        https: true,
        ..Options::default()
    });
    assert!(s.url.starts_with("https://"), "{}", s.url);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, s.ca_pem().expect("CA")).expect("write CA");
    let mut sp = Sp::start();
    for kind in KINDS {
        let app = App::new(&format!("{kind:?}_Oneshot"));
        create(&s, kind, &app).await;
        let cfg = config(&s, &app, dir.path()).await;
        let call = |flow: &str, user: &str| {
            json!({"op": "signin", "flow": flow, "relayState": "rs-1", "idpBaseUrl": s.url,
                   "caFile": ca, "app": app.name, "username": user,
                   "idpMetadata": cfg.metadata, "sp": cfg.json()})
        };
        for flow in ["redirect", "post", "idp"] {
            let v = sp.call(&call(flow, AGENT));
            assert_eq!(v["ok"], true, "{kind:?} {flow}: {v}");
            assert_eq!(v["nameId"], AGENT);
            assert_eq!(v["relayState"], "rs-1");
            assert_eq!(v["inResponseTo"], v["requestId"]);
            let xml = response_xml(v["samlResponse"].as_str().expect("samlResponse"));
            let root = "/*[local-name()='Response']/*[local-name()='Signature']";
            xmlsec_verify(&xml, root, &metadata_cert(&cfg.metadata), dir.path())
                .unwrap_or_else(|e| panic!("{kind:?} {flow}: {e}"));
            // No access: the org's error page, no response.
            let v = sp.call(&call(flow, OUTSIDER));
            assert_eq!(v["ok"], false, "{v}");
            assert_eq!(v["reason"], "noResponse", "{v}");
            assert!(
                v["page"].as_str().unwrap_or("").contains("have access"),
                "{v}"
            );
        }
    }
}
