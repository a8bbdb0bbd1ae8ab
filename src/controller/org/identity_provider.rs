//! The org-wide Identity Provider as a `SalesforceOrg` chooses it (`spec.identityProvider`): the
//! one place that may switch the certificate of an enabled Identity Provider, and only when told
//! to (`allowCertificateSwitch`), since every service provider of the org trusting only the old
//! certificate refuses sign-in until it has the new metadata. Two `SalesforceOrg`s authenticated to
//! the same org that choose different certificates switch nothing.

use std::time::Duration;

use crate::api::conditions::{Desired, Progress, reasons, types};
use crate::controller::idp_cache::Ensured;
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;
use crate::error::{Disposition, Error};
use crate::events::EventSpec;
use crate::salesforce::ReadPriority;

#[derive(Debug)]
pub enum OrgIdpOutcome {
    /// Enabled with the chosen certificate; `from`: the certificate this reconcile switched away
    /// from (`Some("")` when it enabled an Identity Provider that was off).
    Ready {
        from: Option<String>,
    },
    CertificateMissing,
    /// Enabled with another certificate and `allowCertificateSwitch` is false.
    OtherCertificate {
        current: String,
    },
    /// Other `SalesforceOrg`s of the same org choose other certificates (`"<org> chooses <cert>"`).
    Disputed {
        others: Vec<String>,
    },
    Failed(Error),
}

/// Makes the org's Identity Provider use `want` as far as the choice allows.
pub async fn ensure(
    org: &OrgHandle<impl OrgApi>,
    want: &str,
    allow_switch: bool,
    disputed_by: Vec<String>,
    max_age: Duration,
) -> OrgIdpOutcome {
    if !disputed_by.is_empty() {
        return OrgIdpOutcome::Disputed {
            others: disputed_by,
        };
    }
    let before = org.idp.peek();
    match org
        .idp
        .ensure(
            &org.api,
            want,
            max_age,
            ReadPriority::Required,
            true,
            allow_switch,
        )
        .await
    {
        Ok(Ensured::Already(_)) => OrgIdpOutcome::Ready { from: None },
        Ok(Ensured::Enabled(_)) => OrgIdpOutcome::Ready {
            from: Some(
                before
                    .filter(|b| b.enabled)
                    .and_then(|b| b.certificate)
                    .unwrap_or_default(),
            ),
        },
        // Writing is allowed here, so Observed does not come back; if it did, it is not as wanted.
        Ok(Ensured::OtherCertificate(snap) | Ensured::Observed(snap)) => {
            OrgIdpOutcome::OtherCertificate {
                current: snap.certificate.unwrap_or_default(),
            }
        }
        Ok(Ensured::CertificateMissing) => OrgIdpOutcome::CertificateMissing,
        Err(e) => OrgIdpOutcome::Failed(Error::ConfigureIdentityProvider(e)),
    }
}

impl OrgIdpOutcome {
    /// The org's `IdentityProviderReady` condition.
    pub fn condition(&self, want: &str) -> Desired {
        let t = types::IDENTITY_PROVIDER_READY;
        match self {
            OrgIdpOutcome::Ready { .. } => Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!("Identity Provider enabled with certificate {want}"),
            ),
            OrgIdpOutcome::CertificateMissing => Desired::new(
                t,
                false,
                reasons::CERTIFICATE_NOT_FOUND,
                format!(
                    "certificate {want} does not exist in the org; create it in Setup > Certificate and Key Management (the operator never creates certificates)"
                ),
            ),
            OrgIdpOutcome::OtherCertificate { current } => Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "the Identity Provider signs with certificate {current}; switching to {want} breaks every service provider that trusts only {current} until it has the new metadata: set spec.identityProvider.allowCertificateSwitch: true to switch"
                ),
            ),
            OrgIdpOutcome::Disputed { others } => Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "other SalesforceOrgs of this org choose other Identity Provider certificates ({}); nothing is switched until they agree",
                    others.join(", ")
                ),
            ),
            OrgIdpOutcome::Failed(e) => e.condition(t),
        }
    }

    pub fn progress(&self) -> Progress {
        match self {
            OrgIdpOutcome::Ready { .. } => Progress::Ready,
            OrgIdpOutcome::Failed(e) if e.disposition() != Disposition::NeedsChange => {
                Progress::Reconciling
            }
            _ => Progress::Stalled,
        }
    }

    pub fn event(&self, want: &str) -> Option<EventSpec> {
        match self {
            OrgIdpOutcome::Ready { from: Some(from) } if from.is_empty() => {
                Some(EventSpec::normal(
                    "IdentityProviderEnabled",
                    "ConfigureIdentityProvider",
                    format!("enabled the org's Identity Provider with certificate {want}"),
                ))
            }
            OrgIdpOutcome::Ready { from: Some(from) } => Some(EventSpec::warning(
                "CertificateSwitched",
                "ConfigureIdentityProvider",
                format!(
                    "switched the org's Identity Provider from certificate {from} to {want}; service providers that trust only {from} refuse sign-in until they have the new metadata"
                ),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fixtures::{FakeOrg, IDP_CERT, OTHER_CERT};

    const AGE: Duration = Duration::from_secs(3600);

    fn handle(org: FakeOrg) -> OrgHandle<FakeOrg> {
        OrgHandle::new("team-a/acme", org)
    }

    #[tokio::test]
    async fn the_org_enables_an_identity_provider_that_is_off() {
        let h = handle(FakeOrg::default());
        let out = ensure(&h, IDP_CERT, false, vec![], AGE).await;
        assert!(matches!(out, OrgIdpOutcome::Ready { .. }));
        assert_eq!(
            out.event(IDP_CERT).unwrap().reason,
            "IdentityProviderEnabled"
        );
        assert_eq!(
            h.api.state().idp.clone().unwrap().certificate_name,
            IDP_CERT
        );
    }

    #[tokio::test]
    async fn switching_an_enabled_identity_provider_needs_the_explicit_opt_in() {
        let h = handle(FakeOrg::with_idp(OTHER_CERT));
        let out = ensure(&h, IDP_CERT, false, vec![], AGE).await;
        let c = out.condition(IDP_CERT);
        assert_eq!((c.status, c.reason), (false, "Conflict"));
        assert!(
            c.message.contains("signs with certificate Rotated_IdP"),
            "{}",
            c.message
        );
        assert_eq!(out.progress(), Progress::Stalled);
        assert_eq!(h.api.writes(), 0);

        let out = ensure(&h, IDP_CERT, true, vec![], AGE).await;
        let event = out.event(IDP_CERT).unwrap();
        assert!(
            event.warning && event.reason == "CertificateSwitched",
            "{event:?}"
        );
        assert!(
            event.note.contains("from certificate Rotated_IdP"),
            "{}",
            event.note
        );
        assert_eq!(
            h.api.state().idp.clone().unwrap().certificate_name,
            IDP_CERT
        );
    }

    #[tokio::test]
    async fn orgs_that_disagree_switch_nothing() {
        let h = handle(FakeOrg::default());
        let out = ensure(
            &h,
            IDP_CERT,
            true,
            vec!["team-b/acme chooses Rotated_IdP".into()],
            AGE,
        )
        .await;
        let c = out.condition(IDP_CERT);
        assert_eq!(c.reason, "Conflict");
        assert!(c.message.contains("team-b/acme chooses Rotated_IdP"));
        assert!(h.api.take_calls().is_empty(), "not even a read");
    }

    #[tokio::test]
    async fn a_missing_certificate_is_reported_and_nothing_written() {
        let h = handle(FakeOrg::default());
        let out = ensure(&h, "No_Such_Cert", true, vec![], AGE).await;
        assert_eq!(out.condition("No_Such_Cert").reason, "CertificateNotFound");
        assert_eq!(h.api.writes(), 0);
    }
}
