//! Stage: the app in Salesforce. Creates it when missing (without a read when the org's listing
//! proves it absent), takes over an unmarked app only when the spec allows, never touches an app
//! marked for another resource, and writes only the managed fields that differ.

use std::sync::atomic::Ordering;

use tracing::debug;

use super::inputs::Inputs;
use crate::api::app::{AdoptionPolicy, AppOrigin, AppStatus, AppType, DriftEntry};
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::desired;
use crate::controller::drift::{Field, differences_of};
use crate::controller::org_api::{FoundApp, OrgApi, WantedApp};
use crate::controller::registry::OrgHandle;
use crate::error::Error;
use crate::events::EventSpec;
use crate::ownership::{self, Claim};
use crate::salesforce::SalesforceError;

#[derive(Debug)]
pub enum AppOutcome {
    /// Exists and matches the spec; nothing written.
    InSync,
    /// An External Client App whose policies this org does not return to `readMetadata`: the
    /// app component matches, the policies were deployed for this generation and cannot be
    /// compared; nothing written.
    InSyncPoliciesUnread,
    Created,
    /// Changed to match a new spec.
    Updated(Vec<Field>),
    /// An unmarked app taken over (`policy.adoption: IfUnowned`).
    Adopted,
    /// An app marked for this resource's predecessor, taken over on request (reclaim annotation).
    Reclaimed,
    /// Changed in Salesforce after this generation was applied; written back.
    DriftCorrected(Vec<Field>),
    /// ObserveOnly: differs and was left alone (`drift`: changed after being applied).
    Differs {
        fields: Vec<Field>,
        drift: bool,
    },
    /// ObserveOnly, and there is no such app.
    MissingObserveOnly,
    /// The app carries another resource's ownership marker.
    OwnedByOther {
        owner: String,
    },
    /// The app is marked for this `namespace/name` with another uid or cluster, and the resource
    /// did not ask to reclaim it.
    Predecessor {
        uid: Option<String>,
        cluster: Option<String>,
    },
    /// The app exists without a marker and the spec does not allow taking it over.
    Unowned,
    /// The org has an app whose name differs from this one only in case.
    NameTaken {
        existing: String,
    },
    ReadFailed(Error),
    CreateFailed(Error),
    UpdateFailed(Error),
}

pub async fn ensure(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>) -> AppOutcome {
    let spec = input.spec;
    let created = create_if_listed_absent(org, input).await;
    let found = if created.is_some() {
        FoundApp::absent(spec.app.type_)
    } else {
        match org
            .api
            .read_app(spec.app.type_, input.api_name(), input.priority)
            .await
        {
            Ok(found) => found,
            Err(e) => return AppOutcome::ReadFailed(Error::ReadApp(e)),
        }
    };
    if !found.exists() {
        if input.observe_only {
            return AppOutcome::MissingObserveOnly;
        }
        return match created {
            Some(Ok(())) => AppOutcome::Created,
            Some(Err(e)) => AppOutcome::CreateFailed(Error::WriteApp(e)),
            None => create(org, input).await,
        };
    }
    update(org, input, &found).await
}

/// For a resource that has never got this far, and an app the org's listing lacks: create it
/// straight away (`createMetadata` cannot overwrite). `None`: read first instead (not a new
/// connected app, no listing, or the app turned out to exist after all).
async fn create_if_listed_absent(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Option<Result<(), SalesforceError>> {
    if !input.first_time()
        || input.observe_only
        || input.spec.app.type_ != AppType::ConnectedApp
        || !org.listing.absent(&org.api, input.api_name()).await
    {
        return None;
    }
    let WantedApp::Connected(app) =
        desired::wanted(&FoundApp::Connected(None), input.spec, &input.marker)
    else {
        return None;
    };
    match org.api.create_connected_app(&app).await {
        Err(e) if e.is_already_exists() => {
            debug!(app = %input.api_name(), "created meanwhile by someone else; reading it");
            None
        }
        r => Some(r),
    }
}

/// Creates the app, never overwriting one: only after the org's listing shows no app of that name
/// in any case (API names are unique regardless of case), and a connected app with
/// `createMetadata`, which Salesforce refuses for an existing name.
async fn create(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>) -> AppOutcome {
    let kind = input.spec.app.type_;
    match listed_as(org, input).await {
        Err(e) => return AppOutcome::ReadFailed(Error::ReadApp(e)),
        Ok(Some(listed)) => return taken(listed, input),
        Ok(None) => {}
    }
    let written = match desired::wanted(&FoundApp::absent(kind), input.spec, &input.marker) {
        WantedApp::Connected(app) => org.api.create_connected_app(&app).await,
        want => org.api.write_app(&want).await,
    };
    if written.is_ok() && kind == AppType::ExternalClientApp {
        note_policy_reads(org, input).await;
    }
    match written {
        Ok(()) => AppOutcome::Created,
        // Made meanwhile (or the listing lagged): look again, next time.
        Err(e) if e.is_already_exists() => AppOutcome::ReadFailed(Error::AppUnreadable {
            name: input.api_name().to_string(),
        }),
        Err(e) => AppOutcome::CreateFailed(Error::WriteApp(e)),
    }
}

/// The name under which the org lists an app called `api_name` regardless of case, if any.
async fn listed_as(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Result<Option<String>, SalesforceError> {
    let names = org.api.list_apps(input.spec.app.type_).await?;
    Ok(names
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(input.api_name())))
}

/// The org lists the name although reading it found nothing: another case is another app's
/// name; the same name is a read that lags the listing (retried, never overwritten).
fn taken(listed: String, input: &Inputs<'_>) -> AppOutcome {
    if listed == input.api_name() {
        AppOutcome::ReadFailed(Error::AppUnreadable { name: listed })
    } else {
        AppOutcome::NameTaken { existing: listed }
    }
}

/// The app exists: check ownership, then write what differs.
async fn update(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>, found: &FoundApp) -> AppOutcome {
    let taking_over = match ownership::owner_of(found.description()).claim(&input.claimant()) {
        Claim::Mine => None,
        Claim::Other(owner) => return AppOutcome::OwnedByOther { owner },
        Claim::Predecessor { .. } if input.reclaims() && !input.observe_only => {
            Some(AppOutcome::Reclaimed)
        }
        Claim::Predecessor { uid, cluster } => return AppOutcome::Predecessor { uid, cluster },
        Claim::Unowned
            if input.spec.policy.adoption == AdoptionPolicy::Never && !input.observe_only =>
        {
            return AppOutcome::Unowned;
        }
        Claim::Unowned => (!input.observe_only).then_some(AppOutcome::Adopted),
    };
    let adopting = taking_over.is_some();
    let want = desired::wanted(found, input.spec, &input.marker);
    let mut fields = differences_of(found, &want);
    // Differences in a generation already applied were made in Salesforce, not in the spec.
    let drift = input.applied && !adopting;
    let unread = policies_unread(found);
    if unread && drift && org.eca_policies_unreadable.load(Ordering::Relaxed) {
        // This org never returns the policies: they are as this generation deployed them.
        fields.retain(|f| !matches!(f, Field::Policies | Field::SamlPolicies));
        if fields.is_empty() {
            return AppOutcome::InSyncPoliciesUnread;
        }
    }
    if fields.is_empty() {
        return AppOutcome::InSync;
    }
    if input.observe_only {
        return AppOutcome::Differs { fields, drift };
    }
    let written = org.api.write_app(&want).await;
    if written.is_ok() && unread {
        note_policy_reads(org, input).await;
    }
    match written {
        Err(e) => AppOutcome::UpdateFailed(Error::WriteApp(e)),
        Ok(()) if adopting => taking_over.unwrap_or(AppOutcome::Adopted),
        Ok(()) if drift => AppOutcome::DriftCorrected(fields),
        Ok(()) => AppOutcome::Updated(fields),
    }
}

/// An External Client App found without its policies (or its SAML policies).
fn policies_unread(found: &FoundApp) -> bool {
    matches!(found, FoundApp::External(Some(b)) if b.policies.is_none() || b.saml_policies.is_none())
}

/// After a deploy of policies the read had lacked: reads them once more, and when the org still
/// returns none, remembers that it does not serve them to `readMetadata` (retrieve only), so later
/// checks neither take their absence for drift nor deploy them on every refresh.
async fn note_policy_reads(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>) {
    let kind = input.spec.app.type_;
    if let Ok(again) = org
        .api
        .read_app(kind, input.api_name(), input.priority)
        .await
        && again.exists()
    {
        let unreadable = policies_unread(&again);
        if unreadable {
            debug!(app = %input.api_name(), "policies deployed but not returned by readMetadata: not compared from now on");
        }
        org.eca_policies_unreadable
            .store(unreadable, Ordering::Relaxed);
    }
}

fn joined(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl AppOutcome {
    /// Whether the app exists as far as later stages are concerned (they run after this).
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            AppOutcome::InSync
                | AppOutcome::InSyncPoliciesUnread
                | AppOutcome::Created
                | AppOutcome::Updated(_)
                | AppOutcome::Adopted
                | AppOutcome::Reclaimed
                | AppOutcome::DriftCorrected(_)
                | AppOutcome::Differs { .. }
        )
    }

    pub fn failure(&self) -> Option<&Error> {
        match self {
            AppOutcome::ReadFailed(e)
            | AppOutcome::CreateFailed(e)
            | AppOutcome::UpdateFailed(e) => Some(e),
            _ => None,
        }
    }

    /// Waits for a person: nothing the operator may do changes it.
    pub fn stalled(&self) -> bool {
        matches!(
            self,
            AppOutcome::MissingObserveOnly
                | AppOutcome::OwnedByOther { .. }
                | AppOutcome::Predecessor { .. }
                | AppOutcome::Unowned
                | AppOutcome::NameTaken { .. }
        )
    }

    /// `AppReady`, and `AccessGranted` where the app is missing.
    pub fn conditions(&self, input: &Inputs<'_>) -> Vec<Desired> {
        let (kind, api_name) = (input.kind(), input.api_name());
        let t = types::APP_READY;
        let synced = || {
            Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!("{kind} {api_name} matches the spec"),
            )
        };
        let no_app = || {
            Desired::new(
                types::ACCESS_GRANTED,
                false,
                reasons::DEPENDENCY_NOT_READY,
                "the app does not exist",
            )
        };
        match self {
            AppOutcome::InSync
            | AppOutcome::Created
            | AppOutcome::Updated(_)
            | AppOutcome::Adopted
            | AppOutcome::Reclaimed
            | AppOutcome::DriftCorrected(_) => vec![synced()],
            AppOutcome::InSyncPoliciesUnread => vec![Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!(
                    "{kind} {api_name} matches the spec; this org returns its policies to retrieve only, not to readMetadata, so they were deployed for this generation and are not checked for drift"
                ),
            )],
            AppOutcome::Differs { fields, .. } => vec![Desired::new(
                t,
                true,
                reasons::OBSERVE_ONLY,
                format!(
                    "{kind} {api_name} differs from the spec in {}; ObserveOnly makes no change",
                    joined(fields)
                ),
            )],
            AppOutcome::MissingObserveOnly => vec![
                Desired::new(
                    t,
                    false,
                    reasons::NOT_FOUND,
                    format!(
                        "{kind} {api_name} does not exist in the org; ObserveOnly does not create it"
                    ),
                ),
                no_app(),
            ],
            AppOutcome::OwnedByOther { owner } => vec![Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!("{kind} {api_name} is managed by {owner}, not by this resource"),
            )],
            AppOutcome::Predecessor { uid, cluster } => vec![Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "{kind} {api_name} is marked for an earlier {}/{} (uid {}, cluster {}), not this resource; set annotation {}: \"true\" to take it over",
                    input.namespace,
                    input.name,
                    uid.as_deref().unwrap_or("?"),
                    cluster.as_deref().unwrap_or("?"),
                    crate::api::RECLAIM_ANNOTATION
                ),
            )],
            AppOutcome::NameTaken { existing } => vec![Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "the org has {kind} {existing}; API names are unique regardless of case, so {api_name} cannot be created: use apiName {existing} (the ownership and adoption rules then apply) or another name"
                ),
            )],
            AppOutcome::Unowned => vec![Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "{kind} {api_name} already exists in the org and carries no sso-operator ownership marker; set spec.policy.adoption: IfUnowned to take it over"
                ),
            )],
            AppOutcome::CreateFailed(e) => vec![e.condition(t), no_app()],
            AppOutcome::ReadFailed(e) | AppOutcome::UpdateFailed(e) => vec![e.condition(t)],
        }
    }

    /// Events for what this stage did.
    pub fn events(&self, input: &Inputs<'_>) -> Vec<EventSpec> {
        let (kind, api_name) = (input.kind(), input.api_name());
        match self {
            AppOutcome::Created => vec![EventSpec::normal(
                "Created",
                "CreateApp",
                format!("created {kind} {api_name}"),
            )],
            AppOutcome::Adopted => vec![EventSpec::normal(
                "Adopted",
                "AdoptApp",
                format!("took over existing {kind} {api_name}"),
            )],
            AppOutcome::Reclaimed => vec![EventSpec::normal(
                "Reclaimed",
                "AdoptApp",
                format!(
                    "took over {kind} {api_name} from an earlier resource of this name ({}: \"true\")",
                    crate::api::RECLAIM_ANNOTATION
                ),
            )],
            AppOutcome::DriftCorrected(fields) => vec![EventSpec::warning(
                reasons::DRIFTED,
                "CorrectDrift",
                format!(
                    "{kind} {api_name} was changed in Salesforce ({}); restored the spec",
                    joined(fields)
                ),
            )],
            AppOutcome::Updated(fields) => vec![EventSpec::normal(
                "Updated",
                "UpdateApp",
                format!("updated {kind} {api_name}: {}", joined(fields)),
            )],
            AppOutcome::CreateFailed(e)
                if e.reason() == reasons::CONNECTED_APP_CREATION_BLOCKED =>
            {
                vec![EventSpec::warning(
                    reasons::CONNECTED_APP_CREATION_BLOCKED,
                    "CreateApp",
                    e.to_string(),
                )]
            }
            _ => vec![],
        }
    }

    /// `status.drift` for this check (empty: none found, or not a drift check).
    pub fn drift(&self) -> Vec<DriftEntry> {
        let (fields, action) = match self {
            AppOutcome::DriftCorrected(f) => (f, "Corrected"),
            AppOutcome::Differs {
                fields,
                drift: true,
            } => (fields, "Reported"),
            _ => return vec![],
        };
        fields
            .iter()
            .map(|f| DriftEntry {
                field: f.name().into(),
                action: action.into(),
            })
            .collect()
    }

    /// `status.app`, when this stage got as far as writing (or finding) the app.
    pub fn app_status(&self, input: &Inputs<'_>) -> Option<AppStatus> {
        let reached = self.succeeded()
            || matches!(
                self,
                AppOutcome::CreateFailed(_) | AppOutcome::UpdateFailed(_)
            );
        let old = input.app.status.as_ref().and_then(|s| s.app.as_ref());
        reached.then(|| AppStatus {
            type_: input.spec.app.type_,
            api_name: input.api_name().into(),
            id: old.and_then(|a| a.id.clone()),
            origin: match self {
                AppOutcome::Created => Some(AppOrigin::Created),
                AppOutcome::Adopted => Some(AppOrigin::Adopted),
                _ => old.and_then(|a| a.origin),
            },
        })
    }

    /// Whether profile or permission-set access differs and was left alone (ObserveOnly).
    pub fn access_left_different(&self) -> bool {
        matches!(self, AppOutcome::Differs { fields, drift: true } if fields.iter().any(|f| f.is_access()))
    }
}
