//! Controller wiring: one controller per kind, a shared [`Context`], start-up checks, probes and
//! graceful shutdown.

mod app;
mod backoff;
pub mod desired;
mod existing_apps;
mod idp;
mod org;
mod status;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::ListParams;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use tokio::sync::watch;

use crate::api::conditions::reasons;
use crate::api::{SalesforceOrg, SsoConnectedApp};
use crate::config::RunArgs;
use crate::events::Recorder;
use crate::metadata_configmap::{MANAGED_BY, MANAGED_BY_LABEL};
use crate::metrics::{Metrics, SalesforceCallMetrics};
use crate::salesforce::{
    self, ClientOptions, Credentials, OrgClient, OrgConnection, Salesforce, SecretString,
};

pub use backoff::{Backoff, WatchBackoff};

/// The one field manager for every write (server-side apply of status and ConfigMaps).
pub const MANAGER: &str = "sso-operator";
/// Finalizer on `SsoConnectedApp`s: the app in Salesforce is dealt with before the resource goes.
pub const FINALIZER: &str = "sso-operator.dev/cleanup";
/// Changing this annotation's value (e.g. to the current time) asks for an immediate full check
/// of an `SsoConnectedApp` against Salesforce instead of waiting for the refresh interval.
pub const SYNC_ANNOTATION: &str = "sso-operator.dev/sync-requested";
/// Set to "true" on an `SsoConnectedApp` being deleted whose org is gone for good: the finalizer is
/// removed without touching Salesforce.
pub const RELEASE_ANNOTATION: &str = "sso-operator.dev/release";

/// Why an org cannot be used (yet): becomes a condition reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgProblem {
    pub reason: &'static str,
    pub message: String,
}

struct ConnEntry {
    uid: String,
    generation: Option<i64>,
    built: Instant,
    result: Result<Arc<OrgClient>, OrgProblem>,
}

/// State shared by both controllers.
pub struct Context {
    pub client: Client,
    pub salesforce: Salesforce,
    pub orgs: Store<SalesforceOrg>,
    pub apps: Store<SsoConnectedApp>,
    pub config_maps: Store<ConfigMap>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub backoff: Backoff,
    /// Slow retry for errors that wait for a person (creation blocked, conflicts).
    pub slow_backoff: Backoff,
    pub org_refresh: Duration,
    connections: Mutex<HashMap<String, ConnEntry>>,
    pub(crate) idp: idp::IdpCache,
    pub(crate) existing_apps: existing_apps::ExistingApps,
    pub(crate) memos: Mutex<HashMap<String, app::Memo>>,
}

impl Context {
    /// The Salesforce client for `org`, built from its spec and Secret. Cached per org generation:
    /// successes for `org_refresh` (the Secret is re-read then, to catch a rotated key), failures
    /// for a few seconds (so a Secret created meanwhile is noticed quickly).
    pub async fn org_client(&self, org: &SalesforceOrg) -> Result<Arc<OrgClient>, OrgProblem> {
        let key = org_key(org);
        let uid = org.uid().unwrap_or_default();
        {
            let conns = self.connections.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = conns.get(&key) {
                let fresh = match &e.result {
                    Ok(_) => e.built.elapsed() < self.org_refresh,
                    Err(_) => e.built.elapsed() < Duration::from_secs(2),
                };
                if fresh && e.uid == uid && e.generation == org.metadata.generation {
                    return e.result.clone();
                }
            }
        }
        let result = self.build_org_client(org, &key).await;
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key,
                ConnEntry {
                    uid,
                    generation: org.metadata.generation,
                    built: Instant::now(),
                    result: result.clone(),
                },
            );
        result
    }

    async fn build_org_client(
        &self,
        org: &SalesforceOrg,
        key: &str,
    ) -> Result<Arc<OrgClient>, OrgProblem> {
        let ns = org.namespace().unwrap_or_default();
        let spec = &org.spec;
        let url = |field: &str, raw: &str| -> Result<url::Url, OrgProblem> {
            let u = url::Url::parse(raw).map_err(|e| OrgProblem {
                reason: reasons::URL_NOT_ALLOWED,
                message: format!("{field} {raw:?} is not a URL: {e}"),
            })?;
            salesforce::validate_url(&u, self.salesforce.options()).map_err(|e| OrgProblem {
                reason: reasons::URL_NOT_ALLOWED,
                message: format!("{field}: {e}"),
            })?;
            Ok(u)
        };
        let instance_url = url("instanceUrl", &spec.instance_url)?;
        let login_url = url("login.url", &spec.login.url)?;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
        let read = |name: String| {
            let secrets = secrets.clone();
            async move {
                match secrets.get_opt(&name).await {
                    Ok(Some(s)) => Ok(s),
                    Ok(None) => Err(OrgProblem {
                        reason: reasons::SECRET_NOT_FOUND,
                        message: format!(
                            "Secret {ns}/{name} does not exist",
                            ns = secrets_ns(&secrets)
                        ),
                    }),
                    Err(e) => Err(OrgProblem {
                        reason: reasons::SECRET_NOT_FOUND,
                        message: format!("reading Secret {name}: {e}"),
                    }),
                }
            }
        };
        let value = |s: &Secret, k: &str| -> Result<String, OrgProblem> {
            let name = s.name_any();
            let bytes = s
                .data
                .as_ref()
                .and_then(|d| d.get(k))
                .map(|b| b.0.clone())
                .ok_or_else(|| OrgProblem {
                    reason: reasons::KEY_NOT_FOUND,
                    message: format!("Secret {name} has no key {k:?}"),
                })?;
            String::from_utf8(bytes).map_err(|_| OrgProblem {
                reason: reasons::KEY_INVALID,
                message: format!("Secret {name} key {k:?} is not UTF-8 text"),
            })
        };
        let credentials = if let Some(jwt) = &spec.auth.jwt_bearer {
            let secret = read(jwt.private_key_secret_ref.name.clone()).await?;
            let pem = value(&secret, &jwt.private_key_secret_ref.key)?;
            salesforce::parse_private_key(&pem).map_err(|e| OrgProblem {
                reason: reasons::KEY_INVALID,
                message: format!(
                    "Secret {} key {:?}: {e}",
                    secret.name_any(),
                    jwt.private_key_secret_ref.key
                ),
            })?;
            Credentials::JwtBearer {
                client_id: jwt.client_id.clone(),
                username: jwt.username.clone(),
                private_key_pem: SecretString::new(pem),
            }
        } else if let Some(cc) = &spec.auth.client_credentials {
            let secret = read(cc.secret_ref.name.clone()).await?;
            Credentials::ClientCredentials {
                client_id: value(&secret, "client-id")?.trim().to_string(),
                client_secret: SecretString::new(
                    value(&secret, "client-secret")?.trim().to_string(),
                ),
            }
        } else {
            // Admission refuses this; a resource stored before the rule existed still gets a reason.
            return Err(OrgProblem {
                reason: reasons::KEY_NOT_FOUND,
                message: "no auth method set".into(),
            });
        };
        let conn = OrgConnection {
            instance_url,
            login_url,
            audience: spec.login.audience.clone(),
            api_version: spec.api_version.clone(),
            credentials,
            max_concurrent_calls: spec.api_budget.max_concurrent_calls,
            reserve_percent: spec.api_budget.reserve_percent,
        };
        Ok(self.salesforce.org(key, conn))
    }

    /// Drops what is cached for an org that went away.
    pub fn forget_org(&self, key: &str) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        self.existing_apps.forget(key);
        self.salesforce.forget(key);
    }

    /// The `SalesforceOrg` an app refers to, from the watch cache.
    pub fn org_of(&self, app: &SsoConnectedApp) -> Option<Arc<SalesforceOrg>> {
        let ns = app.namespace().unwrap_or_default();
        self.orgs
            .get(&ObjectRef::new(&app.spec.org_ref.name).within(&ns))
    }

    pub async fn publish_event(
        &self,
        obj: &impl Resource<DynamicType = ()>,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) {
        if let Err(e) = self
            .recorder
            .publish(&obj.object_ref(&()), warning, reason, action, note)
            .await
        {
            tracing::warn!(error = %e, reason, "could not publish Event");
        }
    }
}

fn secrets_ns(api: &Api<Secret>) -> String {
    api.namespace().unwrap_or_default().to_string()
}

/// `namespace/name`, the key of an org's shared client.
pub fn org_key(org: &SalesforceOrg) -> String {
    format!("{}/{}", org.namespace().unwrap_or_default(), org.name_any())
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

fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
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

async fn run_inner(args: RunArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = {
        let rx = stop_rx.clone();
        move || {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        }
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        let _ = stop_tx.send(true);
    });

    let http_state = crate::http::HttpState {
        ready: ready.clone(),
        metrics: metrics.clone(),
    };
    let http = tokio::spawn(crate::http::serve(args.metrics_addr, http_state, stopped()));

    let client = Client::try_default().await?;
    let ns = args.namespace.as_deref();

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
    let sf = Salesforce::new(ClientOptions {
        allow_hosts: args.allow_hosts.clone(),
        extra_ca_pem,
        coalescing: args.coalescing,
        observer: Some(Arc::new(SalesforceCallMetrics(metrics.clone()))),
        quota_backoff: Duration::from_secs(args.quota_backoff_seconds),
        call_timeout: Duration::from_secs(args.salesforce_timeout_seconds),
        ..ClientOptions::default()
    })?;

    tokio::select! {
        _ = wait_for_crds(&client, ns) => {},
        _ = stopped() => return Ok(()),
    }

    if args.leader_election {
        let lease_ns = args
            .leader_election_namespace
            .clone()
            .or_else(|| args.namespace.clone())
            .unwrap_or_else(|| "default".to_string());
        let elector = crate::leader::LeaderElector::new(
            client.clone(),
            &lease_ns,
            &args.leader_election_lease,
            Duration::from_secs(args.leader_election_lease_seconds),
        );
        // Standbys serve probes as ready: they are healthy, just not leading.
        ready.store(true, Ordering::Relaxed);
        let leading = tokio::select! {
            r = elector.acquire() => r?,
            _ = stopped() => return Ok(()),
        };
        metrics.leader.set(1);
        ready.store(false, Ordering::Relaxed);
        let lost = leading.lost();
        let result = tokio::select! {
            r = run_controllers(&args, client.clone(), sf, metrics.clone(), ready.clone(), stopped()) => r,
            _ = lost => {
                tracing::error!("lost the leader Lease; exiting so a restart rejoins as a standby");
                return Err("leader Lease lost".into());
            }
        };
        leading.release().await;
        metrics.leader.set(0);
        result?;
    } else {
        metrics.leader.set(1);
        run_controllers(
            &args,
            client.clone(),
            sf,
            metrics.clone(),
            ready.clone(),
            stopped(),
        )
        .await?;
    }
    let _ = http.await;
    Ok(())
}

async fn run_controllers(
    args: &RunArgs,
    client: Client,
    sf: Salesforce,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    stop: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let ns = args.namespace.as_deref();
    let orgs_api: Api<SalesforceOrg> = scoped(&client, ns);
    let apps_api: Api<SsoConnectedApp> = scoped(&client, ns);
    let cms_api: Api<ConfigMap> = scoped(&client, ns);
    let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY}");

    let (cm_reader, cm_writer) = reflector::store();
    let cm_stream = watcher(cms_api.clone(), watch_config().labels(&managed))
        .backoff(WatchBackoff::default())
        .modify(crate::metadata_configmap::slim_for_cache)
        .reflect(cm_writer)
        .touched_objects()
        .for_each(|_| futures::future::ready(()));

    let ctl_cfg = ControllerConfig::default().concurrency(args.concurrency);
    let (org_ctl, orgs_store) = slim_controller(orgs_api.clone(), ctl_cfg.clone());
    let (app_ctl, apps_store) = slim_controller(apps_api, ctl_cfg);

    let ctx = Arc::new(Context {
        client: client.clone(),
        salesforce: sf,
        orgs: orgs_store.clone(),
        apps: apps_store.clone(),
        config_maps: cm_reader.clone(),
        recorder: Recorder::new(client.clone(), MANAGER, std::env::var("POD_NAME").ok()),
        metrics: metrics.clone(),
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
        slow_backoff: Backoff::new(Duration::from_secs(300), Duration::from_secs(3600)),
        org_refresh: Duration::from_secs(args.org_refresh_seconds.max(10)),
        connections: Mutex::new(HashMap::new()),
        idp: idp::IdpCache::default(),
        existing_apps: existing_apps::ExistingApps::default(),
        memos: Mutex::new(HashMap::new()),
    });

    // A changed org (fixed Secret reference, new status after authenticating) re-checks its apps.
    let dependents = apps_store.clone();
    let app_ctl = app_ctl
        .owns(cms_api, watch_config().labels(&managed))
        .watches(orgs_api, watch_config(), move |org: SalesforceOrg| {
            let ns = org.namespace();
            let name = org.name_any();
            dependents
                .state()
                .into_iter()
                .filter(|a| a.namespace() == ns && a.spec.org_ref.name == name)
                .map(|a| ObjectRef::from_obj(&*a))
                .collect::<Vec<_>>()
        });

    // Readiness: every watch has delivered its initial list.
    {
        let (o, a, c, ready) = (
            orgs_store.clone(),
            apps_store.clone(),
            cm_reader.clone(),
            ready.clone(),
        );
        // Polled rather than awaited: a store's readiness wakes only its last waiter, and the
        // controllers themselves wait on the same stores.
        tokio::spawn(async move {
            use futures::FutureExt;
            loop {
                let synced = o.wait_until_ready().now_or_never().is_some()
                    && a.wait_until_ready().now_or_never().is_some()
                    && c.wait_until_ready().now_or_never().is_some();
                if synced {
                    tracing::info!("watches synced; ready");
                    ready.store(true, Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    let stop = futures::future::Shared::clone(&futures::FutureExt::shared(Box::pin(stop)));
    let org_run = org_ctl
        .graceful_shutdown_on(stop.clone())
        .run(org::reconcile, org::error_policy, ctx.clone())
        .for_each(|r| {
            report("salesforceorg", r);
            futures::future::ready(())
        });
    let app_run = app_ctl
        .graceful_shutdown_on(stop.clone())
        .run(app::reconcile, app::error_policy, ctx.clone())
        .for_each(|r| {
            report("ssoconnectedapp", r);
            futures::future::ready(())
        });
    tokio::select! {
        _ = futures::future::join(org_run, app_run) => {},
        _ = cm_stream => {},
    }
    Ok(())
}

/// Smaller pages keep the relist peak low (the store, not the operator's code, dominates memory).
fn watch_config() -> watcher::Config {
    watcher::Config::default().page_size(100)
}

/// A controller over `api` with its own cache, slimmed (see [`slim`]), and the short watch backoff.
fn slim_controller<K>(api: Api<K>, cfg: ControllerConfig) -> (Controller<K>, Store<K>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, watch_config())
        .modify(slim)
        .reflect(writer)
        .applied_objects();
    let ctl = Controller::for_stream(stream, store.clone())
        .with_config(cfg)
        .trigger_backoff(WatchBackoff::default());
    (ctl, store)
}

/// What the caches keep of a watched resource: everything but managedFields and kubectl's
/// client-side-apply copy, which the operator never reads and which would be a large part of its
/// memory at a thousand resources.
fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

fn report<K: Resource, E: std::fmt::Display>(
    controller: &'static str,
    r: Result<(ObjectRef<K>, Action), kube::runtime::controller::Error<E, watcher::Error>>,
) {
    match r {
        Ok((obj, _)) => tracing::debug!(controller, object = %obj, "reconciled"),
        Err(kube::runtime::controller::Error::ReconcilerFailed(e, obj)) => {
            tracing::debug!(controller, object = %obj, error = %e, "reconcile failed")
        }
        Err(e) => tracing::warn!(controller, error = %e, "controller stream error"),
    }
}
