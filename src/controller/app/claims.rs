//! Stage: does another resource of the same real org claim this app? Answered from the watch
//! indexes (work in proportion to the claimants, not to all resources). The real org is the one a
//! `SalesforceOrg` has authenticated to (`status.orgId` while `Ready`): a `SalesforceOrg` that
//! only names a My Domain, without working credentials, takes part in no decision.

use kube::runtime::reflector::ObjectRef;

use crate::api::SsoConnectedApp;
use crate::api::conditions::{self, Desired, reasons, types};
use crate::controller::context::Context;

#[derive(Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// `by` manages the app already (or asked first).
    AppClaimed { by: String },
}

pub fn check(app: &SsoConnectedApp, ctx: &Context) -> Option<ClaimOutcome> {
    let identity = |org_ref: &str| org_identity(ctx, org_ref);
    let by = ctx.index.earlier_claimant(app, identity)?;
    Some(ClaimOutcome::AppClaimed { by })
}

/// The real org behind an org reference (`namespace/name`): the org id its `SalesforceOrg`
/// authenticated to, while it is `Ready`.
fn org_identity(ctx: &Context, org_ref: &str) -> Option<String> {
    let (ns, name) = org_ref.split_once('/').unwrap_or(("", org_ref));
    let org = ctx.stores.orgs.get(&ObjectRef::new(name).within(ns))?;
    let status = org.status.as_ref()?;
    let ready =
        conditions::find(&status.conditions, types::READY).is_some_and(|c| c.status == "True");
    ready.then(|| status.org_id.clone()).flatten()
}

impl ClaimOutcome {
    pub fn condition(&self, app: &SsoConnectedApp) -> Desired {
        match self {
            ClaimOutcome::AppClaimed { by } => Desired::new(
                types::APP_READY,
                false,
                reasons::CONFLICT,
                format!(
                    "{by} already manages app {} in this org",
                    app.spec.app.api_name
                ),
            ),
        }
    }
}
