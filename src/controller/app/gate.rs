//! Stage: may this reconcile talk to Salesforce at all? Not when suspended, not before the org
//! watch has listed, not without the `SalesforceOrg`, not for an External Client App below the API
//! version that has them, and not while the org's Secret or URLs are unusable.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::inputs::eca_version_ok;
use crate::api::app::AppType;
use crate::api::conditions::{Desired, reasons, types};
use crate::api::{SalesforceOrg, SsoConnectedApp};
use crate::controller::context::Context;
use crate::controller::registry::OrgHandle;
use crate::error::ConnectError;
use crate::salesforce::OrgClient;

/// Why the reconcile stopped before Salesforce.
#[derive(Debug, PartialEq, Eq)]
pub enum GateOutcome {
    /// `spec.suspend`: no calls at all.
    Suspended,
    OrgNotFound {
        org: String,
    },
    /// An External Client App in an org configured below API 63.0.
    EcaUnsupported {
        org: String,
        api_version: String,
    },
    /// The org's Secret or URLs cannot be used.
    OrgNotReady {
        org: String,
        error: ConnectError,
    },
    /// The `SalesforceOrg` has not authenticated yet (no `status.orgId`): until it has, nobody
    /// can tell which other resources share its org, so no claim could be decided.
    OrgNotAuthenticated {
        org: String,
    },
}

pub enum Gate {
    /// The org watch or the ConfigMap watch has not listed yet: "no such org" would be a guess,
    /// and so would "no published ConfigMap" (a fresh operator would publish again, and with
    /// Salesforce's new `validUntil` rewrite the ConfigMap and the status).
    NotSynced,
    Closed(GateOutcome),
    Open {
        org: Arc<SalesforceOrg>,
        handle: Arc<OrgHandle<OrgClient>>,
    },
}

pub async fn open(app: &SsoConnectedApp, ctx: &Context) -> Gate {
    if app.spec.suspend {
        return Gate::Closed(GateOutcome::Suspended);
    }
    if futures::FutureExt::now_or_never(ctx.stores.orgs.wait_until_ready()).is_none()
        || !ctx.config_maps.synced()
    {
        return Gate::NotSynced;
    }
    let Some(org) = org_of(ctx, app) else {
        return Gate::Closed(GateOutcome::OrgNotFound {
            org: app.spec.org_ref.name.to_string(),
        });
    };
    if app.spec.app.type_ == AppType::ExternalClientApp && !eca_version_ok(&org.spec.api_version) {
        return Gate::Closed(GateOutcome::EcaUnsupported {
            org: org.name_any(),
            api_version: org.spec.api_version.clone(),
        });
    }
    match ctx.registry.connect(&org).await {
        Ok(_) if !authenticated(&org) => Gate::Closed(GateOutcome::OrgNotAuthenticated {
            org: org.name_any(),
        }),
        Ok(handle) => Gate::Open { org, handle },
        Err(error) => Gate::Closed(GateOutcome::OrgNotReady {
            org: org.name_any(),
            error,
        }),
    }
}

/// Whether the org has authenticated at least once (its `status.orgId` is known).
fn authenticated(org: &SalesforceOrg) -> bool {
    org.status.as_ref().is_some_and(|s| s.org_id.is_some())
}

/// The `SalesforceOrg` an app refers to, from the watch cache.
pub fn org_of(ctx: &Context, app: &SsoConnectedApp) -> Option<Arc<SalesforceOrg>> {
    let ns = app.namespace().unwrap_or_default();
    ctx.stores
        .orgs
        .get(&ObjectRef::new(&app.spec.org_ref.name).within(&ns))
}

impl GateOutcome {
    /// Waits for a person: only an unsupported API version. Suspension is deliberate (not a
    /// failure), a missing org is a dependency GitOps may apply next (in progress), and an org
    /// that cannot connect is reported as stalled on the org itself.
    pub fn stalled(&self) -> bool {
        matches!(self, GateOutcome::EcaUnsupported { .. })
    }

    pub fn condition(&self) -> Desired {
        match self {
            GateOutcome::Suspended => Desired::new(
                types::READY,
                false,
                reasons::SUSPENDED,
                "spec.suspend is true: no Salesforce calls are made",
            ),
            GateOutcome::OrgNotFound { org } => Desired::new(
                types::READY,
                false,
                reasons::ORG_NOT_FOUND,
                format!("SalesforceOrg {org} does not exist in this namespace"),
            ),
            GateOutcome::EcaUnsupported { org, api_version } => Desired::new(
                types::APP_READY,
                false,
                reasons::UNSUPPORTED,
                format!(
                    "External Client Apps with SAML need API version {} or later; SalesforceOrg {org} uses {api_version}: raise its spec.apiVersion or use app.type ConnectedApp",
                    crate::salesforce::ECA_MIN_API_VERSION
                ),
            ),
            GateOutcome::OrgNotReady { org, error } => Desired::new(
                types::READY,
                false,
                reasons::ORG_NOT_READY,
                format!("SalesforceOrg {org}: {}: {error}", error.reason()),
            ),
            GateOutcome::OrgNotAuthenticated { org } => Desired::new(
                types::READY,
                false,
                reasons::ORG_NOT_READY,
                format!(
                    "SalesforceOrg {org} has not authenticated yet; its org id decides which resources share an org"
                ),
            ),
        }
    }
}
