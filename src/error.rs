//! The operator's one error type. Variants name the action that failed; [`Error::category`] gives
//! a bounded label for metrics and Event reasons.

use crate::salesforce::{ErrorKind, SalesforceError};

#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error("reading Secret {namespace}/{name}: {source}")]
    ReadSecret {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },

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

    #[error("the SalesforceOrg is not usable yet: {0}")]
    OrgNotReady(String),

    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    /// Bounded category for metric labels and Event reasons (never instance data).
    pub fn category(&self) -> &'static str {
        match self {
            Error::ReadSecret { .. } => "ReadSecret",
            Error::PatchStatus { .. } => "PatchStatus",
            Error::ApplyConfigMap { .. } => "ApplyConfigMap",
            Error::Authenticate(_) => "Authenticate",
            Error::ConfigureIdentityProvider(_) => "ConfigureIdentityProvider",
            Error::ReadApp(_) => "ReadApp",
            Error::WriteApp(_) => "WriteApp",
            Error::DeleteApp(_) => "DeleteApp",
            Error::FetchIdpMetadata(_) => "FetchIdpMetadata",
            Error::OrgNotReady(_) => "OrgNotReady",
            Error::Finalizer(_) => "Finalizer",
        }
    }

    /// The Salesforce error behind this one, if any.
    pub fn salesforce(&self) -> Option<&SalesforceError> {
        match self {
            Error::Authenticate(e)
            | Error::ConfigureIdentityProvider(e)
            | Error::ReadApp(e)
            | Error::WriteApp(e)
            | Error::DeleteApp(e)
            | Error::FetchIdpMetadata(e) => Some(e),
            _ => None,
        }
    }

    /// Whether retrying soon can help (network, 5xx, API server hiccups), as opposed to errors that
    /// wait for a change (rejected content, blocked creation) or for the org-wide quota pause.
    pub fn is_transient(&self) -> bool {
        match self.salesforce() {
            Some(e) => matches!(e.kind(), ErrorKind::Transient | ErrorKind::Protocol),
            None => true,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
