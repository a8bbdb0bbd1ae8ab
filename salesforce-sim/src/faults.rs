//! The middleware in front of every API route (never in front of `/__sim/`): the body-size cap,
//! the request counters (`peakInFlight`, the enforced Metadata API concurrency cap), the
//! per-call latency (`--latency-ms`) and injected faults (rules in `fault_rules.rs`).
//!
//! The concurrency refusal is Salesforce's SOAP fault (`sf:REQUEST_LIMIT_EXCEEDED`,
//! `ConcurrentRequests (Concurrent API Requests) Limit exceeded.`, salesforce-api.md §5.5).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::fault_rules::{self, FaultRule};
use crate::soap::envelope;
use crate::state::{CallRecord, Shared, Sim};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Request bodies above this size are refused with 413.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// The operation name used for matching and for the call log.
pub fn operation_for(path: &str, body: &[u8]) -> String {
    if path.starts_with("/services/Soap/m/") {
        envelope::operation_of(body).unwrap_or_else(|| "unknown".into())
    } else if path == "/services/oauth2/token" {
        "token".into()
    } else if path == "/services/data" || path == "/services/data/" {
        "versions".into()
    } else if path.starts_with("/services/data/") {
        if path.trim_end_matches('/').ends_with("/limits") {
            "limits".into()
        } else if path.trim_end_matches('/').ends_with("/query") {
            "query".into()
        } else if path.contains("/sobjects/") {
            "sobjectDelete".into()
        } else {
            "rest".into()
        }
    } else if path.starts_with("/.well-known/samlidp") {
        "idpMetadata".into()
    } else if path == "/idp/endpoint/HttpRedirect" {
        "samlSsoRedirect".into()
    } else if path == "/idp/endpoint/HttpPost" {
        "samlSsoPost".into()
    } else if path == "/idp/login" {
        "samlIdpInitiated".into()
    } else {
        "other".into()
    }
}

const MAINTENANCE_HTML: &str = "<!DOCTYPE html>\n<html><head><title>Salesforce - Maintenance</title></head><body><h1>Down for Maintenance</h1><p>This Salesforce instance is currently undergoing maintenance. Please try again later.</p></body></html>\n";

fn reset_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Cut the body in half while announcing the full length, then drop the connection.
async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    // Yield the first half, let hyper flush it (the sleep returns Pending), then fail.
    let stream = futures::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected truncation",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

pub async fn middleware(AxState(sim): AxState<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__sim") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large").into_response();
    };
    let operation = operation_for(&path, &bytes);
    let _served = served(&sim);
    // Held until the response is built, so injected latency counts as time in flight.
    let _in_flight = if path.starts_with("/services/Soap/m/") {
        match metadata_call_in_flight(&sim) {
            Some(g) => Some(g),
            None => {
                let resp = envelope::fault(
                    "sf:REQUEST_LIMIT_EXCEEDED",
                    "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                );
                record_unserved(&sim, operation, &resp, "concurrentLimit", None);
                return resp;
            }
        }
    } else {
        None
    };
    if !sim.latency.is_zero() {
        tokio::time::sleep(sim.latency).await;
    }
    let rule = fault_rules::take_matching(&mut sim.lock().faults, &operation, &path);
    let req = Request::from_parts(parts, Body::from(bytes));
    let Some(rule) = rule else {
        return next.run(req).await;
    };
    if let Some(ms) = rule.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if rule.kind() == "truncate" {
        return truncate(next.run(req).await).await;
    }
    let Some(resp) = injected_response(&rule) else {
        // Latency only: then serve normally.
        return next.run(req).await;
    };
    record_unserved(&sim, operation, &resp, rule.kind(), Some(true));
    resp
}

/// The answer an injected rule gives instead of the handler's; None for a latency-only rule
/// (truncation is applied to the handler's answer by the caller).
fn injected_response(rule: &FaultRule) -> Option<Response> {
    let status = rule.status.and_then(|s| StatusCode::from_u16(s).ok());
    if rule.reset {
        return Some(reset_response());
    }
    if let Some(f) = &rule.soap_fault {
        let mut r = envelope::fault(&f.code, &f.message);
        if let Some(s) = status {
            *r.status_mut() = s;
        }
        return Some(r);
    }
    if rule.html {
        let status = StatusCode::from_u16(rule.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
        let html = [(header::CONTENT_TYPE, "text/html;charset=UTF-8")];
        return Some((status, html, MAINTENANCE_HTML).into_response());
    }
    if rule.status.is_none() && rule.body.is_none() {
        return None;
    }
    let ct = rule
        .content_type
        .clone()
        .unwrap_or_else(|| "text/plain;charset=UTF-8".into());
    let body = rule.body.clone().unwrap_or_default();
    let mut r = (status.unwrap_or(StatusCode::OK), body).into_response();
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Some(r)
}

/// Logs a call answered here rather than by its handler (an injected fault, a refusal).
fn record_unserved(
    sim: &Sim,
    operation: String,
    resp: &Response,
    fault: &str,
    injected: Option<bool>,
) {
    sim.lock().record(CallRecord {
        fault: Some(fault.to_owned()),
        injected,
        ..CallRecord::new(operation, resp.status().as_u16())
    });
}

/// Counts one request while it is being served (the count drops when the guard does).
struct Held<'a>(&'a AtomicU64);

impl<'a> Held<'a> {
    /// Enters; returns the guard and the count before this request.
    fn enter(counter: &'a AtomicU64) -> (Self, u64) {
        (Held(counter), counter.fetch_add(1, Ordering::SeqCst))
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One request of any kind being served, counted towards the peak `/__sim/calls` reports.
fn served(sim: &Sim) -> Held<'_> {
    let (guard, before) = Held::enter(&sim.requests);
    sim.peak_requests.fetch_max(before + 1, Ordering::SeqCst);
    guard
}

/// One Metadata API call being served; refused at entry when the enforced cap is reached.
fn metadata_call_in_flight(sim: &Sim) -> Option<Held<'_>> {
    let cap = sim.lock().concurrent_enforced;
    let (guard, before) = Held::enter(&sim.in_flight);
    match cap {
        Some(cap) if before >= cap => None,
        _ => Some(guard),
    }
}
