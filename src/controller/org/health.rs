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
    // Status keeps whole seconds; compare at that precision.
    let seconds = |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second()).unwrap_or(t);
    if let Some(u) = client.api_usage() {
        let usage = ApiUsage {
            used: u.used,
            limit: u.limit,
            summary: format!("{}/{}", u.used, u.limit),
            observed_at: Time(seconds(u.observed_at)),
        };
        if worth_writing(old.api_usage.as_ref(), &usage) {
            new.api_usage = Some(usage);
        }
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

/// Shares of the limit (percent) at which usage in status is rewritten: the alert's default
/// threshold (80%) and the levels around it.
const USAGE_BANDS: [u64; 4] = [50, 80, 90, 100];

/// Which of [`USAGE_BANDS`] `used` has reached.
fn band(used: u64, limit: u64) -> usize {
    let percent = used.saturating_mul(100) / limit.max(1);
    USAGE_BANDS.iter().take_while(|b| percent >= **b).count()
}

/// Whether a newly observed API usage goes into status. Not every figure: usage moves with every
/// call, so any rule based on how far it moved or how old the figure is makes steady-state
/// writes (and re-triggers every app of the org) that tell nobody anything new. Status is
/// rewritten when the limit changes or usage crosses 50, 80, 90 or 100% of it (either way: the
/// 24-hour window rolls); otherwise it keeps the figure as of its `observedAt`. The
/// `sso_operator_org_api_requests_used` metric follows every observation. A figure older than
/// the one in status (e.g. right after a restart) never replaces it.
fn worth_writing(old: Option<&ApiUsage>, new: &ApiUsage) -> bool {
    let Some(old) = old else { return true };
    if new.observed_at.0 <= old.observed_at.0 {
        return false;
    }
    new.limit != old.limit || band(new.used, new.limit) != band(old.used, old.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(used: u64, limit: u64, at_second: i64) -> ApiUsage {
        ApiUsage {
            used,
            limit,
            summary: format!("{used}/{limit}"),
            observed_at: Time(jiff::Timestamp::from_second(at_second).unwrap()),
        }
    }

    #[test]
    fn usage_is_written_when_it_crosses_a_band_or_the_limit_changes() {
        let old = usage(1_000, 100_000, 1_000_000);
        assert!(worth_writing(None, &old), "first figure");
        assert!(
            !worth_writing(Some(&old), &usage(49_999, 100_000, 1_000_300)),
            "a large move within the band"
        );
        assert!(
            !worth_writing(Some(&old), &usage(1_001, 100_000, 1_090_000)),
            "a day later, same band"
        );
        assert!(
            worth_writing(Some(&old), &usage(50_000, 100_000, 1_000_300)),
            "50% reached"
        );
        let high = usage(85_000, 100_000, 1_000_000);
        assert!(worth_writing(
            Some(&high),
            &usage(90_000, 100_000, 1_000_300)
        ));
        assert!(worth_writing(
            Some(&high),
            &usage(100_001, 100_000, 1_000_300)
        ));
        assert!(
            worth_writing(Some(&high), &usage(10_000, 100_000, 1_000_300)),
            "the window rolled: back below 50%"
        );
        assert!(
            worth_writing(Some(&old), &usage(1_000, 200_000, 1_000_300)),
            "new limit"
        );
        assert!(
            !worth_writing(Some(&high), &usage(99_000, 100_000, 999_999)),
            "older figure"
        );
    }
}
