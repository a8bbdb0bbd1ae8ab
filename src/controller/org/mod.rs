//! `SalesforceOrg` reconcile: resolve the Secret and build the org's shared client (through the
//! registry), authenticate, and report authentication health, org id, API usage and the Identity
//! Provider in status.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::{Api, ResourceExt};
use tracing::{instrument, warn};

mod cleanup;
mod health;
mod identity_provider;
mod rotation_driver;

use self::health::record_health;
use self::identity_provider::OrgIdpOutcome;
use super::backoff::jittered;
use super::context::{Context, resource_labels};
use super::kinds::ORG as KIND;
use super::registry::org_key;
use super::rotation;
use super::status_patch;
use crate::api::SalesforceOrg;
use crate::api::conditions::{self, Desired, Progress, reasons, types};
use crate::api::org::{RotationStatus, SalesforceOrgStatus};
use crate::api::{FINALIZER, SWITCH_NOW_ANNOTATION};
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;
use crate::error::{Disposition, Error};
use crate::events::EventSpec;
use crate::metrics::ResourceState;
use crate::salesforce::{ErrorKind, Identity, OrgClient};

#[instrument(skip_all, fields(namespace = %org.namespace().unwrap_or_default(), name = %org.name_any()))]
pub async fn reconcile(org: Arc<SalesforceOrg>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile_started(KIND);
    let ns = org.namespace().unwrap_or_default();
    let api: Api<SalesforceOrg> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer::finalizer(&api, FINALIZER, org, |event| async {
        match event {
            Finalizer::Apply(org) => check(&org, &ctx).await,
            Finalizer::Cleanup(org) => cleanup::cleanup(&org, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    timer.finish();
    result
}

/// What one check of the org found: its conditions, where that leaves it, and when to look again.
struct Check {
    conditions: Vec<Desired>,
    progress: Progress,
    next: Action,
    failure: Option<Error>,
    events: Vec<EventSpec>,
}

async fn check(org: &SalesforceOrg, ctx: &Context) -> Result<Action, Error> {
    let old = org.status.clone().unwrap_or_default();
    let mut new = old.clone();
    new.observed_generation = org.metadata.generation;
    let check = authenticate(org, ctx, &old, &mut new).await;
    let ready_reason = check
        .conditions
        .iter()
        .rev()
        .find(|c| !c.status)
        .map_or(reasons::AUTHENTICATED, |c| c.reason);
    let [stalled, reconciling] = conditions::progress(check.progress, ready_reason);
    let mut desired = check.conditions;
    desired.extend([stalled, reconciling]);
    new.conditions = conditions::merge(
        &old.conditions,
        &desired,
        org.metadata.generation,
        status_patch::now(),
    );
    write_status(ctx, org, &old, &new).await?;
    for event in &check.events {
        ctx.publish_event(org, event).await;
    }
    match check.failure {
        Some(e) if e.disposition() == Disposition::Transient => Err(e),
        _ => Ok(check.next),
    }
}

/// Connects and authenticates; then, if the org chooses the Identity Provider, makes it so.
async fn authenticate(
    org: &SalesforceOrg,
    ctx: &Context,
    old: &SalesforceOrgStatus,
    new: &mut SalesforceOrgStatus,
) -> Check {
    let retry_key = format!("org:{}", org_key(org));
    let (handle, identity) = match connect(org, ctx, &retry_key).await {
        Ok(connected) => connected,
        Err(check) => return check,
    };
    ctx.retry.fast.reset(&retry_key);
    let recorded = old
        .identity_provider
        .as_ref()
        .and_then(|i| i.rotation.clone());
    let idp = identity_provider_and_rotation(org, ctx, &handle, &identity.org_id, recorded).await;
    record_health(new, old, &handle, &identity, ctx.registry.refresh()).await;
    let msg = format!(
        "authenticated to org {} as user {}",
        identity.org_id, identity.user_id
    );
    let mut check = Check {
        conditions: vec![Desired::new(
            types::READY,
            true,
            reasons::AUTHENTICATED,
            msg,
        )],
        progress: Progress::Ready,
        next: Action::requeue(jittered(ctx.registry.refresh())),
        failure: None,
        events: vec![],
    };
    if let Some((outcome, want, driven)) = idp {
        let c = outcome.condition(&want);
        check.progress = outcome.progress();
        check.events.extend(outcome.event(&want));
        if !c.status {
            // Ready says what stands in the way; IdentityProviderReady the details.
            check.conditions[0] = Desired::new(types::READY, false, c.reason, c.message.clone());
        }
        check.conditions.push(c);
        if let OrgIdpOutcome::Failed(e) = outcome {
            check.failure = Some(e);
        }
        if let Some(d) = driven {
            apply_rotation(&mut check, new, d, ctx.registry.refresh());
        }
    }
    check
}

/// The org's handle and who it authenticated as, or the check that says why not. Credentials
/// Salesforce refuses make the Secret be read again (it may hold rotated ones) and are tried once
/// more with what it holds.
async fn connect(
    org: &SalesforceOrg,
    ctx: &Context,
    retry_key: &str,
) -> Result<(Arc<OrgHandle<OrgClient>>, Identity), Check> {
    let not_connected = |e: crate::error::ConnectError| {
        // Waiting for a person to fix a Secret or URL: poll quickly at first so the fix is
        // noticed within seconds, without hammering (no Secret watch: least privilege).
        let delay = ctx
            .retry
            .fast
            .failed(retry_key)
            .min(Duration::from_secs(10));
        Check {
            conditions: vec![Desired::new(types::READY, false, e.reason(), e.to_string())],
            progress: Progress::Stalled,
            next: Action::requeue(delay),
            failure: None,
            events: vec![],
        }
    };
    let mut handle = ctx.registry.connect(org).await.map_err(not_connected)?;
    let mut authenticated = handle.api.authenticate().await;
    if let Err(e) = &authenticated
        && e.kind() == ErrorKind::Auth
    {
        ctx.registry.reread_credentials(&org_key(org));
        let rebuilt = ctx.registry.connect(org).await.map_err(not_connected)?;
        if !Arc::ptr_eq(&rebuilt, &handle) {
            handle = rebuilt;
            authenticated = handle.api.authenticate().await;
        }
    }
    match authenticated {
        Ok(identity) => Ok((handle, identity)),
        Err(e) => {
            let message = e.to_string();
            let e = Error::Authenticate(e);
            warn!(error = %e, reason = e.reason(), "authentication failed");
            // Transient failures get their delay from error_policy; the rest wait here.
            let delay = match e.retry_after() {
                Some(d) => d,
                None if e.disposition() == Disposition::Transient => Duration::ZERO,
                None => ctx.retry.fast.failed(retry_key),
            };
            let progress = match e.disposition() {
                Disposition::NeedsChange => Progress::Stalled,
                Disposition::Transient | Disposition::OrgPaused => Progress::Reconciling,
            };
            Err(Check {
                conditions: vec![Desired::new(types::READY, false, e.reason(), message)],
                progress,
                next: Action::requeue(delay),
                failure: Some(e),
                events: vec![],
            })
        }
    }
}

/// The org's Identity Provider as its spec chooses it, and the next step of a planned rotation
/// (only once the Identity Provider is as chosen). `None` when the org chooses nothing.
async fn identity_provider_and_rotation(
    org: &SalesforceOrg,
    ctx: &Context,
    handle: &OrgHandle<impl OrgApi>,
    org_id: &str,
    recorded: Option<RotationStatus>,
) -> Option<(OrgIdpOutcome, String, Option<rotation_driver::Driven>)> {
    let spec = org.spec.identity_provider.as_ref()?;
    let want = rotation::effective_certificate(spec, recorded.as_ref()).to_string();
    let disputed_by = disputes(ctx, org, org_id, &want);
    let refresh = ctx.registry.refresh();
    let outcome = identity_provider::ensure(
        handle,
        &want,
        spec.allow_certificate_switch,
        disputed_by,
        refresh,
    )
    .await;
    if !matches!(outcome, OrgIdpOutcome::Ready { .. }) {
        return Some((outcome, want, None));
    }
    let now = jiff::Timestamp::now();
    // The annotation names the certificate to switch to, so one left behind does not cut
    // short the overlap of a later rotation.
    let switch_now = spec
        .rotation
        .as_ref()
        .is_some_and(|r| org.annotations().get(SWITCH_NOW_ANNOTATION) == Some(&r.next_certificate));
    let step = rotation::plan(spec, recorded.as_ref(), now, switch_now);
    let driven = rotation_driver::drive(handle, spec, recorded.as_ref(), step, now, refresh).await;
    Some((outcome, want, Some(driven)))
}

/// Records what the rotation step did: status, conditions, Events, the next look.
fn apply_rotation(
    check: &mut Check,
    new: &mut SalesforceOrgStatus,
    d: rotation_driver::Driven,
    refresh: Duration,
) {
    if let Some(idp) = new.identity_provider.as_mut() {
        idp.rotation = d.recorded;
    }
    check.conditions.extend(d.conditions);
    check.events.extend(d.events);
    if d.failure.is_some() {
        check.failure = d.failure;
        check.progress = Progress::Reconciling;
    }
    if let Some(due) = d.due.filter(|due| *due < refresh) {
        check.next = Action::requeue(due);
    }
}

/// Other `SalesforceOrg`s authenticated to the same org (`org_id`) that choose another IdP
/// certificate, as `"<namespace>/<name> chooses <certificate>"`. Orgs are few: a scan is fine.
fn disputes(ctx: &Context, me: &SalesforceOrg, org_id: &str, want: &str) -> Vec<String> {
    let mut out: Vec<String> = ctx
        .stores
        .orgs
        .state()
        .iter()
        .filter(|o| o.uid() != me.uid() && o.metadata.deletion_timestamp.is_none())
        .filter(|o| o.status.as_ref().and_then(|s| s.org_id.as_deref()) == Some(org_id))
        .filter_map(|o| {
            let spec = o.spec.identity_provider.as_ref()?;
            let recorded = o
                .status
                .as_ref()
                .and_then(|s| s.identity_provider.as_ref())
                .and_then(|i| i.rotation.as_ref());
            let c = rotation::effective_certificate(spec, recorded);
            (c != want).then(|| format!("{} chooses {c}", org_key(o)))
        })
        .collect();
    out.sort();
    out
}

/// Writes the status if it changed, with an Event when readiness flips.
async fn write_status(
    ctx: &Context,
    org: &SalesforceOrg,
    old: &SalesforceOrgStatus,
    new: &SalesforceOrgStatus,
) -> Result<(), Error> {
    let ready = |s: &SalesforceOrgStatus| {
        conditions::find(&s.conditions, types::READY).map(|c| c.status.clone())
    };
    let flipped = ready(old) != ready(new);
    let wrote = status_patch::write_if_changed(ctx, org, org.status.as_ref(), new).await?;
    ctx.metrics.record_resource(
        &resource_labels(KIND, org),
        &ResourceState {
            ready: ready(new).as_deref() == Some("True"),
            suspended: false,
            certificate_not_after: None,
            // The live figure: status keeps one only when it moved enough (health.rs).
            api_usage: ctx
                .registry
                .get(&org_key(org))
                .and_then(|h| h.api.api_usage())
                .map(|u| (u.used, u.limit))
                .or_else(|| new.api_usage.as_ref().map(|u| (u.used, u.limit))),
        },
    );
    if wrote
        && flipped
        && let Some(c) = conditions::find(&new.conditions, types::READY)
    {
        let event = if c.status == "True" {
            EventSpec::normal
        } else {
            EventSpec::warning
        };
        ctx.publish_event(org, &event(&c.reason, "Authenticate", c.message.clone()))
            .await;
    }
    Ok(())
}

pub fn error_policy(org: Arc<SalesforceOrg>, err: &Error, ctx: Arc<Context>) -> Action {
    if let Error::WaitingForApps { .. } = err {
        // Not a failure: the deletion waits for its apps (see `cleanup`).
        tracing::debug!(error = %err, "SalesforceOrg deletion waiting");
        return Action::requeue(cleanup::RECHECK);
    }
    ctx.metrics.count_error(KIND, err.category());
    let delay = ctx.retry.fast.failed(&format!("org:{}", org_key(&org)));
    warn!(error = %err, retry_in = ?delay, "SalesforceOrg reconcile failed");
    Action::requeue(delay)
}
