//! Carries out a planned rotation for a `SalesforceOrg` (the steps come from
//! [`crate::controller::rotation::plan`]): checks the next certificate before announcing it,
//! switches the Identity Provider when due, and records each phase as a condition with its time.
//! A failure leaves the previous phase recorded (and published) and is retried.

use std::time::Duration;

use crate::api::conditions::{Desired, reasons, types};
use crate::api::org::{OrgIdentityProviderSpec, RotationPhase, RotationStatus};
use crate::controller::idp_cache::Ensured;
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;
use crate::controller::rotation::{Step, next_due};
use crate::error::Error;
use crate::events::EventSpec;
use crate::salesforce::ReadPriority;

/// What the rotation step did.
pub struct Driven {
    /// The rotation to record in status (`None`: no rotation).
    pub recorded: Option<RotationStatus>,
    pub conditions: Vec<Desired>,
    pub events: Vec<EventSpec>,
    pub failure: Option<Error>,
    /// When the rotation next needs a look.
    pub due: Option<Duration>,
}

/// Carries out `step` for an org whose rotation so far is `recorded`.
pub async fn drive(
    org: &OrgHandle<impl OrgApi>,
    spec: &OrgIdentityProviderSpec,
    recorded: Option<&RotationStatus>,
    step: Step,
    now: jiff::Timestamp,
    max_age: Duration,
) -> Driven {
    let mut d = Driven {
        recorded: recorded.cloned(),
        conditions: vec![],
        events: vec![],
        failure: None,
        due: None,
    };
    match step {
        Step::Nothing => {}
        Step::Invalid(message) => d.conditions.push(refused(reasons::REJECTED, message)),
        Step::Forget => {
            if recorded.is_some_and(|r| r.phase == RotationPhase::Announced) {
                d.events.push(EventSpec::normal(
                    "RotationCancelled",
                    "RotateCertificate",
                    "the planned rotation was removed before the switch; the next key leaves the metadata",
                ));
            }
            d.recorded = None;
        }
        Step::Announce(planned) => match check_next(org, spec, &planned, max_age).await {
            Err(c) => d.conditions.push(c),
            Ok(()) => {
                d.events.push(EventSpec::normal(
                    "RotationAnnounced",
                    "RotateCertificate",
                    format!(
                        "publishing certificate {} beside {} in every app's metadata; the Identity Provider switches to it at {}",
                        planned.to, planned.from, planned.switch_at.0
                    ),
                ));
                d.recorded = Some(planned);
            }
        },
        Step::Switch(switched) => match org
            .idp
            .ensure(
                &org.api,
                &switched.to,
                max_age,
                ReadPriority::Required,
                true,
                true,
            )
            .await
        {
            Ok(Ensured::Already(_) | Ensured::Enabled(_)) => {
                d.events.push(EventSpec::warning(
                    "CertificateSwitched",
                    "RotateCertificate",
                    format!(
                        "switched the Identity Provider from certificate {} to {} as planned; the old key stays in the metadata until {}",
                        switched.from,
                        switched.to,
                        switched.retire_at.as_ref().map(|t| t.0.to_string()).unwrap_or_default()
                    ),
                ));
                d.recorded = Some(switched);
            }
            Ok(_) => d.conditions.push(refused(
                reasons::CERTIFICATE_NOT_FOUND,
                format!("certificate {} cannot be used for the switch", switched.to),
            )),
            Err(e) => d.failure = Some(Error::ConfigureIdentityProvider(e)),
        },
        Step::Retire(retired) => {
            d.events.push(EventSpec::normal(
                "PreviousCertificateRetired",
                "RotateCertificate",
                format!(
                    "certificate {} left the metadata; set spec.identityProvider.certificate to {} and remove rotation",
                    retired.from, retired.to
                ),
            ));
            d.recorded = Some(retired);
        }
    }
    if d.conditions.is_empty() {
        d.conditions = phase_conditions(d.recorded.as_ref());
    }
    d.due = next_due(d.recorded.as_ref(), now);
    d
}

/// The next certificate must exist, and stay valid past the switch and the grace period after it.
async fn check_next(
    org: &OrgHandle<impl OrgApi>,
    spec: &OrgIdentityProviderSpec,
    planned: &RotationStatus,
    max_age: Duration,
) -> Result<(), Desired> {
    let info = match org.certificates.get(&org.api, &planned.to, max_age).await {
        Ok(Some(info)) => info,
        Ok(None) => {
            return Err(refused(
                reasons::CERTIFICATE_NOT_FOUND,
                format!(
                    "next certificate {} does not exist in the org (or its content cannot be read); create it in Setup > Certificate and Key Management",
                    planned.to
                ),
            ));
        }
        Err(e) => return Err(refused(reasons::SALESFORCE_UNAVAILABLE, e.to_string())),
    };
    let grace = spec
        .rotation
        .as_ref()
        .and_then(|r| crate::api::app::parse_duration(&r.grace_period))
        .and_then(|d| jiff::SignedDuration::try_from(d).ok())
        .unwrap_or_default();
    let needed = planned.switch_at.0 + grace;
    if info.not_after <= needed {
        return Err(refused(
            reasons::EXPIRING_SOON,
            format!(
                "next certificate {} expires at {}, before the switch and grace period are over ({needed}); choose a certificate valid for longer",
                planned.to, info.not_after
            ),
        ));
    }
    Ok(())
}

fn refused(reason: &'static str, message: impl Into<String>) -> Desired {
    Desired::new(types::ROTATION_ANNOUNCED, false, reason, message)
}

/// One condition per phase, each `True` from the moment it was reached.
pub fn phase_conditions(recorded: Option<&RotationStatus>) -> Vec<Desired> {
    let phase = recorded.map(|r| r.phase);
    let reached = |p: RotationPhase| {
        phase.is_some_and(|now| match p {
            RotationPhase::Announced => true,
            RotationPhase::Switched => now != RotationPhase::Announced,
            RotationPhase::Retired => now == RotationPhase::Retired,
        })
    };
    let describe = |p: RotationPhase| match (recorded, reached(p)) {
        (Some(r), true) => match p {
            RotationPhase::Announced => format!(
                "certificate {} published beside {}; switch at {}",
                r.to, r.from, r.switch_at.0
            ),
            RotationPhase::Switched => format!("the Identity Provider signs with {}", r.to),
            RotationPhase::Retired => format!("certificate {} no longer published", r.from),
        },
        (Some(_), false) => "not yet".to_string(),
        (None, _) => "no rotation planned".to_string(),
    };
    [
        (
            types::ROTATION_ANNOUNCED,
            RotationPhase::Announced,
            reasons::ANNOUNCED,
        ),
        (
            types::CERTIFICATE_SWITCHED,
            RotationPhase::Switched,
            reasons::SWITCHED,
        ),
        (
            types::PREVIOUS_CERTIFICATE_RETIRED,
            RotationPhase::Retired,
            reasons::RETIRED,
        ),
    ]
    .into_iter()
    .map(|(t, p, reason)| {
        let on = reached(p);
        let reason = match (on, recorded) {
            (true, _) => reason,
            (false, Some(_)) => reasons::PROGRESSING,
            (false, None) => reasons::NO_ROTATION,
        };
        Desired::new(t, on, reason, describe(p))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::org::RotationSpec;
    use crate::controller::fixtures::{FakeOrg, IDP_CERT, OTHER_CERT};
    use crate::controller::rotation::plan;

    const HOUR: Duration = Duration::from_secs(3600);

    fn spec() -> OrgIdentityProviderSpec {
        OrgIdentityProviderSpec {
            certificate: IDP_CERT.into(),
            allow_certificate_switch: false,
            rotation: Some(RotationSpec {
                next_certificate: OTHER_CERT.into(),
                overlap: "168h".into(),
                grace_period: "24h".into(),
            }),
        }
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn status_of<'a>(d: &'a Driven, t: &str) -> (bool, &'a str) {
        let c = d.conditions.iter().find(|c| c.type_ == t).expect(t);
        (c.status, c.reason)
    }

    #[tokio::test]
    async fn a_rotation_runs_announce_switch_retire_and_only_the_switch_writes() {
        let org = OrgHandle::new("team-a/acme", FakeOrg::with_idp(IDP_CERT));
        let s = spec();
        let t0 = ts("2027-01-01T00:00:00Z");
        let d = drive(&org, &s, None, plan(&s, None, t0, false), t0, HOUR).await;
        let announced = d.recorded.clone().expect("announced");
        assert_eq!(
            status_of(&d, types::ROTATION_ANNOUNCED),
            (true, reasons::ANNOUNCED)
        );
        assert!(!status_of(&d, types::CERTIFICATE_SWITCHED).0);
        assert_eq!(d.events[0].reason, "RotationAnnounced");
        assert_eq!(d.due, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(org.api.writes(), 0, "announcing only reads");

        let t1 = ts("2027-01-08T00:00:00Z");
        let step = plan(&s, Some(&announced), t1, false);
        let d = drive(&org, &s, Some(&announced), step, t1, HOUR).await;
        let switched = d.recorded.clone().expect("switched");
        assert_eq!(switched.phase, RotationPhase::Switched);
        assert_eq!(
            status_of(&d, types::CERTIFICATE_SWITCHED),
            (true, reasons::SWITCHED)
        );
        assert_eq!(
            org.api.state().idp.clone().unwrap().certificate_name,
            OTHER_CERT
        );
        assert_eq!(org.api.writes(), 1);

        let t2 = ts("2027-01-09T00:00:00Z");
        let step = plan(&s, Some(&switched), t2, false);
        let d = drive(&org, &s, Some(&switched), step, t2, HOUR).await;
        assert_eq!(d.recorded.as_ref().unwrap().phase, RotationPhase::Retired);
        assert_eq!(
            status_of(&d, types::PREVIOUS_CERTIFICATE_RETIRED),
            (true, reasons::RETIRED)
        );
        assert_eq!(d.due, None);
        assert_eq!(org.api.writes(), 1);
    }

    #[tokio::test]
    async fn a_next_certificate_that_is_missing_or_expires_too_soon_is_not_announced() {
        let org = OrgHandle::new("team-a/acme", FakeOrg::with_idp(IDP_CERT));
        org.api.state().certificates.retain(|c| c != OTHER_CERT);
        let s = spec();
        let t0 = ts("2027-01-01T00:00:00Z");
        let d = drive(&org, &s, None, plan(&s, None, t0, false), t0, HOUR).await;
        assert!(d.recorded.is_none());
        assert_eq!(
            status_of(&d, types::ROTATION_ANNOUNCED),
            (false, reasons::CERTIFICATE_NOT_FOUND)
        );

        // The test certificates end on 2030-01-01: one week before that is too late.
        let org = OrgHandle::new("team-a/acme", FakeOrg::with_idp(IDP_CERT));
        let late = ts("2029-12-28T00:00:00Z");
        let d = drive(&org, &s, None, plan(&s, None, late, false), late, HOUR).await;
        assert!(d.recorded.is_none());
        assert_eq!(
            status_of(&d, types::ROTATION_ANNOUNCED),
            (false, reasons::EXPIRING_SOON)
        );
    }

    #[test]
    fn without_a_rotation_every_phase_condition_says_so() {
        for c in phase_conditions(None) {
            assert!(!c.status);
            assert_eq!(c.reason, reasons::NO_ROTATION);
        }
    }
}
