//! Reading Salesforce's answers: a SOAP response or fault, a REST error body or a bare HTTP status
//! becomes the body, an `INVALID_SESSION_ID` to retry with a new token, or a [`SalesforceError`] of
//! the right kind. Refusals for the daily allocation and for concurrency also update the org's
//! budget. Per-component errors that mean "not found" or "creation blocked" are recognised here.

use url::Url;

use super::budget::Budget;
use super::session::Attempt;
use crate::salesforce::error::{ComponentError, ErrorKind, SalesforceError};
use crate::salesforce::soap::{self, Fault};
use crate::salesforce::transport::{self, Raw};
use crate::salesforce::xml;

/// A Metadata API answer: the body once it is known to be a well-formed SOAP response without a
/// fault.
pub fn classify_soap(
    budget: &Budget,
    op: &'static str,
    url: &Url,
    raw: Raw,
) -> Result<Attempt<String>, SalesforceError> {
    if raw.status != 200 && raw.status != 500 {
        return Err(http_error(op, url, raw.status, &raw.body));
    }
    let parsed = xml::parse(op, &raw.body).and_then(|doc| {
        let lim = soap::limit_info(&doc);
        soap::response(op, &doc).map(|r| (r.err(), lim))
    });
    let (fault, lim) = match parsed {
        Ok(v) => v,
        // A 500 whose body is not a SOAP fault is a server problem, not a hostile answer.
        Err(_) if raw.status == 500 => return Err(http_error(op, url, raw.status, &raw.body)),
        Err(e) => return Err(e),
    };
    budget.note_usage(lim);
    match fault {
        None if raw.status == 200 => Ok(Attempt::Done(raw.body)),
        None => Err(http_error(op, url, raw.status, &raw.body)),
        Some(f) => classify_fault(budget, op, f),
    }
}

fn classify_fault<T>(
    budget: &Budget,
    op: &'static str,
    f: Fault,
) -> Result<Attempt<T>, SalesforceError> {
    match f.code.as_str() {
        "INVALID_SESSION_ID" => Ok(Attempt::InvalidSession(f.message)),
        "REQUEST_LIMIT_EXCEEDED" => Err(limit_exceeded(budget, op, f.message)),
        code => {
            let kind = match code {
                "Client"
                | "INVALID_TYPE"
                | "INVALID_CROSS_REFERENCE_KEY"
                | "FIELD_INTEGRITY_EXCEPTION" => ErrorKind::Rejected,
                "INSUFFICIENT_ACCESS"
                | "API_DISABLED_FOR_ORG"
                | "API_CURRENTLY_DISABLED"
                | "INVALID_OPERATION_WITH_EXPIRED_PASSWORD" => ErrorKind::Auth,
                "UNKNOWN_EXCEPTION" | "Server" | "SERVER_UNAVAILABLE" => ErrorKind::Transient,
                // Unknown codes: refuse to guess that a retry helps.
                _ => ErrorKind::Rejected,
            };
            Err(SalesforceError::Fault {
                operation: op,
                code: f.code,
                message: f.message,
                kind,
            })
        }
    }
}

/// `REQUEST_LIMIT_EXCEEDED` covers both the daily total and the concurrency cap; only the
/// message tells them apart.
fn limit_exceeded(budget: &Budget, op: &'static str, message: String) -> SalesforceError {
    if message.contains("TotalRequests") {
        let backoff = budget.pause_for_quota(&message);
        SalesforceError::QuotaExhausted {
            operation: op,
            message,
            retry_after: Some(backoff),
        }
    } else {
        budget.note_concurrent_limit();
        SalesforceError::ConcurrentLimit {
            operation: op,
            message,
        }
    }
}

/// A REST answer: the JSON body on 200, else the first `[{"message": .., "errorCode": ..}]` entry.
pub fn classify_rest(
    budget: &Budget,
    op: &'static str,
    url: &Url,
    raw: Raw,
) -> Result<Attempt<String>, SalesforceError> {
    if raw.status == 200 || raw.status == 204 {
        if raw.body.trim_start().starts_with('<') {
            return Err(SalesforceError::protocol(
                op,
                "got HTML/XML where JSON was expected",
            ));
        }
        return Ok(Attempt::Done(raw.body));
    }
    #[derive(serde::Deserialize)]
    struct RestError {
        #[serde(default)]
        message: String,
        #[serde(rename = "errorCode", default)]
        error_code: String,
    }
    let errs: Option<Vec<RestError>> = serde_json::from_str(&raw.body).ok();
    let first = errs.and_then(|mut v| {
        if v.is_empty() {
            None
        } else {
            Some(v.remove(0))
        }
    });
    match first {
        Some(e) if e.error_code == "INVALID_SESSION_ID" => Ok(Attempt::InvalidSession(e.message)),
        Some(e) if e.error_code == "REQUEST_LIMIT_EXCEEDED" => {
            Err(limit_exceeded(budget, op, e.message))
        }
        Some(e) => Err(SalesforceError::Fault {
            operation: op,
            kind: if raw.status >= 500 {
                ErrorKind::Transient
            } else if raw.status == 401 || raw.status == 403 {
                ErrorKind::Auth
            } else {
                ErrorKind::Rejected
            },
            code: e.error_code,
            message: e.message,
        }),
        None if raw.status == 401 => Ok(Attempt::InvalidSession(format!(
            "HTTP 401 from {}",
            transport::host_of(url)
        ))),
        None => Err(http_error(op, url, raw.status, &raw.body)),
    }
}

/// An HTTP status without a usable Salesforce error body. Redirects are refused, not followed.
pub fn http_error(op: &'static str, url: &Url, status: u16, body: &str) -> SalesforceError {
    if (300..400).contains(&status) {
        return SalesforceError::protocol(
            op,
            format!("HTTP {status} redirect refused (redirects are not followed)"),
        );
    }
    SalesforceError::Http {
        operation: op,
        host: transport::host_of(url),
        status,
        snippet: transport::snippet(body),
    }
}

/// The `<{op}Response>` element of a body that [`classify_soap`] accepted.
pub fn response_node<'a, 'i>(
    op: &'static str,
    doc: &'a roxmltree::Document<'i>,
) -> Result<roxmltree::Node<'a, 'i>, SalesforceError> {
    // Faults were handled in classify_soap; one here means the body changed between parses, which
    // cannot happen, so report it as a protocol error rather than panic.
    soap::response(op, doc)?
        .map_err(|f| SalesforceError::protocol(op, format!("unexpected fault {}", f.code)))
}

/// Delete of a missing component: Salesforce answers with a per-component error.
pub fn is_not_found(errors: &[ComponentError]) -> bool {
    errors.iter().any(|e| {
        let m = e.message.to_ascii_lowercase();
        matches!(
            e.status_code.as_str(),
            "INVALID_CROSS_REFERENCE_KEY" | "NOT_FOUND" | "ITEM_NOT_FOUND" | "RECORD_NOT_FOUND"
        ) || m.contains("not found")
            || m.contains("does not exist")
    })
}

/// The Spring '26 restriction. Salesforce has published no status code for it, so look at the
/// message: it speaks of creating connected apps being blocked/not allowed/restricted.
pub fn is_creation_blocked(errors: &[ComponentError]) -> bool {
    errors.iter().any(|e| {
        let m = e.message.to_ascii_lowercase();
        (m.contains("connected app") || m.contains("connectedapp"))
            && m.contains("creat")
            && [
                "not allowed",
                "blocked",
                "restricted",
                "no longer",
                "disabled",
                "cannot",
                "can't",
                "can not",
                "not permitted",
            ]
            .iter()
            .any(|w| m.contains(w))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, msg: &str) -> ComponentError {
        ComponentError {
            status_code: code.into(),
            message: msg.into(),
            fields: vec![],
        }
    }

    #[test]
    fn recognises_creation_blocked_messages() {
        assert!(is_creation_blocked(&[err(
            "FIELD_INTEGRITY_EXCEPTION",
            "Connected app creation is not allowed in this org. Contact Salesforce Support."
        )]));
        assert!(is_creation_blocked(&[err(
            "UNKNOWN",
            "You can no longer create connected apps"
        )]));
        assert!(!is_creation_blocked(&[err(
            "FIELD_INTEGRITY_EXCEPTION",
            "no Profile named X found"
        )]));
    }

    #[test]
    fn recognises_not_found_on_delete() {
        assert!(is_not_found(&[err(
            "INVALID_CROSS_REFERENCE_KEY",
            "In field: fullName - no ConnectedApp named X found"
        )]));
        assert!(!is_not_found(&[err(
            "INSUFFICIENT_ACCESS",
            "insufficient access rights"
        )]));
    }
}
