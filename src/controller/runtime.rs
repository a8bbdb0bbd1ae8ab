//! The process: start-up checks (CRDs installed, flags valid), leader election, probes and
//! metrics, graceful shutdown; the controllers themselves are started by [`super::watches`].

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::api::ListParams;
use kube::{Api, Client};
use tokio::sync::watch;

use super::watches::{Shared, run_controllers, scoped};
use crate::api::{SalesforceOrg, SsoConnectedApp};
use crate::config::RunArgs;
use crate::leader::{self, Timing};
use crate::metrics::{Metrics, SalesforceCallMetrics};
use crate::salesforce::{self, ClientOptions, Salesforce};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `sso-operator run`.
pub async fn run(args: RunArgs) -> ExitCode {
    crate::telemetry::init(args.log_format);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), namespace = ?args.namespace, "starting sso-operator");
    match run_inner(args).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "sso-operator failed");
            ExitCode::FAILURE
        }
    }
}

/// A future that resolves once shutdown was requested.
#[derive(Clone)]
struct Stop(watch::Receiver<bool>);

impl Stop {
    async fn requested(self) {
        let mut rx = self.0;
        let _ = rx.wait_for(|s| *s).await;
    }
}

async fn run_inner(args: RunArgs) -> Result<(), BoxError> {
    let timing = match args.leader_election {
        true => Some(args.leader_timing()?),
        false => None,
    };
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Stop(stop_rx);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        let _ = stop_tx.send(true);
    });

    let http_state = crate::http::HttpState {
        ready: ready.clone(),
        metrics: metrics.clone(),
    };
    let http = tokio::spawn(crate::http::serve(
        args.metrics_addr,
        http_state,
        stop.clone().requested(),
    ));

    let client = Client::try_default().await?;
    let sf = salesforce_client(&args, &metrics)?;
    tokio::select! {
        _ = wait_for_crds(&client, args.namespace.as_deref()) => {},
        _ = stop.clone().requested() => return Ok(()),
    }
    let cluster = cluster_identity(&client, args.cluster_name.clone()).await?;
    tracing::info!(cluster = %cluster, "cluster identity for ownership markers");
    let shared = Shared {
        cluster,
        client,
        salesforce: sf,
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    if let Some(timing) = timing {
        lead(&args, timing, shared, stop).await?;
    } else {
        metrics.leader.set(1);
        run_controllers(&args, shared, stop.requested()).await?;
    }
    let _ = http.await;
    Ok(())
}

/// This cluster's name in ownership markers: `--cluster-name`, else the `kube-system` namespace's
/// uid (stable for the cluster's life, different in every other cluster).
async fn cluster_identity(client: &Client, flag: Option<String>) -> Result<String, BoxError> {
    if let Some(name) = flag {
        return Ok(name);
    }
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = namespaces.get("kube-system").await.map_err(|e| {
        format!("cannot read namespace kube-system to identify this cluster ({e}); grant get on it or set --cluster-name")
    })?;
    ns.metadata
        .uid
        .ok_or_else(|| "namespace kube-system has no uid; set --cluster-name".into())
}

/// The Salesforce side of the process, from the flags.
fn salesforce_client(args: &RunArgs, metrics: &Arc<Metrics>) -> Result<Salesforce, BoxError> {
    let extra_ca_pem = match &args.salesforce_ca_file {
        Some(p) => Some(
            std::fs::read(p)
                .map_err(|e| format!("reading --salesforce-ca-file {}: {e}", p.display()))?,
        ),
        None => None,
    };
    for h in &args.allow_hosts {
        salesforce::validate_allow_entry(h)?;
    }
    Ok(Salesforce::new(ClientOptions {
        allow_hosts: args.allow_hosts.clone(),
        extra_ca_pem,
        coalescing: args.coalescing,
        observer: Some(Arc::new(SalesforceCallMetrics(metrics.clone()))),
        quota_backoff: Duration::from_secs(args.quota_backoff_seconds),
        call_timeout: Duration::from_secs(args.salesforce_timeout_seconds),
        ..ClientOptions::default()
    })?)
}

/// Waits for the leader Lease, then runs the controllers until shutdown (then releases the
/// Lease), or until the renew deadline passes without a renewal: then the controllers are dropped
/// at once (no reconcile is polled again) and the process exits non-zero, so a restart rejoins as
/// a standby. `crate::leader` explains why that happens before a standby can take over.
async fn lead(args: &RunArgs, timing: Timing, shared: Shared, stop: Stop) -> Result<(), BoxError> {
    let lease_ns = args
        .leader_election_namespace
        .clone()
        .or_else(|| args.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    let lease = &args.leader_election_lease;
    let store = leader::KubeLeaseStore::new(shared.client.clone(), &lease_ns, lease);
    let elector = leader::Elector::new(store, leader::identity(), timing);
    tracing::info!(identity = elector.identity(), lease = %format!("{lease_ns}/{lease}"), ?timing, "leader election");
    // Standbys serve probes as ready: they are healthy, just not leading.
    shared.ready.store(true, Ordering::Relaxed);
    let leading = tokio::select! {
        l = elector.acquire() => l,
        _ = stop.clone().requested() => return Ok(()),
    };
    let deadman = leader::Deadman::arm(leading.expiry(), leader::STOP_BUDGET)?;
    let metrics = shared.metrics.clone();
    metrics.leader.set(1);
    shared.ready.store(false, Ordering::Relaxed);
    let lost = leading.lost();
    let result = tokio::select! {
        // Checked first: once the deadline has passed the controllers are not polled again.
        biased;
        _ = lost => {
            metrics.leader.set(0);
            tracing::error!("lost the leader Lease: controllers stopped; exiting so a restart rejoins as a standby");
            return Err("leader Lease lost".into());
        }
        r = run_controllers(args, shared, stop.requested()) => r,
    };
    deadman.disarm();
    leading.release().await;
    metrics.leader.set(0);
    result
}

/// Checks that both CRDs are installed; logs one clear line (once) and waits while they are not,
/// so a missing CRD does not become a crash loop.
async fn wait_for_crds(client: &Client, ns: Option<&str>) {
    let mut told = false;
    loop {
        let orgs: Api<SalesforceOrg> = scoped(client, ns);
        let apps: Api<SsoConnectedApp> = scoped(client, ns);
        let lp = ListParams::default().limit(1);
        match (orgs.list_metadata(&lp).await, apps.list_metadata(&lp).await) {
            (Ok(_), Ok(_)) => return,
            (a, b) => {
                let err = a
                    .err()
                    .or(b.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                if !told {
                    tracing::error!(
                        error = %err,
                        "the sso-operator.dev CRDs are not installed or not readable: install them with `sso-operator crd | kubectl apply --server-side -f -` (or `kubectl apply --server-side -f crds/`); waiting for them"
                    );
                    told = true;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
