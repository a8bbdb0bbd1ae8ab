//! The controller layer's one error type. Variants name the action that failed; the Salesforce
//! client has its own ([`SalesforceError`]), kept as the source. One classification decides what
//! happens next: [`Error::category`] (a bounded label for metrics and Events), [`Error::reason`]
//! (the condition reason) and [`Error::disposition`] (retry soon, wait for a person, or wait out
//! the org's pause).

use std::time::Duration;

use kube::runtime::finalizer;

use crate::api::conditions::{Desired, reasons};
use crate::salesforce::{ErrorKind, SalesforceError};

#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error("patching status of {kind} {namespace}/{name}: {source}")]
    PatchStatus {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error("applying ConfigMap {namespace}/{name}: {source}")]
    ApplyConfigMap {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },

    /// The `SalesforceOrg` cannot be turned into a connection (Secret, key, URL).
    #[error("connecting to SalesforceOrg {org}: {source}")]
    Connect {
        org: String,
        #[source]
        source: ConnectError,
    },

    /// The org a resource needs does not exist (deletion cannot reach Salesforce).
    #[error("SalesforceOrg {org} does not exist")]
    OrgMissing { org: String },

    #[error("authenticating to Salesforce: {0}")]
    Authenticate(#[source] SalesforceError),

    #[error("configuring the Identity Provider: {0}")]
    ConfigureIdentityProvider(#[source] SalesforceError),

    #[error("reading the app: {0}")]
    ReadApp(#[source] SalesforceError),

    #[error("writing the app: {0}")]
    WriteApp(#[source] SalesforceError),

    #[error("deleting the app: {0}")]
    DeleteApp(#[source] SalesforceError),

    #[error("fetching IdP metadata: {0}")]
    FetchIdpMetadata(#[source] SalesforceError),

    /// The org lists the app but reading it finds nothing (a listing ahead of reads, or an app made
    /// meanwhile): retried, never written over.
    #[error("the org lists app {name} but reading it found nothing; nothing was written, retrying")]
    AppUnreadable { name: String },

    /// A planned rotation's other certificate cannot be read with its content.
    #[error(
        "certificate {name} of the planned rotation cannot be read (missing, or the org does not return its content)"
    )]
    RotationCertificateUnreadable { name: String },

    /// The app's metadata is signed with a certificate other than the org's IdP certificate
    /// (usually a rotation in progress: retried).
    #[error(
        "the app's IdP metadata is not signed with the Identity Provider certificate {certificate} (fingerprint {fingerprint})"
    )]
    MetadataNotSignedByIdp {
        certificate: String,
        fingerprint: String,
    },

    /// Deleting the resource cannot reach its app in Salesforce.
    #[error(
        "app {app} cannot be deleted from Salesforce: {source}; set annotation sso-operator.dev/release=true to remove this resource without deleting the app"
    )]
    DeleteBlocked {
        app: String,
        #[source]
        source: Box<Error>,
    },

    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

/// What a failure asks of the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Retrying soon can help (network, 5xx, API-server hiccups): exponential backoff.
    Transient,
    /// Nothing changes until a person changes the spec, a Secret or the org (content refused,
    /// creation blocked, credentials refused): `Stalled`, slow retry.
    NeedsChange,
    /// The org's daily allocation ran out: every call waits for the org-wide pause.
    OrgPaused,
}

impl Error {
    /// Bounded category for metric labels and Event reasons (never instance data).
    pub fn category(&self) -> &'static str {
        match self {
            Error::PatchStatus { .. } => "PatchStatus",
            Error::ApplyConfigMap { .. } => "ApplyConfigMap",
            Error::Connect { .. } => "Connect",
            Error::OrgMissing { .. } => "OrgMissing",
            Error::Authenticate(_) => "Authenticate",
            Error::ConfigureIdentityProvider(_) => "ConfigureIdentityProvider",
            Error::ReadApp(_) => "ReadApp",
            Error::WriteApp(_) => "WriteApp",
            Error::DeleteApp(_) => "DeleteApp",
            Error::FetchIdpMetadata(_) => "FetchIdpMetadata",
            Error::MetadataNotSignedByIdp { .. } => "MetadataNotSignedByIdp",
            Error::AppUnreadable { .. } => "ReadApp",
            Error::RotationCertificateUnreadable { .. } => "ReadCertificate",
            Error::DeleteBlocked { .. } => "DeleteBlocked",
            Error::Finalizer(_) => "Finalizer",
        }
    }

    /// The Salesforce error behind this one, if any.
    pub fn salesforce(&self) -> Option<&SalesforceError> {
        match self {
            Error::DeleteBlocked { source, .. } => source.salesforce(),
            Error::Authenticate(e)
            | Error::ConfigureIdentityProvider(e)
            | Error::ReadApp(e)
            | Error::WriteApp(e)
            | Error::DeleteApp(e)
            | Error::FetchIdpMetadata(e) => Some(e),
            _ => None,
        }
    }

    /// Retry soon, wait for a person, or wait for the org's pause.
    pub fn disposition(&self) -> Disposition {
        match self {
            Error::Connect { .. }
            | Error::OrgMissing { .. }
            | Error::RotationCertificateUnreadable { .. } => Disposition::NeedsChange,
            Error::DeleteBlocked { source, .. } => source.disposition(),
            _ => match self.salesforce().map(SalesforceError::kind) {
                Some(ErrorKind::Quota) => Disposition::OrgPaused,
                Some(
                    ErrorKind::Auth
                    | ErrorKind::Invalid
                    | ErrorKind::Rejected
                    | ErrorKind::CreationBlocked,
                ) => Disposition::NeedsChange,
                _ => Disposition::Transient,
            },
        }
    }

    /// The condition reason this failure is reported with. Credential problems are the org's:
    /// its own condition names them (`AuthenticationFailed`, `KeyInvalid`, ...) while the apps
    /// that use it say `OrgNotReady`.
    pub fn reason(&self) -> &'static str {
        let kind = self.salesforce().map(SalesforceError::kind);
        match (self, kind) {
            (Error::Connect { source, .. }, _) => source.reason(),
            (Error::DeleteBlocked { source, .. }, _) => source.reason(),
            (Error::OrgMissing { .. }, _) => reasons::ORG_NOT_FOUND,
            (Error::MetadataNotSignedByIdp { .. }, _) => reasons::METADATA_INVALID,
            (Error::AppUnreadable { .. }, _) => reasons::NOT_FOUND,
            (Error::RotationCertificateUnreadable { .. }, _) => reasons::CERTIFICATE_NOT_FOUND,
            (_, Some(ErrorKind::Quota)) => reasons::API_LIMIT_EXCEEDED,
            (Error::Authenticate(_), Some(ErrorKind::Auth)) => reasons::AUTHENTICATION_FAILED,
            (Error::Authenticate(_), Some(ErrorKind::Invalid)) => reasons::KEY_INVALID,
            (_, Some(ErrorKind::Auth | ErrorKind::Invalid)) => reasons::ORG_NOT_READY,
            (_, Some(ErrorKind::Rejected)) => reasons::REJECTED,
            (_, Some(ErrorKind::CreationBlocked)) => reasons::CONNECTED_APP_CREATION_BLOCKED,
            (Error::FetchIdpMetadata(_), Some(ErrorKind::Protocol)) => reasons::METADATA_INVALID,
            (_, Some(ErrorKind::NotFound)) => reasons::NOT_FOUND,
            _ => reasons::SALESFORCE_UNAVAILABLE,
        }
    }

    /// The condition of type `type_` that reports this failure.
    pub fn condition(&self, type_: &'static str) -> Desired {
        Desired::new(type_, false, self.reason(), self.to_string())
    }

    /// How long the org-wide pause still lasts, when Salesforce said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.salesforce().and_then(SalesforceError::retry_after)
    }
}

impl From<finalizer::Error<Error>> for Error {
    /// The finalizer helper wraps the reconcile's own errors; unwrap those, keep the rest whole.
    fn from(e: finalizer::Error<Error>) -> Self {
        match e {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        }
    }
}

/// Why a `SalesforceOrg` cannot be turned into a connection. Cloned into every app's status while
/// it lasts, so it carries text rather than the Kubernetes error.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    #[error("{field} {value:?} is not a URL: {reason}")]
    NotAUrl {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("{field}: {reason}")]
    UrlNotAllowed { field: &'static str, reason: String },
    #[error("Secret {namespace}/{name} does not exist")]
    SecretNotFound { namespace: String, name: String },
    #[error("reading Secret {name}: {reason}")]
    ReadSecret { name: String, reason: String },
    #[error("Secret {secret} has no key {key:?}")]
    KeyNotFound { secret: String, key: String },
    #[error("Secret {secret} key {key:?} is not UTF-8 text")]
    KeyNotText { secret: String, key: String },
    #[error("Secret {secret} key {key:?}: {reason}")]
    KeyInvalid {
        secret: String,
        key: String,
        reason: String,
    },
    /// Admission refuses this; a resource stored before the rule existed still gets a reason.
    #[error("no auth method set")]
    NoAuthMethod,
}

impl ConnectError {
    /// The condition reason on the `SalesforceOrg`.
    pub fn reason(&self) -> &'static str {
        match self {
            ConnectError::NotAUrl { .. } | ConnectError::UrlNotAllowed { .. } => {
                reasons::URL_NOT_ALLOWED
            }
            ConnectError::SecretNotFound { .. } | ConnectError::ReadSecret { .. } => {
                reasons::SECRET_NOT_FOUND
            }
            ConnectError::KeyNotFound { .. } | ConnectError::NoAuthMethod => reasons::KEY_NOT_FOUND,
            ConnectError::KeyNotText { .. } | ConnectError::KeyInvalid { .. } => {
                reasons::KEY_INVALID
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::ComponentError;

    fn component(op: &'static str) -> SalesforceError {
        SalesforceError::Component {
            operation: op,
            metadata_type: "ConnectedApp",
            full_name: "A".into(),
            errors: vec![ComponentError {
                status_code: "FIELD_INTEGRITY_EXCEPTION".into(),
                message: "bad".into(),
                fields: vec![],
            }],
        }
    }

    fn token_refused(status: u16) -> SalesforceError {
        SalesforceError::TokenRefused {
            flow: "jwt-bearer",
            host: "login.example".into(),
            status,
            error: "invalid_grant".into(),
            description: "invalid assertion".into(),
        }
    }

    #[test]
    fn one_classification_decides_reason_and_disposition() {
        let quota = SalesforceError::QuotaExhausted {
            operation: "readMetadata",
            message: "REQUEST_LIMIT_EXCEEDED".into(),
            retry_after: Some(Duration::from_secs(60)),
        };
        let cases: Vec<(Error, &str, Disposition)> = vec![
            (
                Error::WriteApp(component("upsertMetadata")),
                reasons::REJECTED,
                Disposition::NeedsChange,
            ),
            (
                Error::ReadApp(quota),
                reasons::API_LIMIT_EXCEEDED,
                Disposition::OrgPaused,
            ),
            (
                Error::Authenticate(token_refused(400)),
                reasons::AUTHENTICATION_FAILED,
                Disposition::NeedsChange,
            ),
            (
                Error::ReadApp(token_refused(400)),
                reasons::ORG_NOT_READY,
                Disposition::NeedsChange,
            ),
            (
                Error::Authenticate(token_refused(503)),
                reasons::SALESFORCE_UNAVAILABLE,
                Disposition::Transient,
            ),
            (
                Error::FetchIdpMetadata(SalesforceError::protocol("fetchIdpMetadata", "x")),
                reasons::METADATA_INVALID,
                Disposition::Transient,
            ),
            (
                Error::ReadApp(SalesforceError::protocol("readMetadata", "x")),
                reasons::SALESFORCE_UNAVAILABLE,
                Disposition::Transient,
            ),
            (
                Error::Connect {
                    org: "o".into(),
                    source: ConnectError::KeyNotFound {
                        secret: "s".into(),
                        key: "k".into(),
                    },
                },
                reasons::KEY_NOT_FOUND,
                Disposition::NeedsChange,
            ),
        ];
        for (e, reason, disposition) in cases {
            assert_eq!(e.reason(), reason, "{e}");
            assert_eq!(e.disposition(), disposition, "{e}");
        }
    }

    #[test]
    fn the_finalizer_keeps_the_reconciles_own_error_and_the_source_of_its_own() {
        let inner = Error::OrgMissing { org: "o".into() };
        let e: Error = finalizer::Error::ApplyFailed(inner).into();
        assert_eq!(e.category(), "OrgMissing");
        let e: Error = finalizer::Error::<Error>::UnnamedObject.into();
        assert_eq!(e.category(), "Finalizer");
        assert!(std::error::Error::source(&e).is_some());
    }
}
