//! `SalesforceOrg` reconcile: resolve the Secret, build the org's shared client, authenticate, and
//! report authentication health, org id, API usage and the Identity Provider in status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::controller::Action;
use tracing::{info, instrument, warn};

use super::backoff::jittered;
use super::{Context, org_key, status};
use crate::api::SalesforceOrg;
use crate::api::conditions::{self, Desired, reasons, types};
use crate::api::org::{ApiUsage, OrgIdentityProvider, SalesforceOrgStatus};
use crate::error::Error;
use crate::salesforce::ErrorKind;

#[instrument(skip_all, fields(namespace = %org.namespace().unwrap_or_default(), name = %org.name_any()))]
pub async fn reconcile(org: Arc<SalesforceOrg>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let labels = crate::metrics::ControllerLabels {
        controller: "salesforceorg",
    };
    ctx.metrics.reconciles.get_or_create(&labels).inc();
    let key = org_key(&org);
    if org.metadata.deletion_timestamp.is_some() {
        ctx.forget_org(&key);
        return Ok(Action::await_change());
    }
    let old = org.status.clone().unwrap_or_default();
    let mut new = old.clone();
    new.observed_generation = org.metadata.generation;

    let (desired, next, failure) = match ctx.org_client(&org).await {
        Err(p) => {
            // Waiting for a person to fix a Secret or URL: poll quickly at first so the fix is
            // noticed within seconds, without hammering (no Secret watch: least privilege).
            let delay = ctx
                .backoff
                .failed(&format!("org:{key}"))
                .min(Duration::from_secs(10));
            (
                vec![Desired::new(
                    types::READY,
                    false,
                    p.reason,
                    p.message.clone(),
                )],
                Action::requeue(delay),
                None,
            )
        }
        Ok(client) => match client.authenticate().await {
            Ok(identity) => {
                ctx.backoff.reset(&format!("org:{key}"));
                new.org_id = Some(identity.org_id.clone());
                // Usage comes with every REST response; /limits is an optional read held back below
                // the reserve, so a failure here is not a failure of the org.
                // Only when the last figure is stale: /limits is itself a counted call, and the
                // status write it causes re-triggers this reconcile.
                let fresh = |at: jiff::Timestamp| {
                    jiff::Timestamp::now().duration_since(at).unsigned_abs() < ctx.org_refresh
                };
                let stale = !client.api_usage().is_some_and(|u| fresh(u.observed_at))
                    && !old
                        .api_usage
                        .as_ref()
                        .is_some_and(|u| fresh(u.observed_at.0));
                if stale && let Err(e) = client.refresh_limits().await {
                    info!(error = %e, "could not refresh API usage");
                }
                // A figure older than the one in status (e.g. right after a restart) changes nothing.
                // Status keeps whole seconds; compare at that precision, or every reconcile would
                // rewrite the same figure (and re-trigger every app of the org).
                let seconds =
                    |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second()).unwrap_or(t);
                if let Some(u) = client.api_usage().filter(|u| {
                    old.api_usage
                        .as_ref()
                        .is_none_or(|o| seconds(u.observed_at) > seconds(o.observed_at.0))
                }) {
                    new.api_usage = Some(ApiUsage {
                        used: u.used,
                        limit: u.limit,
                        summary: format!("{}/{}", u.used, u.limit),
                        observed_at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(seconds(
                            u.observed_at,
                        )),
                    });
                }
                if let Some(idp) = ctx.idp.peek(&key) {
                    new.identity_provider = Some(OrgIdentityProvider {
                        enabled: idp.enabled,
                        certificate: idp.certificate.clone(),
                        entity_id: new
                            .identity_provider
                            .as_ref()
                            .and_then(|i| i.entity_id.clone()),
                    });
                }
                let msg = format!(
                    "authenticated to org {} as user {}",
                    identity.org_id, identity.user_id
                );
                (
                    vec![Desired::new(
                        types::READY,
                        true,
                        reasons::AUTHENTICATED,
                        msg,
                    )],
                    Action::requeue(jittered(ctx.org_refresh)),
                    None,
                )
            }
            Err(e) => {
                let reason = match e.kind() {
                    ErrorKind::Auth => reasons::AUTHENTICATION_FAILED,
                    ErrorKind::Quota => reasons::API_LIMIT_EXCEEDED,
                    ErrorKind::Invalid => reasons::KEY_INVALID,
                    _ => reasons::SALESFORCE_UNAVAILABLE,
                };
                warn!(error = %e, reason, "authentication failed");
                // Transient failures get their delay from error_policy; the rest wait here.
                let delay = match e.retry_after() {
                    Some(d) => d,
                    None if e.is_transient() => Duration::ZERO,
                    None => ctx.backoff.failed(&format!("org:{key}")),
                };
                (
                    vec![Desired::new(types::READY, false, reason, e.to_string())],
                    Action::requeue(delay),
                    Some(e),
                )
            }
        },
    };
    new.conditions = conditions::merge(
        &old.conditions,
        &desired,
        org.metadata.generation,
        status::now(),
    );
    let flipped = conditions::find(&old.conditions, types::READY).map(|c| c.status.clone())
        != conditions::find(&new.conditions, types::READY).map(|c| c.status.clone());
    let wrote = status::write_if_changed::<SalesforceOrg, SalesforceOrgStatus>(
        &ctx,
        &org,
        org.status.as_ref(),
        &new,
    )
    .await?;
    if wrote
        && flipped
        && let Some(c) = conditions::find(&new.conditions, types::READY).cloned()
    {
        let ok = c.status == "True";
        ctx.publish_event(&*org, !ok, &c.reason, "Authenticate", c.message.clone())
            .await;
    }
    ctx.metrics
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    if let Some(e) = failure
        && e.is_transient()
    {
        return Err(Error::Authenticate(e));
    }
    Ok(next)
}

pub fn error_policy(org: Arc<SalesforceOrg>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics
        .reconcile_errors
        .get_or_create(&crate::metrics::ErrorLabels {
            controller: "salesforceorg",
            category: err.category(),
        })
        .inc();
    let delay = ctx.backoff.failed(&format!("org:{}", org_key(&org)));
    warn!(error = %err, retry_in = ?delay, "SalesforceOrg reconcile failed");
    Action::requeue(delay)
}
