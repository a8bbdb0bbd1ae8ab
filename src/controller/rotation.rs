//! Planned IdP certificate rotation, as both controllers see it. A `SalesforceOrg` that chooses the
//! certificate may plan a rotation (`spec.identityProvider.rotation`): *announce* (both keys in
//! every app's metadata, the next one second), *switch* (the IdP signs with the next certificate;
//! the old key stays second for the grace period), *retire* (only the new key). The org's
//! reconcile moves the phases ([`plan`]); the apps read where it stands ([`view`]).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::SalesforceOrg;
use crate::api::app::parse_duration;
use crate::api::org::{OrgIdentityProviderSpec, RotationPhase, RotationSpec, RotationStatus};

/// Why a second key is published next to the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The certificate the IdP will switch to (announce phase): `next-certificate.pem`.
    Next,
    /// The certificate the IdP switched away from (grace period): `previous-certificate.pem`.
    Previous,
}

impl KeyRole {
    /// The ConfigMap key that carries the second certificate.
    pub fn config_map_key(self) -> &'static str {
        match self {
            KeyRole::Next => "next-certificate.pem",
            KeyRole::Previous => "previous-certificate.pem",
        }
    }
}

/// The org's choice of IdP certificate, as an app needs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrgIdpView {
    /// The `SalesforceOrg`'s name (for messages).
    pub org: String,
    /// The certificate the IdP signs with, or is about to, by the org's choice.
    pub current: String,
    /// The certificates an app may name: the current one, and both of a rotation under way.
    pub allowed: Vec<String>,
    /// A second key to publish beside the current one, and why.
    pub extra: Option<(String, KeyRole)>,
}

/// The certificate the org's IdP should sign with now: the rotation's target once switched (while
/// the rotation is still in the spec), else the spec's certificate.
pub fn effective_certificate<'a>(
    spec: &'a OrgIdentityProviderSpec,
    status: Option<&'a RotationStatus>,
) -> &'a str {
    match (status, &spec.rotation) {
        (Some(r), Some(planned))
            if r.phase != RotationPhase::Announced
                && planned.next_certificate == r.to
                && spec.certificate == r.from =>
        {
            &r.to
        }
        _ => &spec.certificate,
    }
}

/// What an app of `org` must know of the org's IdP choice; `None` when the org leaves it to the
/// apps.
pub fn view(org: &SalesforceOrg) -> Option<OrgIdpView> {
    let spec = org.spec.identity_provider.as_ref()?;
    let status = org
        .status
        .as_ref()
        .and_then(|s| s.identity_provider.as_ref())
        .and_then(|i| i.rotation.as_ref())
        // A rotation the spec no longer names (cancelled, or done and removed) is over.
        .filter(|r| {
            spec.rotation
                .as_ref()
                .is_some_and(|p| p.next_certificate == r.to)
        });
    let current = effective_certificate(spec, status).to_string();
    let (allowed, extra) = match status.map(|r| r.phase) {
        Some(RotationPhase::Announced) => {
            let r = status.expect("matched Some");
            (
                vec![r.from.clone(), r.to.clone()],
                Some((r.to.clone(), KeyRole::Next)),
            )
        }
        Some(RotationPhase::Switched) => {
            let r = status.expect("matched Some");
            (
                vec![r.from.clone(), r.to.clone()],
                Some((r.from.clone(), KeyRole::Previous)),
            )
        }
        _ => (vec![current.clone()], None),
    };
    Some(OrgIdpView {
        org: org.name_any(),
        current,
        allowed,
        extra,
    })
}

/// The next step of a planned rotation.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// No rotation, or nothing due.
    Nothing,
    /// Check the next certificate and start announcing it: the status to record.
    Announce(RotationStatus),
    /// Switch the IdP to the next certificate now; then record this status.
    Switch(RotationStatus),
    /// The grace period is over: record this status (the old key leaves the metadata).
    Retire(RotationStatus),
    /// The rotation was removed from the spec: forget its status.
    Forget,
    /// `overlap` or `gracePeriod` does not parse (admission prevents it).
    Invalid(String),
}

/// The rotation step for an org whose IdP signs with `certificate` (the spec's), given the
/// rotation recorded so far, at `now`. `switch_now`: the switch annotation is set.
pub fn plan(
    spec: &OrgIdentityProviderSpec,
    recorded: Option<&RotationStatus>,
    now: jiff::Timestamp,
    switch_now: bool,
) -> Step {
    let Some(planned) = &spec.rotation else {
        return if recorded.is_some() {
            Step::Forget
        } else {
            Step::Nothing
        };
    };
    let (overlap, grace) = match durations(planned) {
        Ok(d) => d,
        Err(e) => return Step::Invalid(e),
    };
    let recorded = recorded.filter(|r| r.to == planned.next_certificate);
    let Some(r) = recorded else {
        if planned.next_certificate == spec.certificate {
            return Step::Nothing;
        }
        return Step::Announce(RotationStatus {
            from: spec.certificate.clone(),
            to: planned.next_certificate.clone(),
            phase: RotationPhase::Announced,
            announced_at: Time(now),
            switch_at: Time(now + overlap),
            switched_at: None,
            retire_at: None,
        });
    };
    match r.phase {
        RotationPhase::Announced if switch_now || now >= r.switch_at.0 => {
            Step::Switch(RotationStatus {
                phase: RotationPhase::Switched,
                switched_at: Some(Time(now)),
                retire_at: Some(Time(now + grace)),
                ..r.clone()
            })
        }
        RotationPhase::Switched if r.retire_at.as_ref().is_some_and(|t| now >= t.0) => {
            Step::Retire(RotationStatus {
                phase: RotationPhase::Retired,
                ..r.clone()
            })
        }
        _ => Step::Nothing,
    }
}

/// When the rotation next needs a look (its switch or retire time), from `now`.
pub fn next_due(recorded: Option<&RotationStatus>, now: jiff::Timestamp) -> Option<Duration> {
    let r = recorded?;
    let due = match r.phase {
        RotationPhase::Announced => r.switch_at.0,
        RotationPhase::Switched => r.retire_at.as_ref()?.0,
        RotationPhase::Retired => return None,
    };
    Some(
        Duration::try_from(due.duration_since(now))
            .unwrap_or_default()
            .max(Duration::from_secs(1)),
    )
}

fn durations(r: &RotationSpec) -> Result<(jiff::SignedDuration, jiff::SignedDuration), String> {
    let parse = |field: &str, v: &str| {
        parse_duration(v)
            .and_then(|d| jiff::SignedDuration::try_from(d).ok())
            .ok_or_else(|| format!("rotation.{field} {v:?} is not a duration"))
    };
    Ok((
        parse("overlap", &r.overlap)?,
        parse("gracePeriod", &r.grace_period)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn spec(rotation: Option<&str>) -> OrgIdentityProviderSpec {
        OrgIdentityProviderSpec {
            certificate: "Cert_2026".into(),
            allow_certificate_switch: false,
            rotation: rotation.map(|next| RotationSpec {
                next_certificate: next.into(),
                overlap: "168h".into(),
                grace_period: "24h".into(),
            }),
        }
    }

    #[test]
    fn a_rotation_is_announced_then_switched_after_the_overlap_then_retired_after_the_grace() {
        let s = spec(Some("Cert_2027"));
        let t0 = ts("2026-06-01T00:00:00Z");
        let Step::Announce(announced) = plan(&s, None, t0, false) else {
            panic!("announce first");
        };
        assert_eq!(announced.switch_at.0, ts("2026-06-08T00:00:00Z"));
        assert_eq!(effective_certificate(&s, Some(&announced)), "Cert_2026");
        assert_eq!(
            plan(&s, Some(&announced), ts("2026-06-07T23:59:59Z"), false),
            Step::Nothing
        );
        assert_eq!(
            next_due(Some(&announced), ts("2026-06-07T00:00:00Z")),
            Some(Duration::from_secs(86_400))
        );
        let Step::Switch(switched) = plan(&s, Some(&announced), ts("2026-06-08T00:00:00Z"), false)
        else {
            panic!("switch when the overlap has passed");
        };
        assert_eq!(effective_certificate(&s, Some(&switched)), "Cert_2027");
        assert_eq!(
            switched.retire_at.as_ref().unwrap().0,
            ts("2026-06-09T00:00:00Z")
        );
        let Step::Retire(retired) = plan(&s, Some(&switched), ts("2026-06-09T00:00:01Z"), false)
        else {
            panic!("retire after the grace period");
        };
        assert_eq!(retired.phase, RotationPhase::Retired);
        assert_eq!(
            plan(&s, Some(&retired), ts("2027-01-01T00:00:00Z"), false),
            Step::Nothing
        );
    }

    #[test]
    fn the_annotation_switches_at_once_and_removing_the_rotation_forgets_it() {
        let s = spec(Some("Cert_2027"));
        let Step::Announce(announced) = plan(&s, None, ts("2026-06-01T00:00:00Z"), false) else {
            panic!()
        };
        assert!(matches!(
            plan(&s, Some(&announced), ts("2026-06-01T00:00:05Z"), true),
            Step::Switch(_)
        ));
        assert_eq!(
            plan(
                &spec(None),
                Some(&announced),
                ts("2026-06-01T00:01:00Z"),
                false
            ),
            Step::Forget
        );
    }

    #[test]
    fn apps_see_both_keys_while_a_rotation_is_under_way() {
        let mut org = crate::controller::fixtures::org_rotating("Cert_2026", "Cert_2027");
        let v = view(&org).unwrap();
        assert_eq!(
            (v.current.as_str(), v.extra.clone()),
            ("Cert_2026", None),
            "not yet announced"
        );
        let s = org.spec.identity_provider.clone().unwrap();
        let Step::Announce(announced) = plan(&s, None, ts("2026-06-01T00:00:00Z"), false) else {
            panic!()
        };
        org.status = Some(crate::api::org::SalesforceOrgStatus {
            identity_provider: Some(crate::api::org::OrgIdentityProvider {
                enabled: true,
                certificate: Some("Cert_2026".into()),
                entity_id: None,
                rotation: Some(announced.clone()),
            }),
            ..Default::default()
        });
        let v = view(&org).unwrap();
        assert_eq!(v.extra, Some(("Cert_2027".into(), KeyRole::Next)));
        assert_eq!(v.allowed, vec!["Cert_2026", "Cert_2027"]);
        let Step::Switch(switched) = plan(&s, Some(&announced), ts("2026-06-09T00:00:00Z"), false)
        else {
            panic!()
        };
        org.status
            .as_mut()
            .unwrap()
            .identity_provider
            .as_mut()
            .unwrap()
            .rotation = Some(switched);
        let v = view(&org).unwrap();
        assert_eq!(v.current, "Cert_2027");
        assert_eq!(v.extra, Some(("Cert_2026".into(), KeyRole::Previous)));
    }
}
