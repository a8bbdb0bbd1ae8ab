//! The Salesforce org simulator (`salesforce-sim`). Compiled only into the simulator binary.
//!
//! Module map: `org` (org file and state), `certs` (certificates and TLS), `oauth` (token
//! endpoint), `soap` (Metadata API), `metadata_types` + `wsdl_types` (WSDL-driven
//! validation), `limits` (REST), `idp_metadata` (SAML IdP metadata), `faults` (fault
//! injection and latency), `control` (`/__sim/`).

pub mod certs;
pub mod control;
pub mod eca;
pub mod faults;
pub mod idp_metadata;
pub mod limits;
pub mod metadata_types;
pub mod oauth;
pub mod org;
pub mod soap;
pub mod wsdl_types;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "salesforce-sim",
    about = "A simulated Salesforce org (OAuth, Metadata SOAP API, REST limits, SAML IdP metadata)"
)]
pub struct Cli {
    /// The org file (YAML), see docs/simulator.md.
    #[arg(long)]
    pub org_file: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key", conflicts_with_all = ["self_signed_ca_out", "http"])]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Generate a CA, write its PEM here, and serve a leaf for localhost/127.0.0.1 signed by it.
    #[arg(long, conflicts_with = "http")]
    pub self_signed_ca_out: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub http: bool,
    /// Enable the `/__sim/` test controls.
    #[arg(long)]
    pub control: bool,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// Shared simulator.
pub struct Sim {
    pub state: Mutex<org::State>,
    pub latency: Duration,
    /// Metadata API calls being served right now (for the enforced concurrency cap).
    pub in_flight: std::sync::atomic::AtomicU64,
    /// Requests of any kind (API, token, metadata download) being served right now, and the most
    /// at once since the last `/__sim/calls/reset`: what a client's concurrency looks like here.
    pub requests: std::sync::atomic::AtomicU64,
    pub peak_requests: std::sync::atomic::AtomicU64,
}

pub type Shared = Arc<Sim>;

fn router(sim: Shared, control: bool) -> Router {
    let mut r = Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/Soap/m/{version}", post(soap::handle))
        .route("/services/Soap/m/{version}/{org_id}", post(soap::handle))
        .route("/services/data", get(limits::versions))
        .route("/services/data/", get(limits::versions))
        .route("/services/data/{ver}/{*rest}", get(limits::data))
        .route("/.well-known/samlidp.xml", get(idp_metadata::org_metadata))
        .route(
            "/.well-known/samlidp/{file}",
            get(idp_metadata::app_metadata),
        );
    if control {
        r = r
            .route("/__sim/state", get(control::state))
            .route("/__sim/calls", get(control::calls))
            .route("/__sim/calls/reset", post(control::calls_reset))
            .route(
                "/__sim/faults",
                post(control::faults_add)
                    .get(control::faults_list)
                    .delete(control::faults_clear),
            )
            .route("/__sim/clock", post(control::clock))
            .route("/__sim/mutate", post(control::mutate))
            .route("/__sim/certificates", post(control::certificates))
            .route("/__sim/limits", post(control::limits))
            .route("/__sim/policy", post(control::policy))
            .route("/__sim/sessions/revoke", post(control::revoke_sessions));
    }
    r.layer(axum::middleware::from_fn_with_state(
        sim.clone(),
        faults::middleware,
    ))
    .layer(DefaultBodyLimit::max(faults::MAX_BODY))
    .with_state(sim)
}

async fn shutdown_signal(handle: axum_server::Handle) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install the SIGTERM handler: {e}");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    handle.graceful_shutdown(Some(Duration::from_secs(2)));
}

/// Run the simulator until SIGTERM/SIGINT.
pub async fn run(cli: Cli) -> Result<(), String> {
    let org_file = cli.org_file.clone();
    let state = tokio::task::spawn_blocking(move || org::load(&org_file))
        .await
        .map_err(|e| e.to_string())??;
    let sim = Arc::new(Sim {
        state: Mutex::new(state),
        latency: Duration::from_millis(cli.latency_ms),
        in_flight: std::sync::atomic::AtomicU64::new(0),
        requests: std::sync::atomic::AtomicU64::new(0),
        peak_requests: std::sync::atomic::AtomicU64::new(0),
    });
    let app = router(sim, cli.control);
    let listener = std::net::TcpListener::bind(cli.listen)
        .map_err(|e| format!("listen on {}: {e}", cli.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_signal(handle.clone()));
    let make = app.into_make_service();
    let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        addr.ip().to_string()
    };
    if cli.http {
        announce(&format!("http://{host}:{}", addr.port()))?;
        axum_server::from_tcp(listener)
            .handle(handle)
            .serve(make)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let (chain, key) = match (&cli.tls_cert, &cli.tls_key) {
        (Some(c), Some(k)) => {
            let chain = read_pem_certs(c)?;
            let key = read_pem_key(k)?;
            (chain, key)
        }
        _ => {
            let m = tokio::task::spawn_blocking(certs::self_signed_tls)
                .await
                .map_err(|e| e.to_string())??;
            if let Some(out) = &cli.self_signed_ca_out {
                std::fs::write(out, &m.ca_pem).map_err(|e| format!("{}: {e}", out.display()))?;
            }
            (
                m.cert_chain_der
                    .into_iter()
                    .map(rustls::pki_types::CertificateDer::from)
                    .collect(),
                rustls::pki_types::PrivateKeyDer::Pkcs8(m.key_der.into()),
            )
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
    announce(&format!("https://{host}:{}", addr.port()))?;
    axum_server::from_tcp_rustls(listener, tls)
        .handle(handle)
        .serve(make)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn announce(url: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {url}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}

fn read_pem_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn read_pem_key(
    path: &std::path::Path,
) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}
