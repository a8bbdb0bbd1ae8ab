//! `/__sim/saml/session`: who is signed in to the org in the browser that the SAML sign-in
//! endpoints serve (`saml/endpoints.rs`). Salesforce signs users in with its login page; the
//! simulator has no interactive login, so a test picks the user.

use axum::Json;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::control::reply::bad;
use crate::saml::app;
use crate::state::{SamlSession, Shared, State};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionReq {
    username: String,
}

/// The session as `/__sim/saml/session` and `/__sim/state` show it.
pub fn session_json(st: &State) -> Value {
    match &st.saml_session {
        Some(s) => json!({"username": s.username, "since": s.since.to_string()}),
        None => json!({"username": null}),
    }
}

/// The org's SAML apps as `/__sim/state` shows them (`samlApps`): kind, entity id, the `0sp`
/// id and the IdP-initiated login URL Setup would show.
pub fn saml_apps_json(st: &State) -> Value {
    let apps: Map<String, Value> = app::all(st)
        .into_iter()
        .map(|a| {
            let login = format!("https://{}/idp/login?app={}", st.my_domain, a.sp_id15());
            let v = json!({"kind": a.kind.type_name(), "spId": a.sp_id15(),
                           "entityId": a.entity_id, "idpInitiatedLoginUrl": login});
            (a.name, v)
        })
        .collect();
    Value::Object(apps)
}

/// `POST {"username"}`: that user is signed in from now on (simulator clock).
pub async fn sign_in(AxState(sim): AxState<Shared>, Json(req): Json<SessionReq>) -> Response {
    let mut st = sim.lock();
    if st.user(&req.username).is_none() {
        return bad(format!("no user {}", req.username));
    }
    let since = st.now();
    st.saml_session = Some(SamlSession {
        username: req.username,
        since,
    });
    Json(session_json(&st)).into_response()
}

/// `DELETE`: nobody is signed in (the endpoints show the login page).
pub async fn sign_out(AxState(sim): AxState<Shared>) -> Response {
    sim.lock().saml_session = None;
    StatusCode::NO_CONTENT.into_response()
}

pub async fn get(AxState(sim): AxState<Shared>) -> Response {
    Json(session_json(&sim.lock())).into_response()
}
