//! The two controllers and their watches: `SalesforceOrg`s, `SsoConnectedApp`s (whose events also
//! feed the indexes), the operator's ConfigMaps (kept as digests and owners), readiness once every
//! watch has listed, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use super::app;
use super::backoff::{Backoff, WatchBackoff};
use super::context::{Context, Retry, Stores, Wake};
use super::index::{AppIndex, ConfigMapCache};
use super::org;
use super::registry::OrgRegistry;
use crate::api::{MANAGER, SalesforceOrg, SsoConnectedApp};
use crate::config::RunArgs;
use crate::events::Recorder;
use crate::metadata_configmap::{MANAGED_BY, MANAGED_BY_LABEL};
use crate::metrics::Metrics;
use crate::salesforce::Salesforce;

/// What the process hands the controllers.
pub struct Shared {
    /// This cluster's name in ownership markers.
    pub cluster: String,
    pub client: Client,
    pub salesforce: Salesforce,
    pub metrics: Arc<Metrics>,
    /// Set once every watch has delivered its initial list (`/readyz`).
    pub ready: Arc<AtomicBool>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run_controllers(
    args: &RunArgs,
    shared: Shared,
    stop: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), BoxError> {
    let ns = args.namespace.as_deref();
    let client = shared.client.clone();
    // `orgs` (the context's) is what apps read their org from; the org controller keeps a cache of
    // its own. See the apps' org trigger below.
    let (orgs, org_writer) = reflector::store();
    let org_ctl_writer = Writer::default();
    let (apps, app_writer) = reflector::store();
    let (wake_apps, woken_apps) = futures::channel::mpsc::unbounded();
    let (wake_orgs, woken_orgs) = futures::channel::mpsc::unbounded();
    let wake = Wake {
        apps: wake_apps,
        orgs: wake_orgs,
    };
    let ctx = Arc::new(context(
        args,
        shared.cluster,
        &client,
        shared.salesforce,
        shared.metrics,
        Stores { orgs, apps },
        wake,
    ));
    let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY}");
    let cms_api: Api<ConfigMap> = scoped(&client, ns);
    let cm_stream = follow_config_maps(ctx.clone(), cms_api.clone(), &managed);

    let cfg = ControllerConfig::default().concurrency(args.concurrency);
    let orgs_api: Api<SalesforceOrg> = scoped(&client, ns);
    let org_ctl = slim_controller(orgs_api.clone(), cfg.clone(), org_ctl_writer, |_| {})
        .reconcile_on(woken_orgs);
    let index_ctx = ctx.clone();
    let app_ctl = slim_controller(scoped(&client, ns), cfg, app_writer, move |ev| {
        index_ctx.index.apply(ev);
        // A deleted app's next refresh would only find it gone (kube reports that as an error).
        if let watcher::Event::Delete(app) = ev {
            index_ctx.refreshes.cancel(&super::index::key_of(app));
        }
    });
    // A changed org (fixed Secret reference, new status after authenticating, a rotation moving
    // on) re-checks its apps. The trigger and the store the apps read the org from are one
    // stream, so the store holds the change before the apps run: with a watch of its own the
    // trigger could come first, the apps would check the org as it was, and, quiet until their
    // next refresh, publish a rotation's announced or switched keys only then.
    let org_trigger = watcher(orgs_api, watch_config())
        .backoff(WatchBackoff::default())
        .modify(slim)
        .reflect(org_writer)
        .applied_objects();
    let mapper_ctx = ctx.clone();
    let app_ctl = app_ctl
        .owns(cms_api, watch_config().labels(&managed))
        .reconcile_on(woken_apps)
        .watches_stream(org_trigger, move |org: SalesforceOrg| {
            let org_ref = format!("{}/{}", org.namespace().unwrap_or_default(), org.name_any());
            mapper_ctx
                .index
                .apps_of_org(&org_ref)
                .into_iter()
                .filter_map(|key| {
                    let (ns, name) = key.split_once('/')?;
                    Some(ObjectRef::<SsoConnectedApp>::new(name).within(ns))
                })
                .collect::<Vec<_>>()
        });
    tokio::spawn(mark_ready_when_synced(ctx.clone(), shared.ready));

    let stop = futures::FutureExt::shared(Box::pin(stop));
    let org_run = org_ctl
        .graceful_shutdown_on(stop.clone())
        .run(org::reconcile, org::error_policy, ctx.clone())
        .for_each(|r| {
            report("salesforceorg", r);
            futures::future::ready(())
        });
    let refreshes = wake_when_due(ctx.clone());
    let app_run = app_ctl
        .graceful_shutdown_on(stop)
        .run(app::reconcile, app::error_policy, ctx)
        .for_each(|r| {
            report("ssoconnectedapp", r);
            futures::future::ready(())
        });
    tokio::select! {
        _ = futures::future::join(org_run, app_run) => {},
        _ = cm_stream => {},
        _ = refreshes => {},
    }
    Ok(())
}

/// Keeps the operator's ConfigMaps as digests and owners (`ConfigMapCache`), not objects.
async fn follow_config_maps(ctx: Arc<Context>, api: Api<ConfigMap>, managed: &str) {
    watcher(api, watch_config().labels(managed))
        .backoff(WatchBackoff::default())
        .for_each(move |ev| {
            if let Ok(ev) = ev {
                ctx.config_maps.apply(&ev);
            }
            futures::future::ready(())
        })
        .await
}

/// Wakes each app when its refresh queue entry is due; ends once the app controller has stopped
/// (its `reconcile_on` stream is gone).
async fn wake_when_due(ctx: Arc<Context>) {
    let wake = |key: &str| Wake::try_send(&ctx.wake.apps, key);
    ctx.refreshes.run(wake).await
}

/// The controllers' shared context, from the flags and the process-wide parts.
fn context(
    args: &RunArgs,
    cluster: String,
    client: &Client,
    salesforce: Salesforce,
    metrics: Arc<Metrics>,
    stores: Stores,
    wake: Wake,
) -> Context {
    Context {
        cluster,
        client: client.clone(),
        stores,
        registry: OrgRegistry::new(
            client.clone(),
            salesforce,
            Duration::from_secs(args.org_refresh_seconds.max(10)),
        ),
        index: AppIndex::default(),
        config_maps: ConfigMapCache::default(),
        memos: Default::default(),
        retry: Retry {
            fast: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            slow: Backoff::new(Duration::from_secs(300), Duration::from_secs(3600)),
        },
        recorder: Recorder::new(client.clone(), MANAGER, std::env::var("POD_NAME").ok()),
        metrics,
        metadata_sweep: Duration::from_secs(args.metadata_sweep_hours * 3600),
        wake,
        refreshes: Default::default(),
    }
}

/// Readiness: every watch has delivered its initial list. Polled rather than awaited: a store's
/// readiness wakes only its last waiter, and the controllers themselves wait on the same stores.
async fn mark_ready_when_synced(ctx: Arc<Context>, ready: Arc<AtomicBool>) {
    use futures::FutureExt;
    let s = &ctx.stores;
    loop {
        let synced = s.orgs.wait_until_ready().now_or_never().is_some()
            && s.apps.wait_until_ready().now_or_never().is_some()
            && ctx.config_maps.synced();
        if synced {
            tracing::info!("watches synced; ready");
            ready.store(true, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An API for `K` in `ns`, or in every namespace.
pub fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Smaller pages keep the relist peak low (the store, not the operator's code, dominates memory).
fn watch_config() -> watcher::Config {
    watcher::Config::default().page_size(100)
}

/// A controller over `api` with its own cache (`writer`), slimmed (see [`slim`]), `on_event`
/// seeing every watch event, and the short watch backoff.
fn slim_controller<K>(
    api: Api<K>,
    cfg: ControllerConfig,
    writer: Writer<K>,
    on_event: impl FnMut(&watcher::Event<K>) + Send + 'static,
) -> Controller<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let store: Store<K> = writer.as_reader();
    let stream = watcher(api, watch_config())
        .modify(slim)
        .inspect_ok(on_event)
        .reflect(writer)
        .applied_objects();
    Controller::for_stream(stream, store)
        .with_config(cfg)
        .trigger_backoff(WatchBackoff::default())
}

/// What the caches keep of a watched resource: everything but managedFields and kubectl's
/// client-side-apply copy, which the operator never reads and which would be a large part of its
/// memory at a thousand resources.
fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        // An emptied map still holds its B-tree node (over 500 bytes).
        if a.is_empty() {
            meta.annotations = None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slim_drops_what_the_operator_never_reads_and_keeps_other_annotations() {
        let mut app = crate::controller::fixtures::test_app();
        let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
        app.meta_mut().annotations = Some([(last_applied.to_string(), "{}".to_string())].into());
        slim(&mut app);
        assert_eq!(app.metadata.annotations, None, "no empty map left behind");
        let sync = crate::api::SYNC_ANNOTATION.to_string();
        app.meta_mut().annotations = Some(
            [
                (last_applied.to_string(), "{}".into()),
                (sync.clone(), "1".into()),
            ]
            .into(),
        );
        slim(&mut app);
        assert_eq!(app.annotations().keys().collect::<Vec<_>>(), vec![&sync]);
    }
}
