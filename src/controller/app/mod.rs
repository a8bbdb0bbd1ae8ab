//! `SsoConnectedApp` reconcile, as named stages: gate (may we call Salesforce?) → quiet period →
//! claims (does another resource own this?) → identity provider → app → access → metadata →
//! publish → certificate → status. The stages return typed outcomes; [`status::compute_status`]
//! turns them into status and Events; this module only sequences them and decides when to come
//! back. Wrapped in the kube finalizer helper, whose cleanup is [`cleanup`].

mod access;
mod certificate;
mod claims;
mod cleanup;
mod download;
mod gate;
mod identity_provider;
mod inputs;
pub mod memo;
mod metadata;
mod outcomes;
mod pipeline;
mod publish;
mod rollout;
mod salesforce_app;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::{Api, ResourceExt};
use tracing::{info, instrument, warn};

use self::download::{Download, LastPublish};
use self::gate::Gate;
use self::inputs::Inputs;
use self::memo::{Hit, Memo, OrgVersion, sync_token};
use self::metadata::MetadataOutcome;
use self::outcomes::{Next, Outcomes};
use self::publish::PublishOutcome;
use self::rollout::RolloutOutcome;
use crate::api::conditions::{self, types};
use crate::api::{FINALIZER, SsoConnectedApp};
use crate::controller::backoff::{jittered, until_refresh_tick};
use crate::controller::context::{Context, Wake, resource_labels};
use crate::controller::index::key_of;
use crate::controller::kinds::APP as KIND;
use crate::controller::registry::OrgHandle;
use crate::controller::rotation;
use crate::controller::status_patch;
use crate::error::{Disposition, Error};
use crate::metrics::ResourceState;
use crate::salesforce::OrgClient;

/// How long to wait before looking again at a claim conflict (the other resource may go).
const CONFLICT_RECHECK: Duration = Duration::from_secs(60);

#[instrument(skip_all, fields(namespace = %app.namespace().unwrap_or_default(), name = %app.name_any()))]
pub async fn reconcile(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile_started(KIND);
    let ns = app.namespace().unwrap_or_default();
    let api: Api<SsoConnectedApp> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer::finalizer(&api, FINALIZER, app, |event| async {
        match event {
            Finalizer::Apply(app) => apply(app, ctx.clone()).await,
            Finalizer::Cleanup(app) => cleanup::cleanup(app, ctx.clone()).await,
        }
    })
    .await
    .map_err(Error::from);
    timer.finish();
    result
}

pub fn error_policy(app: Arc<SsoConnectedApp>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.count_error(KIND, err.category());
    let key = key_of(&app);
    // The reconcile that failed on a Salesforce call already chose the delay (and told the memo).
    // Not so for a failed cleanup: the memo is the last apply's (quiet until the next refresh),
    // and a deletion waiting on Salesforce must be retried with backoff, not an hour later.
    let planned = ctx
        .memos
        .remaining(&key)
        .filter(|_| app.metadata.deletion_timestamp.is_none());
    let delay = planned.unwrap_or_else(|| ctx.retry.fast.failed(&key));
    warn!(error = %err, category = err.category(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn apply(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&app);
    let mut input = Inputs::new(&app, &ctx.cluster, jiff::Timestamp::now());
    let (org, handle) = match gate::open(&app, &ctx).await {
        Gate::NotSynced => return Ok(Action::requeue(Duration::from_millis(500))),
        Gate::Closed(outcome) => {
            let action = match &outcome {
                gate::GateOutcome::OrgNotReady { .. } => {
                    Action::requeue(ctx.retry.fast.failed(&key).min(Duration::from_secs(10)))
                }
                // The org's status update re-triggers this resource; the requeue is a backstop.
                gate::GateOutcome::OrgNotAuthenticated { .. } => {
                    Action::requeue(Duration::from_secs(5))
                }
                // The org watch re-triggers this resource when the org appears or changes.
                _ => Action::await_change(),
            };
            let outcomes = Outcomes {
                gate: Some(outcome),
                ..Outcomes::default()
            };
            finish(&input, &ctx, &outcomes).await?;
            return Ok(action);
        }
        Gate::Open { org, handle } => (org, handle),
    };
    input.org_idp = rotation::view(&org);
    let org_version = OrgVersion::of(&org, handle.idp.epoch());
    match ctx.memos.hit(&app, &key, &org_version, &ctx.config_maps) {
        Some(Hit::Quiet(remaining)) => return Ok(come_back(&ctx, &key, remaining)),
        Some(Hit::CacheLag) => return Ok(Action::requeue(Duration::from_secs(1))),
        None => {}
    }
    input.previous = last_publish(&app, &ctx, &key, &org_version, input.now);
    if let Some(claim) = claims::check(&app, &ctx) {
        let outcomes = Outcomes {
            claim: Some(claim),
            ..Outcomes::default()
        };
        finish(&input, &ctx, &outcomes).await?;
        return Ok(Action::requeue(jittered(CONFLICT_RECHECK)));
    }

    let outcomes = pipeline::run(&handle, &*ctx, &input).await;
    wake_on_idp_change(&ctx, &handle, &org_version);
    let org_version = org_version.seen(
        outcomes
            .identity_provider
            .as_ref()
            .and_then(|o| o.snapshot()),
    );

    // Decide the next attempt before writing, so the memo guards Salesforce from re-triggers.
    let next = outcomes.next();
    let delay = next_delay(&ctx, &key, &input, &handle.key, &outcomes);
    remember(&ctx, &app, &key, org_version, &input, &outcomes, delay);
    if let Err(e) = finish(&input, &ctx, &outcomes).await {
        // The status write failed (e.g. the API server is down): without the memo the retry
        // re-checks Salesforce (reads; no write when in sync) and writes the status, instead of
        // sitting out the quiet period with a stale status.
        ctx.memos.forget(&key);
        return Err(e);
    }
    match outcomes.into_failure() {
        Some(e) if next == Next::Retry => Err(e),
        _ => Ok(come_back(&ctx, &key, delay)),
    }
}

/// The app's own next reconcile, `after` from now, through the refresh queue rather than kube's
/// scheduler (see [`RefreshQueue`](crate::controller::refresh_queue::RefreshQueue)).
fn come_back(ctx: &Context, key: &str, after: Duration) -> Action {
    ctx.refreshes.schedule(key, after);
    Action::await_change()
}

/// The org's IdP was seen to change during this reconcile (e.g. a certificate renewed in Setup,
/// read at the org's refresh tick, or enabled by this app): its other apps, each quiet until its
/// own refresh slot, check now, so every ConfigMap carries the new key within the interval; and
/// the org, whose status reports the IdP, is checked now rather than at its next check. Once per
/// change.
fn wake_on_idp_change(ctx: &Context, handle: &OrgHandle<OrgClient>, seen: &OrgVersion) {
    let epoch = handle.idp.epoch();
    if epoch == seen.idp_epoch || !handle.idp.announce(epoch) {
        return;
    }
    let apps = ctx.index.apps_of_org(&handle.key);
    info!(org = %handle.key, apps = apps.len(), "the org's Identity Provider changed; checking the org and its apps now");
    Wake::send(&ctx.wake.orgs, &handle.key);
    for key in apps {
        Wake::send(&ctx.wake.apps, &key);
    }
}

/// What the last download published, if it may stand for this reconcile (see `download.rs`).
fn last_publish(
    app: &SsoConnectedApp,
    ctx: &Context,
    key: &str,
    org_version: &OrgVersion,
    now: jiff::Timestamp,
) -> Option<LastPublish> {
    let sweep = (now, ctx.metadata_sweep);
    let (download, config_map) =
        ctx.memos
            .last_download(app, key, org_version, &ctx.config_maps, sweep)?;
    let status = app.status.as_ref()?;
    Some(LastPublish {
        download,
        config_map,
        status: status.metadata.clone()?,
        not_after: status.identity_provider.as_ref()?.certificate.not_after.0,
    })
}

/// When to come back: at the next refresh tick, after a backoff, or sooner for a pending rollout.
fn next_delay(
    ctx: &Context,
    key: &str,
    input: &Inputs<'_>,
    org_key: &str,
    outcomes: &Outcomes,
) -> Duration {
    let delay = match outcomes.next() {
        Next::Retry => outcomes
            .failure()
            .and_then(Error::retry_after)
            .unwrap_or_else(|| ctx.retry.fast.failed(key)),
        Next::Stalled => {
            ctx.retry.fast.reset(key);
            ctx.retry.slow.failed(key)
        }
        Next::Refresh => {
            ctx.retry.reset(key);
            let slot = ctx.index.refresh_slot(org_key, key);
            until_refresh_tick(input.refresh, org_key, slot, std::time::SystemTime::now())
        }
    };
    // Come back when new metadata has settled (to restart workloads), or to retry a failed restart.
    match &outcomes.rollout {
        Some(r @ RolloutOutcome::Pending { .. }) => delay.min(r.wait().unwrap_or(delay)),
        Some(RolloutOutcome::Failed(e)) if e.disposition() == Disposition::Transient => {
            delay.min(ctx.retry.fast.failed(key))
        }
        Some(RolloutOutcome::Failed(_)) => delay.min(ctx.retry.slow.failed(key)),
        _ => delay,
    }
}

/// Records the quiet period this reconcile chose, what it published and what it downloaded.
fn remember(
    ctx: &Context,
    app: &SsoConnectedApp,
    key: &str,
    org: OrgVersion,
    input: &Inputs<'_>,
    outcomes: &Outcomes,
    delay: Duration,
) {
    let download = match (&outcomes.metadata, &outcomes.publish) {
        (
            Some(MetadataOutcome::Fetched { key, source, .. }),
            Some(PublishOutcome::Published { .. }),
        ) => Some(Download {
            key: *key,
            at: input.now,
            source: *source,
        }),
        (Some(MetadataOutcome::Unchanged(previous)), _) => Some(previous.download.clone()),
        _ => None,
    };
    let (config_map, written_at) = match &outcomes.publish {
        Some(PublishOutcome::Published {
            config_map, wrote, ..
        }) => (Some(config_map.clone()), wrote.then(Instant::now)),
        _ => ctx.memos.last_published(key),
    };
    let memo = Memo {
        generation: app.metadata.generation,
        org,
        quiet_until: Instant::now() + delay,
        config_map,
        written_at,
        sync_token: sync_token(app),
        stalled: outcomes.next() == Next::Stalled,
        download,
    };
    ctx.memos.record(key, memo);
}

/// Computes the status from the outcomes, writes it if it changed, and publishes the Events.
async fn finish(input: &Inputs<'_>, ctx: &Context, outcomes: &Outcomes) -> Result<(), Error> {
    let app = input.app;
    let (new, events) = status::compute_status(input, outcomes);
    let was_ready = app
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, types::READY))
        .map(|c| c.status == "True");
    status_patch::write_if_changed(ctx, app, app.status.as_ref(), &new).await?;
    let ready = conditions::find(&new.conditions, types::READY).is_some_and(|c| c.status == "True");
    ctx.metrics.record_resource(
        &resource_labels(KIND, app),
        &ResourceState {
            ready,
            suspended: app.spec.suspend,
            certificate_not_after: new
                .identity_provider
                .as_ref()
                .map(|i| i.certificate.not_after.0),
            api_usage: None,
        },
    );
    for event in &events {
        ctx.publish_event(app, event).await;
    }
    if let Some(c) = conditions::find(&new.conditions, types::READY)
        && was_ready != Some(c.status == "True")
    {
        info!(ready = c.status.as_str(), reason = %c.reason, "readiness changed");
    }
    Ok(())
}
