//! Deletion of an `SsoConnectedApp` (the finalizer's cleanup): the app in Salesforce is deleted
//! only when the policy says so and the app carries this resource's ownership marker; otherwise it
//! is left as it is. The ConfigMap goes with the resource (owner reference).

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::gate::org_of;
use super::inputs::{app_kind, eca_version_ok};
use crate::api::app::{AppOrigin, AppType, DeletionPolicy, ManagementPolicy};
use crate::api::{RELEASE_ANNOTATION, SsoConnectedApp};
use crate::controller::context::{Context, resource_labels};
use crate::controller::index::key_of;
use crate::controller::kinds::APP;
use crate::controller::org_api::OrgApi;
use crate::error::Error;
use crate::events::EventSpec;
use crate::ownership;
use crate::salesforce::ReadPriority;

/// What deleting the resource did in Salesforce.
#[derive(Debug, PartialEq, Eq)]
pub enum CleanupOutcome {
    /// The release annotation: Salesforce not touched.
    Released,
    /// The policy keeps the app; why, for the Event.
    Kept(&'static str),
    Deleted,
    /// The app carries no marker of this resource.
    NotOwned,
    /// There was nothing to delete.
    Absent,
}

/// What the policy decides before Salesforce is asked anything.
pub fn decide(app: &SsoConnectedApp) -> Option<CleanupOutcome> {
    let spec = &app.spec;
    if app
        .annotations()
        .get(RELEASE_ANNOTATION)
        .map(String::as_str)
        == Some("true")
    {
        return Some(CleanupOutcome::Released);
    }
    let origin = app
        .status
        .as_ref()
        .and_then(|s| s.app.as_ref())
        .and_then(|a| a.origin);
    let why = match (spec.policy.deletion, spec.app.type_, origin) {
        _ if spec.policy.management == ManagementPolicy::ObserveOnly => {
            "policy.management is ObserveOnly"
        }
        _ if spec.suspend => "the resource is suspended",
        (Some(DeletionPolicy::Orphan), ..) => "policy.deletion is Orphan",
        (Some(DeletionPolicy::Delete), ..) => return None,
        (None, AppType::ExternalClientApp, Some(AppOrigin::Created)) => return None,
        (None, AppType::ConnectedApp, _) => {
            "policy.deletion is not set, and a deleted connected app cannot be recreated without Salesforce Support (Spring '26); set policy.deletion: Delete to delete it with the resource"
        }
        (None, ..) => {
            "policy.deletion is not set and this resource did not create the app; set policy.deletion: Delete to delete it with the resource"
        }
    };
    Some(CleanupOutcome::Kept(why))
}

/// Deletes the app if it is this resource's (this uid, this cluster).
pub async fn delete_owned(
    api: &impl OrgApi,
    app: &SsoConnectedApp,
    cluster: &str,
) -> Result<CleanupOutcome, Error> {
    let spec = &app.spec;
    let found = api
        .read_app(spec.app.type_, &spec.app.api_name, ReadPriority::Required)
        .await
        .map_err(Error::ReadApp)?;
    if !found.exists() {
        return Ok(CleanupOutcome::Absent);
    }
    let (ns, name) = (app.namespace().unwrap_or_default(), app.name_any());
    let me = ownership::Claimant {
        namespace: &ns,
        name: &name,
        uid: app.metadata.uid.as_deref().unwrap_or_default(),
        cluster,
    };
    if ownership::owner_of(found.description()).claim(&me) != ownership::Claim::Mine {
        return Ok(CleanupOutcome::NotOwned);
    }
    api.delete_app(spec.app.type_, &spec.app.api_name)
        .await
        .map_err(Error::DeleteApp)?;
    Ok(CleanupOutcome::Deleted)
}

pub async fn cleanup(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = match decide(&app) {
        Some(o) => o,
        None => in_salesforce(&app, &ctx)
            .await
            .map_err(|source| Error::DeleteBlocked {
                app: app.spec.app.api_name.clone(),
                source: Box::new(source),
            })?,
    };
    if let Some(event) = outcome.event(&app) {
        ctx.publish_event(&*app, &event).await;
    }
    let key = key_of(&app);
    ctx.metrics.forget_resource(&resource_labels(APP, &*app));
    ctx.memos.forget(&key);
    ctx.retry.reset(&key);
    Ok(Action::await_change())
}

async fn in_salesforce(app: &SsoConnectedApp, ctx: &Context) -> Result<CleanupOutcome, Error> {
    let Some(org) = org_of(ctx, app) else {
        return Err(Error::OrgMissing {
            org: app.spec.org_ref.name.to_string(),
        });
    };
    let handle = ctx
        .registry
        .connect(&org)
        .await
        .map_err(|source| Error::Connect {
            org: org.name_any(),
            source,
        })?;
    // An app of an org that cannot hold External Client Apps was never created: nothing to do.
    if app.spec.app.type_ == AppType::ExternalClientApp && !eca_version_ok(&org.spec.api_version) {
        return Ok(CleanupOutcome::Absent);
    }
    delete_owned(&handle.api, app, &ctx.cluster).await
}

impl CleanupOutcome {
    pub fn event(&self, app: &SsoConnectedApp) -> Option<EventSpec> {
        let api_name = &app.spec.app.api_name;
        let kind = app_kind(app.spec.app.type_);
        Some(match self {
            CleanupOutcome::Released => EventSpec::warning(
                "Released",
                "Delete",
                format!(
                    "{RELEASE_ANNOTATION}=true: removed without touching Salesforce; app {api_name} was left as it is"
                ),
            ),
            CleanupOutcome::Kept(why) => EventSpec::normal(
                "Orphaned",
                "Delete",
                format!("left {kind} {api_name} in Salesforce: {why}"),
            ),
            CleanupOutcome::Deleted => EventSpec::normal(
                "Deleted",
                "Delete",
                format!("deleted {kind} {api_name} from Salesforce"),
            ),
            CleanupOutcome::NotOwned => EventSpec::normal(
                "NotDeleted",
                "Delete",
                format!(
                    "{kind} {api_name} is not marked as this resource's, so it was left in Salesforce"
                ),
            ),
            CleanupOutcome::Absent => return None,
        })
    }
}
