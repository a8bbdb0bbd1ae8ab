//! Deletion of a `SalesforceOrg` (its finalizer's cleanup): the org stays until every
//! `SsoConnectedApp` that uses it has been cleaned up, because their cleanup needs its connection.
//! When a namespace is deleted, its Secrets go at once; the org's handle (with the credentials
//! already read) is kept for that cleanup. The release annotation is the escape hatch.

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::{RELEASE_ANNOTATION, SalesforceOrg};
use crate::controller::context::{Context, resource_labels};
use crate::controller::kinds::ORG as KIND;
use crate::controller::registry::org_key;
use crate::error::Error;
use crate::events::EventSpec;

/// How often a deletion waiting for its apps looks again (their deletion also triggers it).
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes nothing while apps still use the org: that wait is [`Error::WaitingForApps`], since
/// the finalizer helper drops the finalizer on any `Ok` (`error_policy` requeues it after
/// [`RECHECK`]).
pub async fn cleanup(org: &SalesforceOrg, ctx: &Context) -> Result<Action, Error> {
    let key = org_key(org);
    let released = org
        .annotations()
        .get(RELEASE_ANNOTATION)
        .is_some_and(|v| v == "true");
    let waiting_for = ctx.index.apps_of_org(&key);
    if !waiting_for.is_empty() && !released {
        let note = format!(
            "waiting for {} SsoConnectedApp(s) using this org to be cleaned up first ({}); set annotation {RELEASE_ANNOTATION}=true to delete the org without waiting",
            waiting_for.len(),
            preview(&waiting_for)
        );
        ctx.publish_event(org, &EventSpec::normal("WaitingForApps", "Delete", note))
            .await;
        return Err(Error::WaitingForApps {
            count: waiting_for.len(),
            names: preview(&waiting_for),
        });
    }
    if released && !waiting_for.is_empty() {
        let note = format!(
            "{RELEASE_ANNOTATION}=true: deleted while {} SsoConnectedApp(s) still use it; their cleanup can no longer reach Salesforce",
            waiting_for.len()
        );
        ctx.publish_event(org, &EventSpec::warning("Released", "Delete", note))
            .await;
    }
    ctx.registry.forget(&key);
    ctx.metrics.forget_resource(&resource_labels(KIND, org));
    Ok(Action::await_change())
}

/// The first few names, for a message of bounded size.
fn preview(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
    match keys.len() {
        n if n > shown.len() => format!("{}, and {} more", shown.join(", "), n - shown.len()),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_is_bounded() {
        let keys: Vec<String> = (0..8).map(|i| format!("ns/app-{i}")).collect();
        assert_eq!(
            preview(&keys),
            "ns/app-0, ns/app-1, ns/app-2, ns/app-3, ns/app-4, and 3 more"
        );
        assert_eq!(preview(&keys[..2]), "ns/app-0, ns/app-1");
    }
}
