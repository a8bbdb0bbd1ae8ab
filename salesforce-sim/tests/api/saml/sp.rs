//! The service provider side of the sign-in tests: the pysaml2 helper and `xmlsec1 --verify`
//! (the library's `sp_driver`, shared with the operator's tests), the SP's settings, and the
//! browser steps between them (send the `AuthnRequest`, read the auto-post form).
//!
//! Nothing here is skipped: without xmlsec1 or the venv the tests fail and say why.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::Sim;

pub use salesforce_sim::sp_driver::{SpProcess as Sp, response_xml, xmlsec_verify};
use salesforce_sim::sp_driver::{unique, xmlsec1};

/// The SP's own configuration (files in `dir`): entity id, ACS URL, optional key pairs.
#[derive(Clone)]
pub struct SpConfig {
    pub entity_id: String,
    pub acs_url: String,
    pub metadata: PathBuf,
    pub signing: Option<(PathBuf, PathBuf, &'static str)>,
    pub encryption: Option<(PathBuf, PathBuf)>,
}

impl SpConfig {
    pub fn json(&self) -> Value {
        let mut sp = json!({"entityId": self.entity_id, "acsUrl": self.acs_url});
        if let Some((key, cert, alg)) = &self.signing {
            sp["signingKey"] = json!(key);
            sp["signingCert"] = json!(cert);
            sp["signatureAlgorithm"] = json!(alg);
        }
        if let Some((key, cert)) = &self.encryption {
            sp["encryptionKey"] = json!(key);
            sp["encryptionCert"] = json!(cert);
        }
        sp
    }
}

/// Writes a key pair for an SP into `dir`: (key path, cert path, cert PEM).
pub fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let pair = salesforce_sim::client_key_pair(name).expect("key pair");
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    std::fs::write(&key, &pair.key_pem).expect("write key");
    std::fs::write(&cert, &pair.cert_pem).expect("write cert");
    (key, cert, pair.cert_pem)
}

/// Downloads the per-app IdP metadata into `dir` (what the SP is configured from).
pub async fn metadata(s: &Sim, app: &str, dir: &Path) -> PathBuf {
    let r = s
        .client
        .get(s.u(&format!("/.well-known/samlidp/{app}.xml")))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.status(), 200, "metadata of {app}");
    let path = dir.join(format!("{app}-{}.xml", unique()));
    std::fs::write(&path, r.text().await.expect("metadata text")).expect("write metadata");
    path
}

/// What the org answered a sign-in with.
#[derive(Debug)]
pub enum Page {
    /// The auto-post form: its action, `SAMLResponse` (base64) and `RelayState`.
    Form {
        action: String,
        saml_response: String,
        relay_state: Option<String>,
    },
    /// Anything else (error page, login page): status and body.
    Other(u16, String),
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the attribute `name="…"` that follows `after` in `html`.
fn attr_after(html: &str, after: &str, name: &str) -> Option<String> {
    let rest = &html[html.find(after)? + after.len()..];
    let start = rest.find(&format!("{name}=\""))? + name.len() + 2;
    let end = rest[start..].find('"')?;
    Some(unescape(&rest[start..start + end]))
}

pub fn parse_page(status: u16, html: String) -> Page {
    let form = html.contains(r#"<form method="post""#) && html.contains(r#"name="SAMLResponse""#);
    if status != 200 || !form {
        return Page::Other(status, html);
    }
    Page::Form {
        action: attr_after(&html, "<form", "action").expect("form action"),
        saml_response: attr_after(&html, r#"name="SAMLResponse""#, "value").expect("SAMLResponse"),
        relay_state: attr_after(&html, r#"name="RelayState""#, "value"),
    }
}

/// Decrypts the `EncryptedAssertion` of `xml` with `key` (`xmlsec1 --decrypt`).
pub fn xmlsec_decrypt(xml: &str, key: &Path, dir: &Path) -> String {
    let file = dir.join(format!("encrypted-{}.xml", unique()));
    std::fs::write(&file, xml).expect("write response");
    let out = Command::new(xmlsec1())
        .args(["--decrypt", "--privkey-pem"])
        .arg(key)
        .arg(&file)
        .output()
        .expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 --decrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The IdP certificate of a metadata file, as a PEM file next to it.
pub fn metadata_cert(metadata: &Path) -> PathBuf {
    let xml = std::fs::read_to_string(metadata).expect("metadata");
    let start = xml.find("<ds:X509Certificate>").expect("certificate") + 20;
    let end = xml[start..].find('<').expect("end") + start;
    let body: String = xml[start..end].split_whitespace().collect();
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64"))
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let path = metadata.with_extension("crt");
    std::fs::write(&path, pem).expect("write cert");
    path
}
