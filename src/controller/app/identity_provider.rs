//! Stage: the org's Identity Provider, enabled with the certificate the spec names (read from the
//! org's shared snapshot; written at most once however many apps ask together).

use super::inputs::Inputs;
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::idp_cache::{Ensured, IdpSnapshot};
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;
use crate::error::Error;

#[derive(Debug)]
pub enum IdpOutcome {
    /// Enabled with the wanted certificate (`enabled_now`: by this reconcile).
    Ready {
        snapshot: IdpSnapshot,
        enabled_now: bool,
    },
    /// ObserveOnly, and the IdP is not as the spec wants it: nothing written.
    Observed(IdpSnapshot),
    /// The certificate does not exist in the org (the operator never creates certificates).
    CertificateMissing,
    Failed(Error),
}

pub async fn ensure(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>) -> IdpOutcome {
    let want = &input.spec.identity_provider.certificate;
    let ensured = org
        .idp
        .ensure(
            &org.api,
            want,
            input.refresh,
            input.priority,
            !input.observe_only,
        )
        .await;
    match ensured {
        Err(e) => IdpOutcome::Failed(Error::ConfigureIdentityProvider(e)),
        Ok(Ensured::CertificateMissing) => IdpOutcome::CertificateMissing,
        Ok(Ensured::Observed(snapshot)) => IdpOutcome::Observed(snapshot),
        Ok(Ensured::Already(snapshot)) => IdpOutcome::Ready {
            snapshot,
            enabled_now: false,
        },
        Ok(Ensured::Enabled(snapshot)) => IdpOutcome::Ready {
            snapshot,
            enabled_now: true,
        },
    }
}

impl IdpOutcome {
    /// The snapshot later stages use, when this stage let them run.
    pub fn snapshot(&self) -> Option<&IdpSnapshot> {
        match self {
            IdpOutcome::Ready { snapshot, .. } | IdpOutcome::Observed(snapshot) => Some(snapshot),
            _ => None,
        }
    }

    /// The `IdentityProviderReady` condition.
    pub fn condition(&self, want: &str) -> Desired {
        let t = types::IDENTITY_PROVIDER_READY;
        match self {
            IdpOutcome::Ready { .. } => Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!("Identity Provider enabled with certificate {want}"),
            ),
            IdpOutcome::Observed(snap) => {
                let state = match (&snap.enabled, &snap.certificate) {
                    (true, Some(c)) => format!("enabled with certificate {c}"),
                    _ => "disabled".to_string(),
                };
                Desired::new(
                    t,
                    false,
                    reasons::OBSERVE_ONLY,
                    format!(
                        "Identity Provider is {state}, not enabled with {want}; ObserveOnly makes no change"
                    ),
                )
            }
            IdpOutcome::CertificateMissing => Desired::new(
                t,
                false,
                reasons::CERTIFICATE_NOT_FOUND,
                format!(
                    "certificate {want} does not exist in the org; create it in Setup > Certificate and Key Management (the operator never creates certificates)"
                ),
            ),
            IdpOutcome::Failed(e) => e.condition(t),
        }
    }
}
