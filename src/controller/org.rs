//! `SalesforceOrg` reconcile: resolve the Secret and build the org's shared client (through the
//! registry), authenticate, and report authentication health, org id, API usage and the Identity
//! Provider in status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use tracing::{info, instrument, warn};

use super::backoff::jittered;
use super::context::{Context, resource_labels};
use super::registry::{OrgHandle, org_key};
use super::status_patch;
use crate::api::SalesforceOrg;
use crate::api::conditions::{self, Desired, Progress, reasons, types};
use crate::api::org::{ApiUsage, OrgIdentityProvider, SalesforceOrgStatus};
use crate::error::{Disposition, Error};
use crate::events::EventSpec;
use crate::metrics::ResourceState;

/// The controller's name in metrics and the kind label of its per-resource series.
pub const KIND: &str = "salesforceorg";
use crate::salesforce::{Identity, OrgClient};

#[instrument(skip_all, fields(namespace = %org.namespace().unwrap_or_default(), name = %org.name_any()))]
pub async fn reconcile(org: Arc<SalesforceOrg>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile_started(KIND);
    let result = check(&org, &ctx).await;
    timer.finish();
    result
}

async fn check(org: &SalesforceOrg, ctx: &Context) -> Result<Action, Error> {
    let key = org_key(org);
    let retry_key = format!("org:{key}");
    if org.metadata.deletion_timestamp.is_some() {
        ctx.registry.forget(&key);
        ctx.metrics.forget_resource(&resource_labels(KIND, org));
        return Ok(Action::await_change());
    }
    let old = org.status.clone().unwrap_or_default();
    let mut new = old.clone();
    new.observed_generation = org.metadata.generation;
    let (ready, progress, next, failure) = match ctx.registry.connect(org).await {
        Err(e) => {
            // Waiting for a person to fix a Secret or URL: poll quickly at first so the fix is
            // noticed within seconds, without hammering (no Secret watch: least privilege).
            let delay = ctx
                .retry
                .fast
                .failed(&retry_key)
                .min(Duration::from_secs(10));
            let c = Desired::new(types::READY, false, e.reason(), e.to_string());
            (c, Progress::Stalled, Action::requeue(delay), None)
        }
        Ok(handle) => match handle.api.authenticate().await {
            Ok(identity) => {
                ctx.retry.fast.reset(&retry_key);
                record_health(&mut new, &old, &handle, &identity, ctx.registry.refresh()).await;
                let msg = format!(
                    "authenticated to org {} as user {}",
                    identity.org_id, identity.user_id
                );
                let c = Desired::new(types::READY, true, reasons::AUTHENTICATED, msg);
                let next = Action::requeue(jittered(ctx.registry.refresh()));
                (c, Progress::Ready, next, None)
            }
            Err(e) => {
                let message = e.to_string();
                let e = Error::Authenticate(e);
                warn!(error = %e, reason = e.reason(), "authentication failed");
                // Transient failures get their delay from error_policy; the rest wait here.
                let delay = match e.retry_after() {
                    Some(d) => d,
                    None if e.disposition() == Disposition::Transient => Duration::ZERO,
                    None => ctx.retry.fast.failed(&retry_key),
                };
                let c = Desired::new(types::READY, false, e.reason(), message);
                let progress = match e.disposition() {
                    Disposition::NeedsChange => Progress::Stalled,
                    Disposition::Transient | Disposition::OrgPaused => Progress::Reconciling,
                };
                (c, progress, Action::requeue(delay), Some(e))
            }
        },
    };
    let [stalled, reconciling] = conditions::progress(progress, ready.reason);
    new.conditions = conditions::merge(
        &old.conditions,
        &[ready, stalled, reconciling],
        org.metadata.generation,
        status_patch::now(),
    );
    write_status(ctx, org, &old, &new).await?;
    match failure {
        Some(e) if e.disposition() == Disposition::Transient => Err(e),
        _ => Ok(next),
    }
}

/// Org id, API usage and the IdP as the org's apps last saw it.
async fn record_health(
    new: &mut SalesforceOrgStatus,
    old: &SalesforceOrgStatus,
    handle: &OrgHandle<OrgClient>,
    identity: &Identity,
    refresh: Duration,
) {
    let client = &handle.api;
    new.org_id = Some(identity.org_id.clone());
    // Usage comes with every REST response; /limits is an optional read held back below the
    // reserve, so a failure here is not a failure of the org. Only when the last figure is stale:
    // /limits is itself a counted call, and the status write it causes re-triggers this reconcile.
    let fresh =
        |at: jiff::Timestamp| jiff::Timestamp::now().duration_since(at).unsigned_abs() < refresh;
    let stale = !client.api_usage().is_some_and(|u| fresh(u.observed_at))
        && !old
            .api_usage
            .as_ref()
            .is_some_and(|u| fresh(u.observed_at.0));
    if stale && let Err(e) = client.refresh_limits().await {
        info!(error = %e, "could not refresh API usage");
    }
    // A figure older than the one in status (e.g. right after a restart) changes nothing. Status
    // keeps whole seconds; compare at that precision, or every reconcile would rewrite the same
    // figure (and re-trigger every app of the org).
    let seconds = |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second()).unwrap_or(t);
    if let Some(u) = client.api_usage().filter(|u| {
        old.api_usage
            .as_ref()
            .is_none_or(|o| seconds(u.observed_at) > seconds(o.observed_at.0))
    }) {
        new.api_usage = Some(ApiUsage {
            used: u.used,
            limit: u.limit,
            summary: format!("{}/{}", u.used, u.limit),
            observed_at: Time(seconds(u.observed_at)),
        });
    }
    if let Some(idp) = handle.idp.peek() {
        new.identity_provider = Some(OrgIdentityProvider {
            enabled: idp.enabled,
            certificate: idp.certificate.clone(),
            entity_id: new
                .identity_provider
                .as_ref()
                .and_then(|i| i.entity_id.clone()),
        });
    }
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
            certificate_not_after: None,
            api_usage: new.api_usage.as_ref().map(|u| (u.used, u.limit)),
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
    ctx.metrics.count_error(KIND, err.category());
    let delay = ctx.retry.fast.failed(&format!("org:{}", org_key(&org)));
    warn!(error = %err, retry_in = ?delay, "SalesforceOrg reconcile failed");
    Action::requeue(delay)
}
