//! Test controls under `/__sim/` (only with `--control`). See docs/simulator.md.

use axum::Json;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::certs::OrgCertificate;
use super::eca::{self, Kind};
use super::faults::FaultRule;
use super::metadata_types as mt;
use super::org::{CertSpec, StoredApp};
use super::soap::check_app;
use super::wsdl_types::CONNECTED_APP;

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

pub async fn state(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    let now = st.now();
    let used = st.api_used();
    let apps: Map<String, Value> = st
        .apps
        .iter()
        .map(|(k, a)| (k.clone(), mt::to_json(&a.fields, &CONNECTED_APP)))
        .collect();
    let app_ids: Map<String, Value> = st
        .apps
        .iter()
        .map(|(k, a)| (k.clone(), Value::String(a.id.clone())))
        .collect();
    let mut ecas = Map::new();
    for (name, a) in &st.eca.apps {
        let children = |k: Kind| -> Map<String, Value> {
            st.eca
                .map(k)
                .iter()
                .filter(|(_, c)| mt::text(&c.fields, "externalClientApplication") == Some(name))
                .map(|(n, c)| (n.clone(), mt::to_json(&c.fields, k.info().def)))
                .collect()
        };
        ecas.insert(
            name.clone(),
            json!({
                "id": a.id,
                "app": mt::to_json(&a.fields, Kind::App.info().def),
                "policies": children(Kind::Policies),
                "samlPolicies": children(Kind::Saml),
            }),
        );
    }
    let deploys: Vec<Value> = st
        .deploys
        .values()
        .map(|d| {
            json!({
                "id": d.id,
                "polls": d.polls,
                "status": d.outcome.as_ref().map_or("InProgress", |o| o.status),
                "components": d.package.names(),
            })
        })
        .collect();
    let certs: Vec<Value> = st
        .certificates
        .values()
        .map(|c| {
            json!({
                "name": c.name,
                "id": c.id,
                "masterLabel": c.master_label,
                "keySize": c.key_size,
                "notBefore": c.not_before.to_string(),
                "notAfter": c.not_after.to_string(),
                "expired": c.not_after <= now,
                "sha256Fingerprint": c.sha256_fingerprint(),
                "publicKeySha256": hex::encode(Sha256::digest(&c.key_spki)),
                "pem": c.pem,
            })
        })
        .collect();
    Json(json!({
        "orgId": st.org_id,
        "myDomain": st.my_domain,
        "now": now.to_string(),
        "clockOffsetSeconds": st.clock_offset,
        "connectedApps": apps,
        "connectedAppIds": app_ids,
        "externalClientApps": ecas,
        "deploys": deploys,
        "profileIds": st.profile_ids,
        "permissionSetIds": st.permission_set_ids,
        "identityProvider": {"enabled": st.idp_enabled, "certificate": st.idp_certificate},
        "certificates": certs,
        "apiUsage": {"used": used, "max": st.daily_max},
        "concurrentLongRequests": st.concurrent_long_requests,
        "policy": st.policy,
        "profiles": st.profiles,
        "permissionSets": st.permission_sets,
        "users": st.users.iter().map(|u| json!({"id": u.id, "username": u.username, "profile": u.profile, "federationId": u.federation_id})).collect::<Vec<_>>(),
        "activeSessions": st.sessions.len(),
    }))
    .into_response()
}

pub async fn calls(AxState(sim): AxState<Shared>) -> Response {
    let st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    let peak = sim.peak_requests.load(std::sync::atomic::Ordering::SeqCst);
    Json(json!({"counts": st.counts, "log": st.log, "peakInFlight": peak})).into_response()
}

pub async fn calls_reset(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    st.counts.clear();
    st.log.clear();
    let now = sim.requests.load(std::sync::atomic::Ordering::SeqCst);
    sim.peak_requests
        .store(now, std::sync::atomic::Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn faults_add(AxState(sim): AxState<Shared>, Json(v): Json<Value>) -> Response {
    let rules: Result<Vec<FaultRule>, _> = match v {
        Value::Array(_) => serde_json::from_value(v),
        other => serde_json::from_value(other).map(|r| vec![r]),
    };
    let rules = match rules {
        Ok(r) => r,
        Err(e) => return bad(format!("fault rule: {e}")),
    };
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    st.faults.extend(rules);
    Json(json!({"active": st.faults})).into_response()
}

pub async fn faults_list(AxState(sim): AxState<Shared>) -> Response {
    let st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    Json(json!({"active": st.faults})).into_response()
}

pub async fn faults_clear(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    st.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockReq {
    advance_seconds: i64,
}

pub async fn clock(AxState(sim): AxState<Shared>, Json(req): Json<ClockReq>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    st.clock_offset += req.advance_seconds;
    Json(json!({"now": st.now().to_string(), "clockOffsetSeconds": st.clock_offset}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutateReq {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    delete: bool,
}

fn set_path(obj: &mut Map<String, Value>, path: &str, value: Option<Value>) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            match value {
                Some(v) => {
                    cur.insert(p.to_owned(), v);
                }
                None => {
                    cur.remove(p);
                }
            }
            return Ok(());
        }
        let next = cur
            .entry(p.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        cur = next
            .as_object_mut()
            .ok_or_else(|| format!("{p} is not an object"))?;
    }
    Err("empty path".into())
}

pub async fn mutate(AxState(sim): AxState<Shared>, Json(req): Json<MutateReq>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    match req.ty.as_str() {
        "ConnectedApp" => {
            let Some(name) = req.full_name.clone() else {
                return bad("fullName is required");
            };
            if req.delete {
                return match st.apps.remove(&name) {
                    Some(_) => Json(json!({"deleted": name})).into_response(),
                    None => bad(format!("no ConnectedApp named {name}")),
                };
            }
            let mut obj = match (&req.value, st.apps.get(&name)) {
                (Some(Value::Object(v)), _) => v.clone(),
                (Some(_), _) => return bad("value must be an object"),
                (None, Some(app)) => match mt::to_json(&app.fields, &CONNECTED_APP) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                (None, None) => return bad(format!("no ConnectedApp named {name}")),
            };
            for (path, v) in &req.set {
                if let Err(e) = set_path(&mut obj, path, Some(v.clone())) {
                    return bad(e);
                }
            }
            for path in &req.unset {
                if let Err(e) = set_path(&mut obj, path, None) {
                    return bad(e);
                }
            }
            obj.insert("fullName".into(), Value::String(name.clone()));
            let fields = match mt::from_json(&Value::Object(obj), &CONNECTED_APP) {
                Ok(f) => f,
                Err(e) => return bad(e),
            };
            let errors = check_app(&st, &fields);
            if !errors.is_empty() {
                let msgs: Vec<String> = errors.into_iter().map(|e| e.message).collect();
                return bad(msgs.join("; "));
            }
            let now = st.now();
            let json_out = mt::to_json(&fields, &CONNECTED_APP);
            if let Some(app) = st.apps.get_mut(&name) {
                app.fields = fields;
                app.modified = now;
            } else {
                let id = st.new_id("0H4");
                st.apps.insert(
                    name,
                    StoredApp {
                        id,
                        fields,
                        created: now,
                        modified: now,
                    },
                );
            }
            Json(json_out).into_response()
        }
        "IdentityProviderSettings" => {
            for (k, v) in &req.set {
                match (k.as_str(), v) {
                    ("enableIdentityProvider", Value::Bool(b)) => st.idp_enabled = *b,
                    ("certificateName", Value::String(c)) => {
                        if !st.certificates.contains_key(c) {
                            return bad(format!("no Certificate named {c}"));
                        }
                        st.idp_certificate = Some(c.clone());
                    }
                    _ => return bad(format!("cannot set {k} to {v}")),
                }
            }
            if st.idp_enabled && st.idp_certificate.is_none() {
                return bad("enabling the IdP needs a certificateName");
            }
            Json(json!({"enabled": st.idp_enabled, "certificate": st.idp_certificate}))
                .into_response()
        }
        other => match Kind::from_type(other) {
            Some(k) => mutate_eca(&mut st, k, &req),
            None => bad(format!(
                "mutate supports ConnectedApp, IdentityProviderSettings and the External Client App types, not {other}"
            )),
        },
    }
}

/// `/__sim/mutate` of an ECA component, as an admin in Setup (no deploy, checks as a deploy).
fn mutate_eca(st: &mut super::org::State, k: Kind, req: &MutateReq) -> Response {
    let Some(name) = req.full_name.clone() else {
        return bad("fullName is required");
    };
    let ty = k.info().name;
    if req.delete {
        return if st.eca.delete(k, &name) {
            Json(json!({"deleted": name})).into_response()
        } else {
            bad(format!("no {ty} named {name}"))
        };
    }
    let mut obj = match (&req.value, st.eca.map(k).get(&name)) {
        (Some(Value::Object(v)), _) => v.clone(),
        (Some(_), _) => return bad("value must be an object"),
        (None, Some(c)) => match mt::to_json(&c.fields, k.info().def) {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        (None, None) => return bad(format!("no {ty} named {name}")),
    };
    for (path, v) in &req.set {
        if let Err(e) = set_path(&mut obj, path, Some(v.clone())) {
            return bad(e);
        }
    }
    for path in &req.unset {
        if let Err(e) = set_path(&mut obj, path, None) {
            return bad(e);
        }
    }
    obj.insert("fullName".into(), Value::String(name.clone()));
    let fields = match mt::from_json(&Value::Object(obj), k.info().def) {
        Ok(f) => f,
        Err(e) => return bad(e),
    };
    let problems = eca::check_component(st, &st.eca, k, &name, &fields);
    if !problems.is_empty() {
        return bad(problems.join("; "));
    }
    let now = st.now();
    let org_id = st.org_id.clone();
    let mut store = std::mem::take(&mut st.eca);
    eca::put(
        &mut store,
        k,
        &name,
        fields,
        || st.new_id(k.info().id_prefix),
        now,
        &org_id,
    );
    st.eca = store;
    let out = st
        .eca
        .map(k)
        .get(&name)
        .map(|c| mt::to_json(&c.fields, k.info().def))
        .unwrap_or(Value::Null);
    Json(out).into_response()
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
        let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
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
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
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
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
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
}

pub async fn policy(AxState(sim): AxState<Shared>, Json(req): Json<PolicyReq>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
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
    Json(json!(st.policy)).into_response()
}

pub async fn revoke_sessions(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
    st.sessions.clear();
    StatusCode::NO_CONTENT.into_response()
}
