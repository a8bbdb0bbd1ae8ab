//! `GET /__sim/state` (the org as JSON: apps in WSDL field names, ECAs, deploys,
//! certificates, usage, policy, users) and `GET /__sim/calls` / `POST /__sim/calls/reset` (the
//! per-operation counts, the call log and the peak of requests in flight).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::control::saml::{saml_apps_json, session_json};
use crate::eca::kind::Kind;
use crate::metadata_types as mt;
use crate::state::Shared;
use crate::wsdl_types::CONNECTED_APP;

pub async fn state(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.lock();
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
        "edition": st.edition,
        "realism": st.realism,
        "realismLabel": st.realism.label(),
        "profiles": st.profiles,
        "permissionSets": st.permission_sets,
        "users": st.users.iter().map(|u| json!({"id": u.id, "username": u.username, "profile": u.profile, "federationId": u.federation_id, "permissionSets": u.permission_sets, "fields": u.fields})).collect::<Vec<_>>(),
        "activeSessions": st.sessions.len(),
        "samlApps": saml_apps_json(&st),
        "samlSession": session_json(&st),
    }))
    .into_response()
}

pub async fn calls(AxState(sim): AxState<Shared>) -> Response {
    let st = sim.lock();
    let peak = sim.peak_requests.load(Ordering::SeqCst);
    Json(json!({"counts": st.counts, "log": st.log, "peakInFlight": peak})).into_response()
}

pub async fn calls_reset(AxState(sim): AxState<Shared>) -> Response {
    let mut st = sim.lock();
    st.counts.clear();
    st.log.clear();
    let now = sim.requests.load(Ordering::SeqCst);
    sim.peak_requests.store(now, Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}
