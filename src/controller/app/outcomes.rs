//! What the stages of one reconcile found and did, stage by stage; a stage that stops the
//! pipeline leaves the later ones `None`. Status, Events and the next step are computed from this.

use super::access::AccessOutcome;
use super::certificate::Validity;
use super::claims::ClaimOutcome;
use super::gate::GateOutcome;
use super::identity_provider::IdpOutcome;
use super::metadata::MetadataOutcome;
use super::publish::PublishOutcome;
use super::rollout::RolloutOutcome;
use super::salesforce_app::AppOutcome;
use crate::api::conditions::Progress;
use crate::error::{Disposition, Error};

#[derive(Debug, Default)]
pub struct Outcomes {
    /// The reconcile stopped before calling Salesforce (suspended, no org, org not usable).
    pub gate: Option<GateOutcome>,
    /// Another resource claims the same app or another IdP certificate.
    pub claim: Option<ClaimOutcome>,
    pub identity_provider: Option<IdpOutcome>,
    pub app: Option<AppOutcome>,
    pub access: Option<AccessOutcome>,
    pub metadata: Option<MetadataOutcome>,
    pub publish: Option<PublishOutcome>,
    pub certificate: Option<Validity>,
    /// `publish.rollout`'s workloads (none when not configured or nothing was published).
    pub rollout: Option<RolloutOutcome>,
}

/// What happens after the reconcile.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Everything the stages could do is done: come back at the next refresh.
    Refresh,
    /// Waiting for a person (conflict, refused content, blocked creation): slow retry.
    Stalled,
    /// A failure that a retry can fix (or the org's pause ends): see [`Outcomes::failure`].
    Retry,
}

impl Outcomes {
    /// The failure that stopped the pipeline, if one did.
    pub fn failure(&self) -> Option<&Error> {
        let idp = match &self.identity_provider {
            Some(IdpOutcome::Failed(e)) => Some(e),
            _ => None,
        };
        let metadata = match &self.metadata {
            Some(MetadataOutcome::Failed(e)) => Some(e),
            _ => None,
        };
        let publish = match &self.publish {
            Some(PublishOutcome::Failed(e)) => Some(e),
            _ => None,
        };
        idp.or_else(|| self.app.as_ref().and_then(AppOutcome::failure))
            .or_else(|| self.access.as_ref().and_then(AccessOutcome::failure))
            .or(metadata)
            .or(publish)
    }

    /// The failure, taken out (to hand to the controller's error policy).
    pub fn into_failure(self) -> Option<Error> {
        let Outcomes {
            identity_provider,
            app,
            access,
            metadata,
            publish,
            ..
        } = self;
        if let Some(AccessOutcome::Failed(e)) = access {
            return Some(e);
        }
        match (identity_provider, app, metadata, publish) {
            (Some(IdpOutcome::Failed(e)), ..) => Some(e),
            (
                _,
                Some(
                    AppOutcome::ReadFailed(e)
                    | AppOutcome::CreateFailed(e)
                    | AppOutcome::UpdateFailed(e),
                ),
                ..,
            ) => Some(e),
            (_, _, Some(MetadataOutcome::Failed(e)), _) => Some(e),
            (_, _, _, Some(PublishOutcome::Failed(e))) => Some(e),
            _ => None,
        }
    }

    /// Whether the reconcile waits for a person.
    pub fn stalled(&self) -> bool {
        let explicit = self.gate.as_ref().is_some_and(GateOutcome::stalled)
            || self.claim.is_some()
            || matches!(
                self.identity_provider,
                Some(
                    IdpOutcome::CertificateMissing
                        | IdpOutcome::OtherCertificate { .. }
                        | IdpOutcome::OrgChoosesOther { .. }
                        | IdpOutcome::NotChosen
                )
            )
            || self.app.as_ref().is_some_and(AppOutcome::stalled)
            || matches!(self.metadata, Some(MetadataOutcome::IssuerMismatch { .. }))
            || matches!(self.publish, Some(PublishOutcome::Foreign { .. }));
        explicit
            || self
                .failure()
                .is_some_and(|e| e.disposition() == Disposition::NeedsChange)
    }

    /// Where the outcomes leave a resource that is not ready (kstatus).
    pub fn progress(&self) -> Progress {
        if matches!(self.gate, Some(GateOutcome::Suspended)) {
            Progress::Suspended
        } else if self.stalled() {
            Progress::Stalled
        } else {
            Progress::Reconciling
        }
    }

    pub fn next(&self) -> Next {
        // Waiting for the org's reconcile to enable the IdP: look again soon, not at the refresh.
        if matches!(
            self.identity_provider,
            Some(IdpOutcome::WaitingForOrg { .. })
        ) {
            return Next::Retry;
        }
        match self.failure().map(Error::disposition) {
            Some(Disposition::Transient | Disposition::OrgPaused) => Next::Retry,
            _ if self.stalled() => Next::Stalled,
            _ => Next::Refresh,
        }
    }
}
