//! REST: `GET /services/data/` (versions) and `GET /services/data/v{version}/limits`, with
//! Salesforce's JSON error bodies (`[{"message", "errorCode"}]`) and the `Sforce-Limit-Info`
//! header (salesforce-api.md §7).

use axum::Json;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::{CallRecord, Shared};
use crate::version::{self, MAX_VERSION, MIN_VERSION};

/// Release name of an API version (three releases a year; 66.0 = Spring '26).
fn release_label(version: u32) -> String {
    let back = MAX_VERSION.saturating_sub(version);
    let season = ["Spring", "Winter", "Summer"][(back % 3) as usize];
    let year = 26 - (back + 1) / 3;
    format!("{season} '{year:02}")
}

/// `GET /services/data/`: not authenticated, not counted, no `Sforce-Limit-Info`.
pub async fn versions() -> Response {
    let list: Vec<Value> = (MIN_VERSION..=MAX_VERSION)
        .map(|v| {
            json!({
                "label": release_label(v),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json(Value::Array(list)),
    )
        .into_response()
}

pub fn rest_error(
    status: StatusCode,
    code: &str,
    message: &str,
    limit_info: Option<String>,
) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json(json!([{"message": message, "errorCode": code}])),
    )
        .into_response();
    if let Some(li) = limit_info
        && let Ok(v) = HeaderValue::from_str(&li)
    {
        resp.headers_mut().insert("Sforce-Limit-Info", v);
    }
    resp
}

pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("OAuth"))
        .then(|| token.trim().to_owned())
}

/// `GET /services/data/{vXX.X}/{*rest}`: only `limits` is implemented; everything else is
/// Salesforce's 404 (after authentication, as Salesforce checks the session first).
pub async fn data(
    AxState(sim): AxState<Shared>,
    Path((ver, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut st = sim.lock();
    let operation = if rest.trim_end_matches('/') == "limits" {
        "limits"
    } else {
        "rest"
    };
    let resp = (|| {
        let version_ok = ver
            .strip_prefix('v')
            .and_then(version::major)
            .is_some_and(version::answered);
        if !version_ok {
            return rest_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The requested resource does not exist",
                None,
            );
        }
        let valid = bearer(&headers).and_then(|t| st.check_session(&t));
        if valid.is_none() {
            return rest_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
                None,
            );
        }
        if !st.count_api_call() {
            let li = st.limit_info();
            return rest_error(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
                Some(li),
            );
        }
        let li = st.limit_info();
        if operation != "limits" {
            return rest_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The requested resource does not exist",
                Some(li),
            );
        }
        let used = st.api_used();
        let max = st.daily_max;
        let body = json!({
            "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        });
        let mut resp = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            Json(body),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&li) {
            resp.headers_mut().insert("Sforce-Limit-Info", v);
        }
        resp
    })();
    st.record(CallRecord::new(operation, resp.status().as_u16()));
    resp
}

/// The checks every authenticated REST call passes first, in Salesforce's order: a known
/// version, a valid session, then one API call counted. Ok: the `Sforce-Limit-Info` value.
pub fn rest_guard(
    st: &mut crate::state::State,
    ver: &str,
    headers: &HeaderMap,
) -> Result<String, Box<Response>> {
    let version_ok = ver
        .strip_prefix('v')
        .and_then(version::major)
        .is_some_and(version::answered);
    if !version_ok {
        return Err(Box::new(rest_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
            None,
        )));
    }
    if bearer(headers).and_then(|t| st.check_session(&t)).is_none() {
        return Err(Box::new(rest_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            None,
        )));
    }
    if !st.count_api_call() {
        let li = st.limit_info();
        return Err(Box::new(rest_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            Some(li),
        )));
    }
    Ok(st.limit_info())
}
