//! Stage: does another resource of the same real org claim this app, or ask for another IdP
//! certificate? Answered from the watch indexes (work in proportion to the claimants, not to all
//! resources). Two `SalesforceOrg`s with the same My Domain are the same real org.

use kube::runtime::reflector::ObjectRef;

use crate::api::SsoConnectedApp;
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::context::Context;

#[derive(Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// `by` manages the app already (or asked first).
    AppClaimed { by: String },
    /// Others want another IdP certificate (`"<resource> wants <certificate>"` each).
    IdpDisagreement { others: Vec<String> },
}

pub fn check(app: &SsoConnectedApp, ctx: &Context) -> Option<ClaimOutcome> {
    let identity = |org_ref: &str| org_identity(ctx, org_ref);
    if let Some(by) = ctx.index.earlier_claimant(app, identity) {
        return Some(ClaimOutcome::AppClaimed { by });
    }
    let others = ctx.index.idp_disagreement(app, identity);
    (!others.is_empty()).then_some(ClaimOutcome::IdpDisagreement { others })
}

/// The real org behind an org reference (`namespace/name`): its My Domain when the
/// `SalesforceOrg` exists, else the reference itself.
fn org_identity(ctx: &Context, org_ref: &str) -> String {
    let (ns, name) = org_ref.split_once('/').unwrap_or(("", org_ref));
    match ctx.stores.orgs.get(&ObjectRef::new(name).within(ns)) {
        Some(org) => org
            .spec
            .instance_url
            .trim_end_matches('/')
            .to_ascii_lowercase(),
        None => org_ref.to_string(),
    }
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
            ClaimOutcome::IdpDisagreement { others } => Desired::new(
                types::IDENTITY_PROVIDER_READY,
                false,
                reasons::CONFLICT,
                format!(
                    "this resource wants IdP certificate {} but {}; the org has one Identity Provider certificate, so nothing is changed until they agree",
                    app.spec.identity_provider.certificate,
                    others.join(", ")
                ),
            ),
        }
    }
}
