//! The service provider side of the sign-in tests: the pysaml2 helper
//! (`salesforce-sim/tests/sp/sp.py`, venv from `hack/sp-venv.sh`), `xmlsec1 --verify`, and the
//! browser steps between them (send the `AuthnRequest`, read the auto-post form).
//!
//! Nothing here is skipped: without xmlsec1 or the venv the tests fail and say why.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::Sim;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The venv python of the SP helper (built once per test binary; installs xmlsec1 if needed).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = repo_root().join("hack/sp-venv.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "hack/sp-venv.sh failed (it needs python3 with venv, PyPI and xmlsec1):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
    })
}

/// `xmlsec1`, installed with apt-get when missing; the test fails when it cannot be had.
fn xmlsec1() -> &'static str {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let have = || Command::new("xmlsec1").arg("--version").output().is_ok();
        if !have() {
            let _ = Command::new("apt-get")
                .args(["install", "-y", "-qq", "xmlsec1"])
                .output();
        }
        assert!(
            have(),
            "xmlsec1 is missing and apt-get could not install it: install the Debian package xmlsec1"
        );
    });
    "xmlsec1"
}

/// One running SP helper process (JSON Lines over stdin/stdout).
pub struct Sp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sp {
    pub fn start() -> Sp {
        let script = repo_root().join("salesforce-sim/tests/sp/sp.py");
        let mut child = Command::new(python())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Sp {
            child,
            stdin,
            stdout,
        }
    }

    /// One request, one answer.
    pub fn call(&mut self, request: &Value) -> Value {
        writeln!(self.stdin, "{request}").expect("write to the SP helper");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read the SP helper");
        assert!(!line.is_empty(), "the SP helper exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("SP answer {line:?}: {e}"))
    }
}

impl Drop for Sp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let path = dir.join(format!("{app}-{}.xml", rand_suffix()));
    std::fs::write(&path, r.text().await.expect("metadata text")).expect("write metadata");
    path
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst).to_string()
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

/// The decoded XML of a posted `SAMLResponse`.
pub fn response_xml(saml_response: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(saml_response)
        .expect("SAMLResponse is base64");
    String::from_utf8(bytes).expect("SAMLResponse is UTF-8")
}

/// Checks with `xmlsec1 --verify` that the signature at `xpath` in `xml` verifies with the
/// certificate `cert_pem` (and only with it: the KeyInfo certificate is not used).
pub fn xmlsec_verify(xml: &str, xpath: &str, cert_pem: &Path, dir: &Path) -> Result<(), String> {
    let file = dir.join(format!("response-{}.xml", rand_suffix()));
    std::fs::write(&file, xml).expect("write response");
    let out = Command::new(xmlsec1())
        .args(["--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem"])
        .arg(cert_pem)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .args(["--node-xpath", xpath])
        .arg(&file)
        .output()
        .expect("run xmlsec1");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Decrypts the `EncryptedAssertion` of `xml` with `key` (`xmlsec1 --decrypt`).
pub fn xmlsec_decrypt(xml: &str, key: &Path, dir: &Path) -> String {
    let file = dir.join(format!("encrypted-{}.xml", rand_suffix()));
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
