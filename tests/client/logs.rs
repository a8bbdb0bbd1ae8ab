//! No secret material in any log line at any level: capture everything (TRACE, all crates,
//! including reqwest/hyper/rustls) during auth failures and a successful run, then search it for
//! the private key, the access token and the client secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sso_operator::salesforce::{
    ConnectedApp, ConnectedAppSamlConfig, Credentials, Salesforce, SamlSubjectType, SecretString,
};
use tracing_subscriber::fmt::MakeWriter;

use crate::common::client::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Distinctive pieces of a PEM key body (the header line alone proves nothing).
fn key_fragments(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(|l| l[..40].to_string())
        .collect()
}

/// The secrets of the failing clients.
struct Strangers {
    key: KeyPair,
    client_secret: &'static str,
}

/// Authentication failures: a key the org does not know, and a wrong client secret.
async fn fail_authentication(sim: &Sim, sf: &Salesforce) -> Strangers {
    let strangers = Strangers {
        key: rsa_key_pair("stranger"),
        client_secret: "wrong-secret-value-0987",
    };
    let bad_jwt = sf.client(
        "ns/bad-jwt",
        sim.conn(sim.jwt_with_key(JWT_CLIENT, ADMIN, &strangers.key.key_pem)),
    );
    let e = bad_jwt.authenticate().await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "auth failed as expected");
    tracing::debug!(conn = ?bad_jwt.connection(), "connection");
    let bad_cc = sf.client(
        "ns/bad-cc",
        sim.conn(Credentials::ClientCredentials {
            client_id: CC_CLIENT.into(),
            client_secret: SecretString::new(strangers.client_secret),
        }),
    );
    let e = bad_cc.authenticate().await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "auth failed as expected");
    strangers
}

/// A successful run on both flows, including a re-auth after INVALID_SESSION_ID.
async fn run_both_flows(sim: &Sim, sf: &Salesforce) {
    let jwt = sf.client("ns/jwt", sim.conn(sim.jwt()));
    let cc = sf.client("ns/cc", sim.conn(sim.client_credentials()));
    tracing::debug!(conn = ?jwt.connection(), "connection");
    tracing::debug!(conn = ?cc.connection(), "connection");
    let mut app = ConnectedApp::new("Log_Test", "Log Test", "ops@acme.com");
    app.saml_config = Some(ConnectedAppSamlConfig::new(
        "https://sp.example.com/acs",
        "https://sp.example.com",
        SamlSubjectType::Username,
    ));
    jwt.upsert_connected_app(&app).await.unwrap();
    sim.fault(json!({"operation": "readMetadata", "count": 1, "status": 500,
        "soapFault": {"code": "sf:INVALID_SESSION_ID", "message": "INVALID_SESSION_ID: Session expired or invalid"}}))
        .await;
    let read = jwt.read_connected_app("Log_Test").await.unwrap();
    tracing::info!(app = ?read, "read");
    cc.read_identity_provider().await.unwrap();
    cc.refresh_limits().await.unwrap();
    jwt.fetch_idp_metadata(None).await.unwrap();
    jwt.delete_connected_app("Log_Test").await.unwrap();
}

/// Access tokens look like `<orgId>!<opaque>`: every one the simulator exposes in `reports`.
fn tokens_in(reports: Vec<Value>) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut stack = reports;
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.starts_with("00D") && s.contains('!') => tokens.push(s),
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    tokens
}

/// Set in the child process that runs the test alone.
const ALONE: &str = "SSO_TEST_LOGS_ALONE";

/// The capture relies on tracing's process-wide state: each callsite caches whether any
/// subscriber wants it, and a callsite first hit by another test while this test installs its
/// subscriber can be cached as unwanted, its events lost. So the test runs alone, in a child
/// process of this binary.
#[test]
fn no_key_token_or_secret_in_logs() {
    if std::env::var_os(ALONE).is_some() {
        // current_thread runtime: spawned batch tasks run on this thread, under the scoped
        // subscriber.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        return rt.expect("runtime").block_on(capture_and_search());
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "logs::no_key_token_or_secret_in_logs",
            "--test-threads=1",
        ])
        .env(ALONE, "1")
        .output()
        .expect("run the test alone");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "alone in a child process:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn capture_and_search() {
    let sim = start_org();
    let buf = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let sf = Salesforce::new(sim.options()).unwrap();
    let strangers = fail_authentication(&sim, &sf).await;
    run_both_flows(&sim, &sf).await;
    // The tokens the simulator issued, from its own state.
    let tokens = tokens_in(vec![sim.calls().await, sim.state().await]);
    drop(guard);

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("salesforce"),
        "the capture worked: {} bytes",
        logs.len()
    );
    assert!(logs.contains("ns/jwt"), "structured org field present");

    let mut forbidden: Vec<(String, &str)> = Vec::new();
    for f in key_fragments(&sim.key.key_pem) {
        forbidden.push((f, "JWT private key"));
    }
    for f in key_fragments(&strangers.key.key_pem) {
        forbidden.push((f, "stranger private key"));
    }
    forbidden.push((CC_SECRET.to_string(), "client secret"));
    forbidden.push((strangers.client_secret.to_string(), "wrong client secret"));
    // Any access token the simulator exposes; and in any case the org-id-bang prefix followed
    // by token material (below).
    for t in tokens {
        forbidden.push((t, "access token"));
    }
    for (needle, what) in &forbidden {
        assert!(!logs.contains(needle.as_str()), "{what} found in logs");
    }
    for marker in [
        "00D5g000000SIMU!",
        "eyJ0eXAiOiJKV1Qi",
        "assertion=",
        "sessionId>",
        "Bearer 00D",
        "client_secret=",
    ] {
        assert!(!logs.contains(marker), "'{marker}' found in logs");
    }
}
