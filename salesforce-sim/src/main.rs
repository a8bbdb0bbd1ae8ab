//! `salesforce-sim`: a simulated Salesforce org for tests, benchmarks and the demo, as a
//! process. The first line on stdout is `listening on <base URL>`; it runs until SIGTERM or
//! SIGINT and exits 0. See docs/simulator.md.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use salesforce_sim::{Listener, ServeOptions, Sim, Tls};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "salesforce-sim",
    about = "A simulated Salesforce org (OAuth, Metadata SOAP API, REST limits, SAML IdP metadata)"
)]
struct Cli {
    /// The org file (YAML), see docs/simulator.md.
    #[arg(long)]
    org_file: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key", conflicts_with_all = ["self_signed_ca_out", "http"])]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Generate a CA, write its PEM here, and serve a leaf for localhost/127.0.0.1 signed by it.
    #[arg(long, conflicts_with = "http")]
    self_signed_ca_out: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Enable the `/__sim/` test controls.
    #[arg(long)]
    control: bool,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

impl Cli {
    fn serve_options(&self) -> ServeOptions {
        let tls = match (&self.tls_cert, &self.tls_key) {
            _ if self.http => Tls::Off,
            (Some(cert), Some(key)) => Tls::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => Tls::SelfSigned {
                ca_out: self.self_signed_ca_out.clone(),
            },
        };
        ServeOptions {
            listen: self.listen,
            tls,
            control: self.control,
            latency: Duration::from_millis(self.latency_ms),
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("salesforce-sim: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("salesforce-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run the simulator until SIGTERM/SIGINT.
async fn run(cli: Cli) -> Result<(), String> {
    let org_file = cli.org_file.clone();
    let state = tokio::task::spawn_blocking(move || salesforce_sim::load(&org_file))
        .await
        .map_err(|e| e.to_string())??;
    let options = cli.serve_options();
    let listener = Listener::bind(&options).await?;
    let stop = shutdown_signal();
    announce(&listener.endpoint().url)?;
    let app = salesforce_sim::app(Sim::new(state, options.latency), options.control);
    listener.serve(app, stop).await
}

/// Resolves on SIGTERM or SIGINT, to a 2 s grace period for open connections. Without the
/// handlers it never resolves (the process then dies by the signal's default action).
fn shutdown_signal() -> impl std::future::Future<Output = Duration> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = signal(SignalKind::terminate()).and_then(|term| {
        let int = signal(SignalKind::interrupt())?;
        Ok((term, int))
    });
    async move {
        match handlers {
            Ok((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            Err(e) => {
                tracing::error!("cannot install the SIGTERM handler: {e}");
                std::future::pending::<()>().await;
            }
        }
        Duration::from_secs(2)
    }
}

fn announce(url: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {url}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}
