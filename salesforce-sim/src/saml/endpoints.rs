//! The sign-in endpoints of the org's identity provider (salesforce-api.md §4.1; the SSO
//! Locations of the IdP metadata):
//! - `GET /idp/endpoint/HttpRedirect?SAMLRequest=…[&RelayState=…][&SigAlg=…&Signature=…]` and
//!   `POST /idp/endpoint/HttpPost` (form `SAMLRequest`, `RelayState`): SP-initiated;
//! - `GET /idp/login?app=<0sp id>[&RelayState=…]`: IdP-initiated. Salesforce's URL takes the
//!   SAML service-provider id (`0sp`, shown in Setup as the app's "IdP-Initiated Login URL";
//!   salesforce-api.md §14). That id is not readable through the Metadata API, so the simulator
//!   also takes the app's API name (a simulator convenience; its ids are in `/__sim/state`
//!   `samlApps`). Without `RelayState`, the app's start URL (`startUrl`) is sent, if any
//!   (an assumption).
//!
//! Order of checks: the IdP is enabled (else `InvalidSettings`, assumption), the request or `app`
//! resolves to a SAML app (`request.rs`; unknown `app`: `UnableToResolve`), an ECA's policies are
//! enabled (`AppBlocked`, assumption), someone is signed in (else the login page), the user's
//! profile or a permission set is granted the app (`NoAccess`), the subject has a value
//! (`subject.rs`). Then the response is built (`response.rs`) and posted by the browser
//! (`pages.rs`). Every sign-in is in the call log (`samlSsoRedirect`, `samlSsoPost`,
//! `samlIdpInitiated`) with the app, and the IdpEventLog code as `fault` when it failed.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;

use crate::saml::app::{self, SpApp};
use crate::saml::idp_error::{
    APP_BLOCKED, INVALID_SETTINGS, IdpError, NO_ACCESS, UNABLE_TO_RESOLVE,
};
use crate::saml::pages;
use crate::saml::request::{self, Received};
use crate::saml::response::{self, Issue};
use crate::state::{CallRecord, Shared, State};

/// What a sign-in ends with.
enum Outcome {
    Posted { acs: String, response: String },
    Login,
}

/// The app a sign-in is for, and the request it answers (SP-initiated).
struct Target {
    app: SpApp,
    request_id: Option<String>,
}

/// The URLs this endpoint is known by: at My Domain, and as reached (`Host`).
fn endpoint_urls(st: &State, headers: &HeaderMap, path: &str) -> Vec<String> {
    let mut urls = vec![format!("https://{}{path}", st.my_domain)];
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        urls.push(format!("https://{host}{path}"));
        urls.push(format!("http://{host}{path}"));
    }
    urls
}

fn sign_in(st: &State, target: &Target) -> Result<Outcome, IdpError> {
    let app = &target.app;
    if !app.enabled {
        return Err(APP_BLOCKED);
    }
    let Some(session) = &st.saml_session else {
        return Ok(Outcome::Login);
    };
    let user = st.user(&session.username).ok_or(NO_ACCESS)?;
    if !app.grants(user) {
        return Err(NO_ACCESS);
    }
    let xml = response::build(
        st,
        &Issue {
            app,
            user,
            in_response_to: target.request_id.as_deref(),
            authn_instant: session.since,
        },
    )?;
    Ok(Outcome::Posted {
        acs: app.acs_url.clone(),
        response: xml,
    })
}

/// Runs a sign-in for the target `resolve` finds, logs it and renders the page.
fn serve(
    sim: &Shared,
    operation: &str,
    relay_state: Option<String>,
    resolve: impl FnOnce(&State) -> Result<Target, IdpError>,
) -> Response {
    let mut st = sim.lock();
    let target = if st.idp_enabled {
        resolve(&st)
    } else {
        Err(INVALID_SETTINGS)
    };
    let app = target.as_ref().ok().map(|t| t.app.clone());
    let relay = relay_state.or_else(|| {
        target
            .as_ref()
            .ok()
            .filter(|t| t.request_id.is_none())
            .and_then(|t| t.app.start_url.clone())
    });
    let outcome = target.and_then(|t| sign_in(&st, &t));
    let fault = match &outcome {
        Ok(Outcome::Posted { .. }) => None,
        Ok(Outcome::Login) => Some("LoginRequired".to_owned()),
        Err(e) => Some(e.code.to_owned()),
    };
    st.record(CallRecord {
        metadata_type: app.as_ref().map(|a| a.kind.type_name().to_owned()),
        full_names: app.iter().map(|a| a.name.clone()).collect(),
        fault,
        ..CallRecord::new(operation, 200)
    });
    match outcome {
        Ok(Outcome::Posted { acs, response }) => {
            pages::post_form(&acs, &response, relay.as_deref())
        }
        Ok(Outcome::Login) => pages::login_page(&st.my_domain),
        Err(e) => pages::error_page(e),
    }
}

/// A received request checked into a target, or the error it gives.
fn checked(
    st: &State,
    received: Result<Received, IdpError>,
    urls: &[String],
) -> Result<Target, IdpError> {
    let checked = request::check(st, &received?, urls)?;
    Ok(Target {
        app: checked.app,
        request_id: Some(checked.id),
    })
}

pub async fn http_redirect(
    AxState(sim): AxState<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let received = request::from_redirect(uri.query().unwrap_or(""));
    let relay = received.as_ref().ok().and_then(|r| r.relay_state.clone());
    serve(&sim, "samlSsoRedirect", relay, |st| {
        let urls = endpoint_urls(st, &headers, "/idp/endpoint/HttpRedirect");
        checked(st, received, &urls)
    })
}

pub async fn http_post(
    AxState(sim): AxState<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let received = request::from_post(
        form.get("SAMLRequest").map(String::as_str),
        form.get("RelayState").map(String::as_str),
    );
    let relay = received.as_ref().ok().and_then(|r| r.relay_state.clone());
    serve(&sim, "samlSsoPost", relay, |st| {
        let urls = endpoint_urls(st, &headers, "/idp/endpoint/HttpPost");
        checked(st, received, &urls)
    })
}

pub async fn idp_login(
    AxState(sim): AxState<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let relay = query.get("RelayState").cloned();
    serve(&sim, "samlIdpInitiated", relay, |st| {
        let app = query
            .get("app")
            .and_then(|a| app::by_login_param(st, a))
            .ok_or(UNABLE_TO_RESOLVE)?;
        Ok(Target {
            app,
            request_id: None,
        })
    })
}
