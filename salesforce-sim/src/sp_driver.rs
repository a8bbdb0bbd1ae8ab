//! The service-provider side of the sign-in tests, shared by the simulator's tests and the
//! operator's: the pysaml2 helper `tests/sp/sp.py` (PyPI, not part of this project; venv built by
//! `hack/sp-venv.sh`) run as one process serving JSON Lines, `xmlsec1 --verify` for signatures,
//! and the subject types, NameID formats and flows a sign-in test covers. Nothing of the server
//! uses this module; it is here so both test harnesses drive the SP the same way.
//!
//! Nothing here skips: without xmlsec1 or the venv the calling test fails and says why.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use serde_json::Value;

/// The subject types (WSDL `SamlSubjectType`) a sign-in test covers; `SpokeId` (Identity Connect)
/// is not simulated.
pub const SUBJECT_TYPES: [&str; 5] = [
    "Username",
    "FederationId",
    "UserId",
    "CustomAttribute",
    "PersistentId",
];

/// The NameID formats (WSDL `SamlNameIdFormat`) and their URNs.
pub const NAME_ID_FORMATS: [(&str, &str); 4] = [
    (
        "Unspecified",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    ),
    (
        "EmailAddress",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    ),
    (
        "Persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    ),
    (
        "Transient",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ),
];

/// How a sign-in starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// SP-initiated, `AuthnRequest` by HTTP-Redirect.
    Redirect,
    /// SP-initiated, `AuthnRequest` by HTTP-POST.
    Post,
    /// IdP-initiated (`/idp/login?app=`).
    IdpInitiated,
}

pub const FLOWS: [Flow; 3] = [Flow::Redirect, Flow::Post, Flow::IdpInitiated];

impl Flow {
    /// The helper's name of the flow (`"flow"` of its `signin` op).
    pub fn helper_name(self) -> &'static str {
        match self {
            Flow::Redirect => "redirect",
            Flow::Post => "post",
            Flow::IdpInitiated => "idp",
        }
    }
}

/// The repository's root (this crate is one level below it).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

/// The venv python of the SP helper (built once per process; installs xmlsec1 if needed).
pub fn sp_python() -> &'static Path {
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

/// `xmlsec1`, installed with apt-get when missing; panics when it cannot be had.
pub fn xmlsec1() -> &'static str {
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

/// One running SP helper process (JSON Lines over stdin/stdout; its log goes to stderr).
pub struct SpProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl SpProcess {
    pub fn start() -> SpProcess {
        let script = repo_root().join("salesforce-sim/tests/sp/sp.py");
        let mut child = Command::new(sp_python())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        SpProcess {
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

impl Drop for SpProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A number unique in this process (for file names).
pub fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The decoded XML of a posted `SAMLResponse`.
pub fn response_xml(saml_response: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(saml_response)
        .expect("SAMLResponse is base64");
    String::from_utf8(bytes).expect("SAMLResponse is UTF-8")
}

/// The signature of the `Response` element.
pub const RESPONSE_SIGNATURE: &str = "/*[local-name()='Response']/*[local-name()='Signature']";
/// The signature of the (plain) `Assertion` element.
pub const ASSERTION_SIGNATURE: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";

/// `xmlsec1 --verify` of the signature at `xpath` of `xml` with the certificate `cert_pem` only
/// (the certificate in the signature's `KeyInfo` is not used). The file goes to `dir`.
pub fn xmlsec_verify(xml: &str, xpath: &str, cert_pem: &Path, dir: &Path) -> Result<(), String> {
    let file = dir.join(format!("response-{}.xml", unique()));
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
