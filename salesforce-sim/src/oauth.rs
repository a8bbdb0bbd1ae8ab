//! `POST /services/oauth2/token`: the JWT bearer and client credentials flows, with
//! Salesforce's checks and error bodies (salesforce-api.md §6.1, §6.2; docs/simulator.md lists
//! each check and its `error` / `error_description`).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::Rng as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::state::{CallRecord, Session, Shared, State};

/// How far in the future a JWT `exp` may be (Salesforce documents "within 3 minutes";
/// the simulator allows 5 minutes of slack for clock skew).
pub const MAX_EXP_AHEAD_SECS: i64 = 300;

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub async fn token(AxState(sim): AxState<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut st = sim.lock();
    let (resp, user) = token_locked(&mut st, &headers, &form);
    st.record(CallRecord {
        full_names: user.into_iter().collect(),
        ..CallRecord::new("token", resp.status().as_u16())
    });
    resp
}

fn token_locked(
    st: &mut State,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> (Response, Option<String>) {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (oauth_error("invalid_request", "invalid content type"), None);
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => jwt_bearer(st, form),
        Some("client_credentials") => client_credentials(st, headers, form),
        _ => (
            oauth_error("unsupported_grant_type", "grant type not supported"),
            None,
        ),
    }
}

fn claim_str<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The claims of a JWT bearer assertion, checked: RS256, signed with the certificate
/// registered for its issuer (`iss`), for this org's audience, `exp` neither past nor more than
/// [`MAX_EXP_AHEAD_SECS`] ahead. Err: the error answer.
fn verified_claims(st: &State, assertion: &str) -> Result<Value, Box<Response>> {
    // Unverified look at the claims to find the client (iss).
    let parts: Vec<&str> = assertion.split('.').collect();
    let unverified: Option<(Value, Value)> = (parts.len() == 3)
        .then(|| {
            let h = URL_SAFE_NO_PAD.decode(parts[0]).ok()?;
            let c = URL_SAFE_NO_PAD.decode(parts[1]).ok()?;
            Some((
                serde_json::from_slice(&h).ok()?,
                serde_json::from_slice(&c).ok()?,
            ))
        })
        .flatten();
    let Some((jwt_header, claims)) = unverified else {
        return Err(Box::new(oauth_error("invalid_grant", "invalid assertion")));
    };
    if jwt_header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(Box::new(oauth_error("invalid_grant", "invalid assertion")));
    }
    let Some(iss) = claim_str(&claims, "iss") else {
        return Err(Box::new(oauth_error(
            "invalid_client_id",
            "client identifier invalid",
        )));
    };
    let Some(key) = st.client_keys.get(iss).cloned() else {
        return Err(Box::new(oauth_error(
            "invalid_client_id",
            "client identifier invalid",
        )));
    };
    // Signature (RS256 with the certificate registered for the consumer key).
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    if jsonwebtoken::decode::<Value>(assertion, &DecodingKey::from_rsa_der(&key), &validation)
        .is_err()
    {
        return Err(Box::new(oauth_error("invalid_grant", "invalid assertion")));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a.trim_end_matches('/') == st.audience.trim_end_matches('/'),
        Some(Value::Array(a)) => a.iter().any(|v| {
            v.as_str()
                .is_some_and(|a| a.trim_end_matches('/') == st.audience.trim_end_matches('/'))
        }),
        _ => false,
    };
    if !aud_ok {
        return Err(Box::new(oauth_error(
            "invalid_grant",
            "audience is invalid",
        )));
    }
    let exp = match claims.get("exp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let now = st.now().as_second();
    let Some(exp) = exp else {
        return Err(Box::new(oauth_error("invalid_grant", "invalid assertion")));
    };
    if exp <= now {
        return Err(Box::new(oauth_error(
            "invalid_grant",
            "expired authorization code",
        )));
    }
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err(Box::new(oauth_error("invalid_grant", "invalid assertion")));
    }
    Ok(claims)
}

fn jwt_bearer(st: &mut State, form: &HashMap<String, String>) -> (Response, Option<String>) {
    let Some(assertion) = form.get("assertion") else {
        return (oauth_error("invalid_grant", "invalid assertion"), None);
    };
    let claims = match verified_claims(st, assertion) {
        Ok(c) => c,
        Err(r) => return (*r, None),
    };
    let iss = claim_str(&claims, "iss").unwrap_or_default();
    let Some(sub) = claim_str(&claims, "sub").map(str::to_owned) else {
        return (oauth_error("invalid_grant", "invalid assertion"), None);
    };
    let Some(user) = st.user(&sub).cloned() else {
        return (
            oauth_error("invalid_grant", "user hasn't approved this consumer"),
            Some(sub),
        );
    };
    let client = st
        .oauth_clients
        .iter()
        .find(|c| c.consumer_key == iss)
        .cloned();
    let approved = client.is_some_and(|c| c.pre_authorized_profiles.contains(&user.profile));
    if !approved {
        return (
            oauth_error(
                "invalid_app_access",
                "user is not admin approved to access this app",
            ),
            Some(sub),
        );
    }
    let token = issue(st, &sub);
    let id = format!(
        "{}/id/{}/{}",
        st.audience.trim_end_matches('/'),
        st.org_id,
        user.id
    );
    let body = json!({
        "access_token": token,
        "scope": "api full",
        "instance_url": format!("https://{}", st.my_domain),
        "id": id,
        "token_type": "Bearer",
    });
    (json_ok(body), Some(sub))
}

/// The client id and secret a client credentials request presents (HTTP Basic, else the form),
/// on a My Domain host (Salesforce refuses the flow on login/test.salesforce.com).
fn presented_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(String, String), Box<Response>> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    if host == "login.salesforce.com" || host == "test.salesforce.com" {
        return Err(Box::new(oauth_error(
            "invalid_grant",
            "request not supported on this domain",
        )));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(u, p)| {
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(u), dec(p))
            })
        });
    let (client_id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some((u, p)), _, _) => (u, p),
        (None, Some(u), Some(p)) => (u.clone(), p.clone()),
        (None, Some(_), None) => {
            return Err(Box::new(oauth_error(
                "invalid_client",
                "invalid client credentials",
            )));
        }
        (None, None, _) => {
            return Err(Box::new(oauth_error(
                "invalid_client_id",
                "client identifier invalid",
            )));
        }
    };
    Ok((client_id, secret))
}

fn client_credentials(
    st: &mut State,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> (Response, Option<String>) {
    let (client_id, secret) = match presented_credentials(headers, form) {
        Ok(c) => c,
        Err(r) => return (*r, None),
    };
    let Some(client) = st
        .oauth_clients
        .iter()
        .find(|c| c.consumer_key == client_id)
        .cloned()
    else {
        return (
            oauth_error("invalid_client_id", "client identifier invalid"),
            None,
        );
    };
    let Some(expected) = client.client_secret.as_deref() else {
        return (
            oauth_error("unsupported_grant_type", "grant type not supported"),
            None,
        );
    };
    if !constant_time_eq(expected.as_bytes(), secret.as_bytes()) {
        return (
            oauth_error("invalid_client", "invalid client credentials"),
            None,
        );
    }
    let Some(run_as) = client.run_as_username.clone() else {
        return (
            oauth_error("invalid_grant", "no client credentials user enabled"),
            None,
        );
    };
    let Some(user) = st.user(&run_as).cloned() else {
        return (
            oauth_error("invalid_grant", "no client credentials user enabled"),
            Some(run_as),
        );
    };
    if !client.pre_authorized_profiles.contains(&user.profile) {
        return (
            oauth_error(
                "invalid_app_access",
                "user is not admin approved to access this app",
            ),
            Some(run_as),
        );
    }
    let token = issue(st, &run_as);
    let id = format!("https://{}/id/{}/{}", st.my_domain, st.org_id, user.id);
    let issued_at = (st.now().as_millisecond()).to_string();
    let mut h = Sha256::new();
    h.update(expected.as_bytes());
    h.update(id.as_bytes());
    h.update(issued_at.as_bytes());
    let signature = STANDARD.encode(h.finalize());
    let body = json!({
        "access_token": token,
        "signature": signature,
        "scope": "api",
        "instance_url": format!("https://{}", st.my_domain),
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    (json_ok(body), Some(run_as))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json_ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json(body),
    )
        .into_response()
}

/// Mint an access token `<15-char org id>!<opaque>` valid for the token TTL (sliding).
fn issue(st: &mut State, username: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let opaque: String = (0..94)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    let token = format!("{}!AQ{opaque}", st.org_id15());
    let expires = st.now() + st.token_ttl;
    st.sessions.insert(
        token.clone(),
        Session {
            username: username.to_owned(),
            expires,
        },
    );
    token
}
