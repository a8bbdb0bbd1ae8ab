//! Serving: binding the listener (HTTP, or HTTPS with generated or given TLS material), serving
//! until told to stop, and the in-process start the tests use ([`start`]: its own thread and
//! tokio runtime, stopped when the [`SimHandle`] is dropped). The binary (`main.rs`) uses the
//! same [`Listener`] and stops on SIGTERM/SIGINT.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

use crate::org_file::OrgFile;
use crate::state::Sim;
use crate::{load, router, tls};

/// How the listener serves.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain HTTP (`--http`).
    Off,
    /// A CA generated at start and a leaf for `localhost` and `127.0.0.1` signed by it; the CA's
    /// PEM is written to `ca_out` when given (`--self-signed-ca-out`).
    SelfSigned { ca_out: Option<PathBuf> },
    /// A PEM certificate chain and key (`--tls-cert`, `--tls-key`).
    Files { cert: PathBuf, key: PathBuf },
}

/// How the simulator serves (the binary's flags other than `--org-file`).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    pub tls: Tls,
    /// Enable the `/__sim/` test controls.
    pub control: bool,
    /// Latency added to every API call.
    pub latency: Duration,
}

impl Default for ServeOptions {
    /// `127.0.0.1:0`, HTTPS with a generated CA (not written anywhere), no controls, no latency.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: Tls::SelfSigned { ca_out: None },
            control: false,
            latency: Duration::ZERO,
        }
    }
}

/// Where a simulator listens, and how to trust it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The base URL (`https://localhost:PORT` on loopback; `http://` with [`Tls::Off`]).
    pub url: String,
    pub port: u16,
    /// The generated CA (PEM), with [`Tls::SelfSigned`].
    pub ca_pem: Option<String>,
    /// Where that CA was written (`ca_out`).
    pub ca_file: Option<PathBuf>,
}

/// A bound listener and its TLS configuration, not serving yet.
pub struct Listener {
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    endpoint: Endpoint,
}

impl Listener {
    /// Binds `options.listen` and prepares TLS: reads the PEM files, or generates a CA and a
    /// leaf (and writes the CA to `ca_out`).
    pub async fn bind(options: &ServeOptions) -> Result<Listener, String> {
        let listener = std::net::TcpListener::bind(options.listen)
            .map_err(|e| format!("listen on {}: {e}", options.listen))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            "localhost".to_owned()
        } else {
            addr.ip().to_string()
        };
        let (chain, key, ca_pem) = match &options.tls {
            Tls::Off => {
                let endpoint = Endpoint {
                    url: format!("http://{host}:{}", addr.port()),
                    port: addr.port(),
                    ca_pem: None,
                    ca_file: None,
                };
                return Ok(Listener {
                    listener,
                    tls: None,
                    endpoint,
                });
            }
            Tls::Files { cert, key } => (tls::read_pem_certs(cert)?, tls::read_pem_key(key)?, None),
            Tls::SelfSigned { ca_out } => {
                let m = tokio::task::spawn_blocking(tls::self_signed_tls)
                    .await
                    .map_err(|e| e.to_string())??;
                if let Some(out) = ca_out {
                    std::fs::write(out, &m.ca_pem)
                        .map_err(|e| format!("{}: {e}", out.display()))?;
                }
                let ca_pem = m.ca_pem.clone();
                let (chain, key) = tls::chain_and_key(m);
                (chain, key, Some(ca_pem))
            }
        };
        let config = tls::server_config(chain, key)?;
        let ca_file = match &options.tls {
            Tls::SelfSigned { ca_out } => ca_out.clone(),
            _ => None,
        };
        Ok(Listener {
            listener,
            tls: Some(RustlsConfig::from_config(Arc::new(config))),
            endpoint: Endpoint {
                url: format!("https://{host}:{}", addr.port()),
                port: addr.port(),
                ca_pem,
                ca_file,
            },
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Serves `app` until `stop` resolves to a grace period, then stops (open connections get
    /// that long to finish; zero closes them at once).
    pub async fn serve(
        self,
        app: Router,
        stop: impl Future<Output = Duration> + Send + 'static,
    ) -> Result<(), String> {
        let handle = axum_server::Handle::new();
        let on_stop = handle.clone();
        tokio::spawn(async move {
            let grace = stop.await;
            if grace.is_zero() {
                on_stop.shutdown();
            } else {
                on_stop.graceful_shutdown(Some(grace));
            }
        });
        let make = app.into_make_service();
        match self.tls {
            None => axum_server::from_tcp(self.listener)
                .map_err(|e| e.to_string())?
                .handle(handle)
                .serve(make)
                .await
                .map_err(|e| e.to_string()),
            Some(tls) => axum_server::from_tcp_rustls(self.listener, tls)
                .map_err(|e| e.to_string())?
                .handle(handle)
                .serve(make)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

/// A simulator running in this process; it stops when dropped.
pub struct SimHandle {
    endpoint: Endpoint,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    /// Where it listens (URL, port, CA).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Stops serving (open connections are closed) and waits for the simulator's thread.
    /// Dropping the handle does the same.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the simulator's thread reports once it listens.
type Ready = Result<Endpoint, String>;

/// Starts the simulator in this process, on its own thread and tokio runtime (2 workers, as
/// the binary), with the org `org` (relative `certificateFile`s are read from `base_dir`).
/// Returns once it listens; errors are the ones the binary would print.
pub fn start(org: OrgFile, base_dir: &Path, options: ServeOptions) -> Result<SimHandle, String> {
    let base_dir = base_dir.to_owned();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("salesforce-sim".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("salesforce-sim")
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(run_in_process(org, base_dir, options, ready_tx, stop_rx));
        })
        .map_err(|e| format!("cannot start the simulator's thread: {e}"))?;
    let ready = ready_rx
        .recv()
        .unwrap_or_else(|_| Err("the simulator's thread ended before it listened".into()));
    match ready {
        Ok(endpoint) => Ok(SimHandle {
            endpoint,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Err(e) => {
            let _ = thread.join();
            Err(e)
        }
    }
}

async fn run_in_process(
    org: OrgFile,
    base_dir: PathBuf,
    options: ServeOptions,
    ready: std::sync::mpsc::Sender<Ready>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let prepared = async {
        let state = tokio::task::spawn_blocking(move || load::build(org, &base_dir))
            .await
            .map_err(|e| e.to_string())??;
        Ok::<_, String>((state, Listener::bind(&options).await?))
    };
    let (state, listener) = match prepared.await {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(listener.endpoint().clone()));
    let app = router::app(Sim::new(state, options.latency), options.control);
    let stop = async {
        let _ = stop.await;
        Duration::ZERO
    };
    if let Err(e) = listener.serve(app, stop).await {
        tracing::error!("salesforce-sim: {e}");
    }
}
