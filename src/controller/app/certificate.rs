//! Stage: how long the IdP signing certificate in the published metadata stays valid. Sign-in
//! fails for every service provider once it expires, so it is reported well before.

use std::time::Duration;

use crate::api::conditions::{Desired, reasons, types};
use crate::controller::rotation::{KeyRole, OrgIdpView};

/// A certificate this close to expiry makes `CertificateValid=False` (reason `ExpiringSoon`).
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid {
        not_after: jiff::Timestamp,
    },
    ExpiringSoon {
        not_after: jiff::Timestamp,
        days: u64,
    },
    Expired {
        not_after: jiff::Timestamp,
    },
}

pub fn validity(not_after: jiff::Timestamp, now: jiff::Timestamp) -> Validity {
    let left = not_after.duration_since(now);
    if left.is_negative() {
        Validity::Expired { not_after }
    } else if left.unsigned_abs() < EXPIRY_WARNING {
        Validity::ExpiringSoon {
            not_after,
            days: left.as_secs().unsigned_abs() / 86_400,
        }
    } else {
        Validity::Valid { not_after }
    }
}

/// The change that replaces a certificate nearing expiry without a sign-in outage, given where the
/// certificate is chosen (`org_idp`: the app's `SalesforceOrg`, if it chooses).
pub fn advice(org_idp: Option<&OrgIdpView>) -> String {
    match org_idp {
        Some(OrgIdpView {
            extra: Some((next, KeyRole::Next)),
            ..
        }) => format!("a rotation to certificate {next} is under way"),
        Some(OrgIdpView {
            extra: Some((_, KeyRole::Previous)),
            ..
        }) => "a rotation has switched the Identity Provider; the new certificate is current".into(),
        Some(v) => format!(
            "plan a rotation: create the next certificate in Setup > Certificate and Key Management, then set spec.identityProvider.rotation.nextCertificate to its name on SalesforceOrg {}",
            v.org
        ),
        None => "choose the certificate on the SalesforceOrg (spec.identityProvider.certificate) and plan a rotation there (spec.identityProvider.rotation.nextCertificate); an app never switches the org-wide certificate".into(),
    }
}

impl Validity {
    /// The `CertificateValid` condition; `advice` says what to change (see [`advice`]).
    pub fn condition(&self, advice: &str) -> Desired {
        let t = types::CERTIFICATE_VALID;
        match self {
            Validity::Expired { not_after } => Desired::new(
                t,
                false,
                reasons::EXPIRED,
                format!(
                    "IdP certificate expired at {not_after}; sign-in fails until the org's Identity Provider uses a valid certificate"
                ),
            ),
            Validity::ExpiringSoon { not_after, days } => Desired::new(
                t,
                false,
                reasons::EXPIRING_SOON,
                format!("IdP certificate expires at {not_after} (in {days} days); {advice}"),
            ),
            Validity::Valid { not_after } => Desired::new(
                t,
                true,
                reasons::VALID,
                format!("IdP certificate valid until {not_after}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_has_three_bands() {
        let not_after: jiff::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let at = |s: &str| validity(not_after, s.parse().unwrap());
        assert_eq!(at("2029-01-01T00:00:00Z"), Validity::Valid { not_after });
        assert_eq!(
            at("2029-12-22T00:00:00Z"),
            Validity::ExpiringSoon {
                not_after,
                days: 10
            }
        );
        assert_eq!(at("2030-01-01T00:00:01Z"), Validity::Expired { not_after });
    }
}
