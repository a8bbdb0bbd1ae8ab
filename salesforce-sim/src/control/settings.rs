//! Test controls that change the org's surroundings rather than its components: injected
//! faults, the clock, certificates, limits, policy and sessions.

use axum::Json;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::certs::OrgCertificate;
use crate::control::reply::bad;
use crate::fault_rules::FaultRule;
use crate::org_file::CertSpec;
use crate::state::Shared;

pub async fn faults_add(AxState(sim): AxState<Shared>, Json(v): Json<Value>) -> Response {
    let rules: Result<Vec<FaultRule>, _> = match v {
        Value::Array(_) => serde_json::from_value(v),
        other => serde_json::from_value(other).map(|r| vec![r]),
    };
    let rules = match rules {
        Ok(r) => r,
        Err(e) => return bad(format!("fault rule: {e}")),
    };
    let mut st = sim.lock();
    st.faults.extend(rules);
    Json(json!({"active": st.faults})).into_response()
}

pub async fn faults_list(AxState(sim): AxState<Shared>) -> Response {
    let st = sim.lock();
    Json(json!({"active": st.faults})).into_response()
}

pub async fn faults_clear(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.lock();
    st.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockReq {
    advance_seconds: i64,
}

pub async fn clock(AxState(sim): AxState<Shared>, Json(req): Json<ClockReq>) -> Response {
    let mut st = sim.lock();
    st.clock_offset += req.advance_seconds;
    Json(json!({"now": st.now().to_string(), "clockOffsetSeconds": st.clock_offset}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertReq {
    name: String,
    #[serde(default)]
    master_label: Option<String>,
    #[serde(default)]
    key_size: Option<u32>,
    #[serde(default)]
    expires_at: Option<jiff::Timestamp>,
    #[serde(default)]
    set_as_idp_certificate: bool,
}

pub async fn certificates(AxState(sim): AxState<Shared>, Json(req): Json<CertReq>) -> Response {
    let (org15, now, id) = {
        let mut st = sim.lock();
        let id = match st.certificates.get(&req.name) {
            Some(c) => c.id.clone(),
            None => st.new_id("0P1"),
        };
        (st.org_id15().to_owned(), st.now(), id)
    };
    let spec = CertSpec {
        name: req.name.clone(),
        master_label: req.master_label.clone(),
        key_size: req.key_size.unwrap_or(2048),
        expires_at: req.expires_at,
    };
    let generated =
        tokio::task::spawn_blocking(move || OrgCertificate::generate(&spec, &org15, now, id)).await;
    let cert = match generated {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return bad(e),
        Err(e) => return bad(e.to_string()),
    };
    let mut st = sim.lock();
    let out = json!({
        "name": cert.name,
        "notAfter": cert.not_after.to_string(),
        "sha256Fingerprint": cert.sha256_fingerprint(),
        "pem": cert.pem,
    });
    st.certificates.insert(req.name.clone(), cert);
    if req.set_as_idp_certificate {
        st.idp_certificate = Some(req.name);
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsReq {
    #[serde(default)]
    used: Option<u64>,
    #[serde(default)]
    max: Option<u64>,
    /// Enforced cap on Metadata API calls in flight; 0 turns enforcement off.
    #[serde(default)]
    concurrent: Option<u64>,
}

pub async fn limits(AxState(sim): AxState<Shared>, Json(req): Json<LimitsReq>) -> Response {
    let mut st = sim.lock();
    if let Some(max) = req.max {
        st.daily_max = max;
    }
    if let Some(n) = req.concurrent {
        st.concurrent_enforced = (n > 0).then_some(n);
    }
    if let Some(used) = req.used {
        let now = st.now().as_second();
        st.usage.clear();
        st.usage.extend(std::iter::repeat_n(now, used as usize));
    }
    let used = st.api_used();
    Json(json!({"used": used, "max": st.daily_max, "concurrent": st.concurrent_enforced}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyReq {
    #[serde(default)]
    connected_app_creation_allowed: Option<bool>,
    #[serde(default)]
    creation_blocked_status_code: Option<String>,
    #[serde(default)]
    creation_blocked_message: Option<String>,
    #[serde(default)]
    deploy_polls_in_progress: Option<u32>,
    #[serde(default)]
    saml_encryption_block_mode: Option<String>,
}

pub async fn policy(AxState(sim): AxState<Shared>, Json(req): Json<PolicyReq>) -> Response {
    let mut st = sim.lock();
    if let Some(v) = req.connected_app_creation_allowed {
        st.policy.connected_app_creation_allowed = v;
    }
    if let Some(v) = req.creation_blocked_status_code {
        st.policy.creation_blocked_status_code = v;
    }
    if let Some(v) = req.creation_blocked_message {
        st.policy.creation_blocked_message = v;
    }
    if let Some(v) = req.deploy_polls_in_progress {
        st.policy.deploy_polls_in_progress = v;
    }
    if let Some(v) = req.saml_encryption_block_mode {
        if !v.eq_ignore_ascii_case("CBC") && !v.eq_ignore_ascii_case("GCM") {
            return bad(format!("samlEncryptionBlockMode {v:?}: CBC or GCM"));
        }
        st.policy.saml_encryption_block_mode = v.to_ascii_uppercase();
    }
    Json(json!(st.policy)).into_response()
}

pub async fn revoke_sessions(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.lock();
    st.sessions.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__sim/realism`: changes the reality variants it names (and `edition`), keeps the
/// others; answers them all (`GET` too), with `label` naming the ones off their default.
pub async fn realism_set(AxState(sim): AxState<Shared>, Json(v): Json<Value>) -> Response {
    let mut st = sim.lock();
    let Value::Object(mut changes) = v else {
        return bad("realism: a JSON object of switches");
    };
    if let Some(e) = changes.remove("edition") {
        match serde_json::from_value(e) {
            Ok(e) => st.edition = e,
            Err(e) => return bad(format!("edition: {e}")),
        }
    }
    let mut current = serde_json::to_value(st.realism).unwrap_or_default();
    if let Some(obj) = current.as_object_mut() {
        obj.extend(changes);
    }
    match serde_json::from_value(current) {
        Ok(r) => st.realism = r,
        Err(e) => return bad(format!("realism: {e}")),
    }
    realism_json(&st)
}

pub async fn realism_get(AxState(sim): AxState<Shared>) -> Response {
    realism_json(&sim.lock())
}

fn realism_json(st: &crate::state::State) -> Response {
    Json(json!({"realism": st.realism, "edition": st.edition, "label": st.realism.label()}))
        .into_response()
}
