//! The error taxonomy the reconciler acts on.
//!
//! Every variant says which component failed and, where Salesforce gave one, its status code and
//! message. No variant ever carries a token, an assertion, a private key or a client secret: the
//! values that flow into these messages are URLs, metadata names and Salesforce's own error text.

use std::time::Duration;

/// What the reconciler should do about an error. Bounded, so it is safe as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Network trouble, 5xx, timeouts, the concurrent-request limit: retry with backoff.
    Transient,
    /// Bad key, unapproved user, invalid client, a session that stays invalid after one re-auth.
    Auth,
    /// The org's daily allocation is used up, or the reserve is protecting it: back off org-wide.
    Quota,
    /// Salesforce refused the content: permanent until the spec changes.
    Rejected,
    /// Connected-app creation is blocked in this org (Spring '26): permanent, needs Support.
    CreationBlocked,
    /// The component does not exist.
    NotFound,
    /// Configuration, URL or key refused before any call was made.
    Invalid,
    /// The response was hostile or unparseable (HTML, DTD, oversized, wrong shape).
    Protocol,
}

impl ErrorKind {
    /// A stable lower-case name for metric labels and status reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Auth => "auth",
            ErrorKind::Quota => "quota",
            ErrorKind::Rejected => "rejected",
            ErrorKind::CreationBlocked => "creation_blocked",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// One `Error` element of a per-component result (`SaveResult`, `UpsertResult`, `DeleteResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentError {
    pub status_code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl std::fmt::Display for ComponentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status_code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// One failed component of a `deploy()` (a `DeployMessage` from `componentFailures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployProblem {
    /// Metadata type, e.g. `ExtlClntAppSamlConfigurablePolicies`; empty for `package.xml` problems.
    pub component_type: String,
    pub full_name: String,
    pub file_name: String,
    /// Salesforce's text, verbatim.
    pub problem: String,
    /// `Error`, `Warning` or `Info`.
    pub problem_type: String,
}

impl std::fmt::Display for DeployProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.component_type.is_empty() {
            write!(f, "{}: {}", self.full_name, self.problem)
        } else {
            write!(
                f,
                "{} '{}': {}",
                self.component_type, self.full_name, self.problem
            )
        }
    }
}

fn join_problems(problems: &[DeployProblem], message: &Option<String>) -> String {
    let mut parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if let Some(m) = message {
        parts.push(m.clone());
    }
    if parts.is_empty() {
        return "no error detail returned".to_string();
    }
    parts.join("; ")
}

fn join_errors(errors: &[ComponentError]) -> String {
    if errors.is_empty() {
        return "no error detail returned".to_string();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(thiserror::Error, Debug, Clone)]
pub enum SalesforceError {
    /// A URL failed the SSRF allow-list; nothing was sent.
    #[error("salesforce url refused: {url}: {reason}")]
    UrlRefused { url: String, reason: String },

    /// The private key in the Secret cannot be used; nothing was sent.
    #[error("salesforce private key refused: {reason}")]
    KeyInvalid { reason: String },

    /// Client options or org connection settings are unusable.
    #[error("salesforce client configuration invalid: {reason}")]
    Config { reason: String },

    /// The token endpoint refused the grant (`{"error": .., "error_description": ..}`).
    #[error(
        "salesforce {flow} token request refused by {host}: {error}: {description} (HTTP {status})"
    )]
    TokenRefused {
        flow: &'static str,
        host: String,
        status: u16,
        error: String,
        description: String,
    },

    /// `INVALID_SESSION_ID` again after one fresh token.
    #[error("salesforce {operation}: session invalid after re-authentication: {message}")]
    SessionInvalid {
        operation: &'static str,
        message: String,
    },

    /// Daily allocation used up (`REQUEST_LIMIT_EXCEEDED` TotalRequests), or the org-wide pause
    /// that follows it.
    #[error("salesforce {operation}: daily API allocation exhausted: {message}{}", retry_hint(*retry_after))]
    QuotaExhausted {
        operation: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },

    /// An optional read held back because the remaining allocation is below the reserve.
    #[error(
        "salesforce {operation}: optional call held back: {remaining} of {limit} daily API requests left, below the {reserve_percent}% reserve"
    )]
    BudgetReserve {
        operation: &'static str,
        remaining: u64,
        limit: u64,
        reserve_percent: u32,
    },

    /// `REQUEST_LIMIT_EXCEEDED` ConcurrentRequests: too many long-running calls at once.
    #[error("salesforce {operation}: concurrent request limit reached: {message}")]
    ConcurrentLimit {
        operation: &'static str,
        message: String,
    },

    /// A SOAP fault or REST error that is not one of the above.
    #[error("salesforce {operation}: {code}: {message}")]
    Fault {
        operation: &'static str,
        code: String,
        message: String,
        kind: ErrorKind,
    },

    /// One component of a batch failed; the others may have succeeded.
    #[error(
        "salesforce {operation} {metadata_type} '{full_name}' failed: {}",
        join_errors(errors)
    )]
    Component {
        operation: &'static str,
        metadata_type: &'static str,
        full_name: String,
        errors: Vec<ComponentError>,
    },

    /// A `deploy()` finished without success; `problems` names each failing component with
    /// Salesforce's `problem` text.
    #[error(
        "salesforce deploy {id} {status}: {}",
        join_problems(problems, message)
    )]
    DeployFailed {
        id: String,
        /// `Failed`, `Canceled`, ...
        status: String,
        problems: Vec<DeployProblem>,
        /// `DeployResult.errorMessage`, when the deploy failed as a whole.
        message: Option<String>,
    },

    /// A `deploy()` was still running when the client stopped polling.
    #[error("salesforce deploy {id} not finished after {}s (last status {status}); it may still complete", waited.as_secs())]
    DeployTimeout {
        id: String,
        status: String,
        waited: Duration,
    },

    /// Connected-app creation is blocked in this org.
    #[error(
        "salesforce cannot create ConnectedApp '{full_name}': {status_code}: {message}. Creating connected apps is blocked in this org (Salesforce Spring '26); ask Salesforce Support to re-enable connected-app creation, or create the app by hand / use an External Client App; existing apps can still be updated and deleted"
    )]
    CreationBlocked {
        full_name: String,
        status_code: String,
        message: String,
    },

    /// The component or document does not exist.
    #[error("salesforce {operation}: {what} not found")]
    NotFound {
        operation: &'static str,
        what: String,
    },

    /// Connect failure, reset, timeout, truncated body.
    #[error("salesforce {operation}: network error talking to {host}: {reason}")]
    Network {
        operation: &'static str,
        host: String,
        reason: String,
    },

    /// An HTTP status with no usable Salesforce error body.
    #[error("salesforce {operation}: HTTP {status} from {host}: {snippet}")]
    Http {
        operation: &'static str,
        host: String,
        status: u16,
        snippet: String,
    },

    /// Hostile or unparseable response.
    #[error("salesforce {operation}: unusable response: {reason}")]
    Protocol {
        operation: &'static str,
        reason: String,
    },
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (org paused, retry in {}s)", d.as_secs()),
        None => String::new(),
    }
}

impl SalesforceError {
    /// A `createMetadata` refused because a component of that name exists already.
    pub fn is_already_exists(&self) -> bool {
        match self {
            SalesforceError::Component {
                operation: "createMetadata",
                errors,
                ..
            } => errors.iter().any(|e| {
                matches!(
                    e.status_code.as_str(),
                    "DUPLICATE_DEVELOPER_NAME" | "DUPLICATE_VALUE" | "DUPLICATE_NAME"
                )
            }),
            _ => false,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            SalesforceError::UrlRefused { .. }
            | SalesforceError::KeyInvalid { .. }
            | SalesforceError::Config { .. } => ErrorKind::Invalid,
            SalesforceError::TokenRefused { status, .. } => {
                // A 5xx from the token endpoint is an outage, not a credentials problem.
                if *status >= 500 {
                    ErrorKind::Transient
                } else {
                    ErrorKind::Auth
                }
            }
            SalesforceError::SessionInvalid { .. } => ErrorKind::Auth,
            SalesforceError::QuotaExhausted { .. } | SalesforceError::BudgetReserve { .. } => {
                ErrorKind::Quota
            }
            SalesforceError::ConcurrentLimit { .. } => ErrorKind::Transient,
            SalesforceError::Fault { kind, .. } => *kind,
            SalesforceError::Component { .. } => ErrorKind::Rejected,
            SalesforceError::DeployFailed { .. } => ErrorKind::Rejected,
            SalesforceError::DeployTimeout { .. } => ErrorKind::Transient,
            SalesforceError::CreationBlocked { .. } => ErrorKind::CreationBlocked,
            SalesforceError::NotFound { .. } => ErrorKind::NotFound,
            SalesforceError::Network { .. } => ErrorKind::Transient,
            SalesforceError::Http { status, .. } => {
                if *status >= 500 || *status == 429 || *status == 408 {
                    ErrorKind::Transient
                } else {
                    ErrorKind::Protocol
                }
            }
            SalesforceError::Protocol { .. } => ErrorKind::Protocol,
        }
    }

    /// Whether a retry with backoff can help without anybody changing anything.
    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// For `QuotaExhausted`: how long the org-wide pause still lasts.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SalesforceError::QuotaExhausted { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn protocol(operation: &'static str, reason: impl Into<String>) -> Self {
        SalesforceError::Protocol {
            operation,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_labels_are_distinct() {
        let all = [
            ErrorKind::Transient,
            ErrorKind::Auth,
            ErrorKind::Quota,
            ErrorKind::Rejected,
            ErrorKind::CreationBlocked,
            ErrorKind::NotFound,
            ErrorKind::Invalid,
            ErrorKind::Protocol,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn component_error_message_names_component_code_and_message() {
        let e = SalesforceError::Component {
            operation: "upsertMetadata",
            metadata_type: "ConnectedApp",
            full_name: "Voice_SSO".into(),
            errors: vec![ComponentError {
                status_code: "FIELD_INTEGRITY_EXCEPTION".into(),
                message: "no profile named X".into(),
                fields: vec!["profileName".into()],
            }],
        };
        let s = e.to_string();
        assert!(s.contains("Voice_SSO"), "{s}");
        assert!(s.contains("FIELD_INTEGRITY_EXCEPTION"), "{s}");
        assert!(s.contains("no profile named X"), "{s}");
        assert_eq!(e.kind(), ErrorKind::Rejected);
    }
}
