//! Condition types and reasons, and the one place conditions are merged so that
//! `lastTransitionTime` moves only when a condition's status flips.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared_str::SharedStr;

/// A status condition: `metav1.Condition` (the same JSON and CRD schema), its text shared between
/// resources (see [`SharedStr`]): the eight conditions were most of a cached app's memory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub last_transition_time: Time,
    #[serde(default)]
    pub message: SharedStr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default)]
    pub reason: SharedStr,
    #[serde(default)]
    pub status: SharedStr,
    #[serde(default, rename = "type")]
    pub type_: SharedStr,
}

impl JsonSchema for Condition {
    fn schema_name() -> Cow<'static, str> {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition::json_schema(generator)
    }
}

/// Condition types.
pub mod types {
    /// Aggregate readiness (kstatus).
    pub const READY: &str = "Ready";
    /// Work is in progress (kstatus).
    pub const RECONCILING: &str = "Reconciling";
    /// Progress is blocked until something outside the operator changes (kstatus).
    pub const STALLED: &str = "Stalled";
    /// The org's Identity Provider is enabled with the requested certificate.
    pub const IDENTITY_PROVIDER_READY: &str = "IdentityProviderReady";
    /// The SAML app exists in Salesforce and matches the spec.
    pub const APP_READY: &str = "AppReady";
    /// The requested profiles and permission sets have access to the app.
    pub const ACCESS_GRANTED: &str = "AccessGranted";
    /// The IdP metadata ConfigMap holds the current metadata.
    pub const METADATA_PUBLISHED: &str = "MetadataPublished";
    /// The IdP signing certificate is valid for more than 30 days.
    pub const CERTIFICATE_VALID: &str = "CertificateValid";
    /// A planned rotation's next certificate is published beside the current one (SalesforceOrg).
    pub const ROTATION_ANNOUNCED: &str = "RotationAnnounced";
    /// A planned rotation switched the Identity Provider to the next certificate (SalesforceOrg).
    pub const CERTIFICATE_SWITCHED: &str = "CertificateSwitched";
    /// A planned rotation's old certificate left the published metadata (SalesforceOrg).
    pub const PREVIOUS_CERTIFICATE_RETIRED: &str = "PreviousCertificateRetired";
    /// `publish.rollout`'s workloads run with the published metadata (only with `publish.rollout`;
    /// not part of `Ready`).
    pub const WORKLOADS_ROLLED_OUT: &str = "WorkloadsRolledOut";
}

/// Condition reasons: CamelCase, bounded, each documented in the README.
pub mod reasons {
    pub const SYNCED: &str = "Synced";
    pub const AUTHENTICATED: &str = "Authenticated";
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    pub const KEY_NOT_FOUND: &str = "KeyNotFound";
    pub const KEY_INVALID: &str = "KeyInvalid";
    pub const URL_NOT_ALLOWED: &str = "UrlNotAllowed";
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    pub const ORG_NOT_FOUND: &str = "OrgNotFound";
    pub const ORG_NOT_READY: &str = "OrgNotReady";
    pub const SUSPENDED: &str = "Suspended";
    pub const PROGRESSING: &str = "Progressing";
    pub const CERTIFICATE_NOT_FOUND: &str = "CertificateNotFound";
    pub const CONFLICT: &str = "Conflict";
    pub const CONNECTED_APP_CREATION_BLOCKED: &str = "ConnectedAppCreationBlocked";
    pub const REJECTED: &str = "Rejected";
    pub const SALESFORCE_UNAVAILABLE: &str = "SalesforceUnavailable";
    pub const API_LIMIT_EXCEEDED: &str = "ApiLimitExceeded";
    pub const METADATA_INVALID: &str = "MetadataInvalid";
    pub const EXPIRING_SOON: &str = "ExpiringSoon";
    pub const EXPIRED: &str = "Expired";
    pub const VALID: &str = "Valid";
    pub const OBSERVE_ONLY: &str = "ObserveOnly";
    pub const DRIFTED: &str = "Drifted";
    pub const NOT_FOUND: &str = "NotFound";
    pub const UNSUPPORTED: &str = "Unsupported";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const NO_ROTATION: &str = "NoRotation";
    pub const ANNOUNCED: &str = "Announced";
    pub const SWITCHED: &str = "Switched";
    pub const RETIRED: &str = "Retired";
    pub const ROLLED_OUT: &str = "RolledOut";
    pub const ROLLOUT_PENDING: &str = "RolloutPending";
    pub const ROLLOUT_FAILED: &str = "RolloutFailed";
}

/// A condition as the reconciler wants it; merged into the stored list by [`merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Where a resource stands, as Flux's kstatus and the shipped Argo CD health checks read it: it
/// decides `Stalled` and `Reconciling` next to `Ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// `Ready=True`: kstatus Current, Argo CD Healthy.
    Ready,
    /// Working, or waiting for something that resolves by itself (Salesforce unreachable, the
    /// org's pause, a dependency not created yet): `Reconciling=True`, kstatus InProgress.
    Reconciling,
    /// Nothing changes until a person changes something: `Stalled=True`, kstatus Failed, Argo CD
    /// Degraded.
    Stalled,
    /// Deliberately idle (`spec.suspend`): neither stalled nor reconciling, so never kstatus
    /// Failed (kstatus has no suspended status: `Ready=False` makes it InProgress); Argo CD
    /// Suspended.
    Suspended,
}

/// `Stalled` and `Reconciling` for `progress`; `reason` is `Ready`'s when the flag is on.
pub fn progress(progress: Progress, reason: &'static str) -> [Desired; 2] {
    let flag = |t: &'static str, on: bool, message: &'static str| {
        if on {
            Desired::new(t, true, reason, message)
        } else {
            Desired::new(t, false, reasons::SYNCED, "")
        }
    };
    [
        flag(
            types::STALLED,
            progress == Progress::Stalled,
            "waiting for a change to the spec, a Secret or in Salesforce (see Ready)",
        ),
        flag(
            types::RECONCILING,
            progress == Progress::Reconciling,
            "retrying",
        ),
    ]
}

fn status_str(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Merges desired conditions into the existing ones. A condition keeps its `lastTransitionTime`
/// unless its status flips, so a reconcile that finds nothing new produces an identical list
/// (and therefore no write). Conditions not mentioned in `desired` are kept as they are.
pub fn merge(
    existing: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: Time,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = existing.to_vec();
    for d in desired {
        let status = status_str(d.status);
        match out.iter_mut().find(|c| c.type_ == d.type_) {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = now.clone();
                }
                c.status = status.into();
                c.reason = d.reason.into();
                c.message = d.message.as_str().into();
                c.observed_generation = generation;
            }
            None => out.push(Condition {
                type_: d.type_.into(),
                status: status.into(),
                reason: d.reason.into(),
                message: d.message.as_str().into(),
                last_transition_time: now.clone(),
                observed_generation: generation,
            }),
        }
    }
    out
}

/// Looks up a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let first = merge(
            &[],
            &[Desired::new(
                types::READY,
                false,
                reasons::PROGRESSING,
                "working",
            )],
            Some(1),
            t("2026-01-01T00:00:00Z"),
        );
        let same_status = merge(
            &first,
            &[Desired::new(
                types::READY,
                false,
                reasons::ORG_NOT_FOUND,
                "no org",
            )],
            Some(2),
            t("2026-01-02T00:00:00Z"),
        );
        assert_eq!(
            same_status[0].last_transition_time,
            t("2026-01-01T00:00:00Z")
        );
        assert_eq!(same_status[0].reason, reasons::ORG_NOT_FOUND);
        assert_eq!(same_status[0].observed_generation, Some(2));
        let flipped = merge(
            &same_status,
            &[Desired::new(types::READY, true, reasons::SYNCED, "ok")],
            Some(2),
            t("2026-01-03T00:00:00Z"),
        );
        assert_eq!(flipped[0].last_transition_time, t("2026-01-03T00:00:00Z"));
        assert_eq!(flipped[0].status, "True");
    }

    #[test]
    fn unchanged_desired_state_yields_identical_conditions() {
        let d = [Desired::new(types::READY, true, reasons::SYNCED, "ok")];
        let a = merge(&[], &d, Some(1), t("2026-01-01T00:00:00Z"));
        let b = merge(&a, &d, Some(1), t("2026-02-01T00:00:00Z"));
        assert_eq!(a, b);
    }
}
