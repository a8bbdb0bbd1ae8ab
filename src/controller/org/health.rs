//! What an authenticated org reports in status: its id, the API usage, and the Identity Provider
//! as the org's apps last saw it.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tracing::info;

use crate::api::org::{ApiUsage, OrgIdentityProvider, SalesforceOrgStatus};
use crate::controller::registry::OrgHandle;
use crate::salesforce::{Identity, OrgClient};

/// Org id, API usage and the IdP as the org's apps last saw it.
pub async fn record_health(
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
            rotation: new
                .identity_provider
                .as_ref()
                .and_then(|i| i.rotation.clone()),
        });
    }
}
