//! A SAML service provider that is not part of this project, configured only from what the
//! operator published: the pysaml2 helper `salesforce-sim/tests/sp/sp.py` (driven through the
//! simulator library's `sp_driver`: one process serving many sign-ins), given the
//! `metadata.xml` of an app's ConfigMap as its only IdP configuration, plus `xmlsec1 --verify`
//! for the signatures. The helper is the browser too: it starts the sign-in, follows it to the
//! simulated org (the metadata's My Domain URLs sent to the simulator's address) and checks the
//! posted response.
//!
//! Nothing here is skipped: without xmlsec1 or the venv the tests fail and say why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::sim::Sim;
// What the tests use of the driver (not every binary uses all of it).
#[allow(unused_imports)]
pub use salesforce_sim::sp_driver::{
    ASSERTION_SIGNATURE, FLOWS, Flow, RESPONSE_SIGNATURE, SpProcess, response_xml, unique,
    xmlsec_verify,
};

/// The service provider of one app: its entity id and ACS URL, and the IdP metadata file it
/// loaded (from the ConfigMap).
#[derive(Clone, Debug)]
pub struct SpApp {
    pub entity_id: String,
    pub acs_url: String,
    pub metadata: PathBuf,
}

impl SpApp {
    fn json(&self) -> Value {
        json!({"entityId": self.entity_id, "acsUrl": self.acs_url})
    }
}

/// One running SP helper process, and the directory of the files it reads.
pub struct Sp {
    process: SpProcess,
    /// Where the metadata files it loads are written.
    pub dir: tempfile::TempDir,
}

impl Sp {
    pub fn start() -> Sp {
        Sp {
            process: SpProcess::start(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Loads `metadata.xml` of a ConfigMap's data: a new file each time, so the helper (which
    /// keeps a client per file and modification time) rebuilds its configuration from it.
    pub fn load(&self, data: &BTreeMap<String, String>, entity_id: &str, acs_url: &str) -> SpApp {
        let xml = data
            .get("metadata.xml")
            .unwrap_or_else(|| panic!("no metadata.xml in the ConfigMap: {:?}", data.keys()));
        SpApp {
            entity_id: entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            metadata: self.write(&format!("metadata-{}.xml", unique()), xml),
        }
    }

    /// Writes `text` to `name` in the helper's directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// A whole sign-in of `username` by `flow` to the app `login_app` (the `app=` of the
    /// IdP-initiated flow: its API name), checked by the SP `sp`: the helper's verdict (`ok`,
    /// `nameId`, `attributes`, ... or `ok: false` with a `reason`), with `samlResponse`.
    pub fn sign_in(
        &mut self,
        sim: &Sim,
        sp: &SpApp,
        flow: Flow,
        login_app: &str,
        username: &str,
        relay: Option<&str>,
    ) -> Value {
        let v = self.process.call(&json!({
            "op": "signin", "flow": flow.helper_name(), "relayState": relay,
            "idpBaseUrl": sim.url, "caFile": sim.ca_file, "app": login_app,
            "username": username, "idpMetadata": sp.metadata, "sp": sp.json(),
        }));
        assert_ne!(v["reason"], "badRequest", "SP helper: {v}");
        v
    }

    /// The SP's verdict on a `SAMLResponse` (base64) posted to it unsolicited.
    pub fn accept(&mut self, sp: &SpApp, saml_response: &str) -> Value {
        let v = self.process.call(&json!({
            "op": "response", "samlResponse": saml_response, "inResponseTo": null,
            "idpMetadata": sp.metadata, "sp": sp.json(),
        }));
        assert_ne!(v["reason"], "badRequest", "SP helper: {v}");
        v
    }
}

/// Both signatures of a posted response (base64), each verified by `xmlsec1` with `cert_pem`.
pub fn verify_both(saml_response: &str, cert_pem: &Path, dir: &Path) -> Result<(), String> {
    let xml = response_xml(saml_response);
    xmlsec_verify(&xml, RESPONSE_SIGNATURE, cert_pem, dir)?;
    xmlsec_verify(&xml, ASSERTION_SIGNATURE, cert_pem, dir)
}

/// The signing certificates of an IdP metadata document (base64 DER, whitespace removed), in
/// document order, and its `entityID`.
pub fn metadata_keys(xml: &str) -> (String, Vec<String>) {
    let doc = roxmltree::Document::parse(xml).expect("metadata XML");
    let root = doc.root_element();
    let entity = root.attribute("entityID").unwrap_or_default().to_owned();
    let keys = root
        .descendants()
        .filter(|n| n.has_tag_name("KeyDescriptor") && n.attribute("use") != Some("encryption"))
        .filter_map(|kd| kd.descendants().find(|n| n.has_tag_name("X509Certificate")))
        .map(|c| c.text().unwrap_or_default().split_whitespace().collect())
        .collect();
    (entity, keys)
}

/// The base64 DER of a PEM certificate.
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.split_whitespace())
        .collect()
}
