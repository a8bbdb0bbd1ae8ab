//! Stage: the org's Identity Provider, enabled with the certificate the spec names (read from the
//! org's shared snapshot; written at most once however many apps ask together).
//!
//! The certificate is org-wide, so one team's app must not change it under every other service
//! provider of the org: an app may enable an Identity Provider that is off, never switch one that
//! is on; when the `SalesforceOrg` chooses the certificate, the org's reconcile does the writing
//! and the app only checks that it asks for the same one.

use super::inputs::Inputs;
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::backoff::since_refresh_tick;
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
    /// The Identity Provider is enabled with another certificate; an app never switches it.
    OtherCertificate {
        current: String,
    },
    /// The `SalesforceOrg` chooses another certificate for the whole org.
    OrgChoosesOther {
        org: String,
        certificate: String,
        asked: String,
    },
    /// The `SalesforceOrg` chooses this certificate and has not enabled the IdP with it yet.
    WaitingForOrg {
        org: String,
    },
    /// Neither the app nor its org names a certificate, and the IdP is off.
    NotChosen,
    Failed(Error),
}

/// The certificate this app needs the IdP to sign with, and whether it may enable the IdP.
enum Wanted {
    /// The app's own choice (no org choice): may enable an IdP that is off.
    Own(String),
    /// The org's choice: the org's reconcile writes, the app only checks.
    Org(String),
    /// Nobody chose one: whatever the IdP signs with, if it is on.
    Any,
}

pub async fn ensure(org: &OrgHandle<impl OrgApi>, input: &Inputs<'_>) -> IdpOutcome {
    let pinned = input.spec.identity_provider.certificate.as_deref();
    let wanted = match (&input.org_idp, pinned) {
        (Some(v), Some(c)) if !v.allowed.iter().any(|a| a == c) => {
            return IdpOutcome::OrgChoosesOther {
                org: v.org.clone(),
                certificate: v.current.clone(),
                asked: c.to_string(),
            };
        }
        (Some(v), _) => Wanted::Org(v.current.clone()),
        (None, Some(c)) => Wanted::Own(c.to_string()),
        (None, None) => Wanted::Any,
    };
    // A snapshot counts only if read since the org's latest refresh tick. With the interval as
    // its age limit, one read a moment after the previous tick still counted at this one, the
    // whole tick skipped its downloads, and a rotated certificate took two intervals to publish.
    let max_age = since_refresh_tick(input.refresh, &org.key, std::time::SystemTime::now());
    let (want, write) = match &wanted {
        Wanted::Own(c) => (c.as_str(), !input.observe_only),
        Wanted::Org(c) => (c.as_str(), false),
        Wanted::Any => {
            return match org.idp.get(&org.api, max_age, input.priority).await {
                Err(e) => IdpOutcome::Failed(Error::ConfigureIdentityProvider(e)),
                Ok(s) if s.enabled => IdpOutcome::Ready {
                    snapshot: s,
                    enabled_now: false,
                },
                Ok(_) => IdpOutcome::NotChosen,
            };
        }
    };
    let ensured = org
        .idp
        .ensure(&org.api, want, max_age, input.priority, write, false)
        .await;
    match ensured {
        Err(e) => IdpOutcome::Failed(Error::ConfigureIdentityProvider(e)),
        Ok(Ensured::CertificateMissing) => IdpOutcome::CertificateMissing,
        Ok(Ensured::Observed(_))
            if !input.observe_only
                && let Some(v) = &input.org_idp =>
        {
            IdpOutcome::WaitingForOrg { org: v.org.clone() }
        }
        Ok(Ensured::Observed(snapshot)) => IdpOutcome::Observed(snapshot),
        Ok(Ensured::OtherCertificate(snapshot)) => IdpOutcome::OtherCertificate {
            current: snapshot.certificate.unwrap_or_default(),
        },
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

    /// The `IdentityProviderReady` condition; `want` is the certificate the stage aimed for.
    pub fn condition(&self, want: Option<&str>) -> Desired {
        let t = types::IDENTITY_PROVIDER_READY;
        let want = want.unwrap_or("(none chosen)");
        match self {
            IdpOutcome::Ready { snapshot, .. } => Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!(
                    "Identity Provider enabled with certificate {}",
                    snapshot.certificate.as_deref().unwrap_or(want)
                ),
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
            IdpOutcome::OtherCertificate { current } => Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "the org's Identity Provider signs with certificate {current}, not {want}; an app never switches the org-wide certificate (every service provider that trusts {current} would refuse sign-in): ask for {current}, or choose {want} on the SalesforceOrg (spec.identityProvider with allowCertificateSwitch: true)"
                ),
            ),
            IdpOutcome::OrgChoosesOther {
                org,
                certificate,
                asked,
            } => Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "SalesforceOrg {org} chooses Identity Provider certificate {certificate} for the org; this app asks for {asked} (leave spec.identityProvider.certificate unset to follow the org)"
                ),
            ),
            IdpOutcome::NotChosen => Desired::new(
                t,
                false,
                reasons::CERTIFICATE_NOT_FOUND,
                "the org's Identity Provider is off and no certificate is chosen: set spec.identityProvider.certificate on this app or on its SalesforceOrg",
            ),
            IdpOutcome::WaitingForOrg { org } => Desired::new(
                t,
                false,
                reasons::DEPENDENCY_NOT_READY,
                format!(
                    "waiting for SalesforceOrg {org} to enable the Identity Provider with certificate {want}"
                ),
            ),
            IdpOutcome::Failed(e) => e.condition(t),
        }
    }
}
