//! The routes: Salesforce's endpoints, and the `/__sim/` test controls when enabled, behind the
//! fault/latency middleware and the body-size cap.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::control::{mutate, report, saml as saml_control, settings};
use crate::saml::endpoints as sso;
use crate::state::Shared;
use crate::{faults, idp_metadata, limits, oauth, setup_entity_access, soap};

/// The simulator's HTTP application.
pub fn app(sim: Shared, control: bool) -> Router {
    let mut r = Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/Soap/m/{version}", post(soap::handle))
        .route("/services/Soap/m/{version}/", post(soap::handle))
        .route("/services/Soap/m/{version}/{org_id}", post(soap::handle))
        .route("/services/Soap/m/{version}/{org_id}/", post(soap::handle))
        .route("/services/data", get(limits::versions))
        .route("/services/data/", get(limits::versions))
        .route(
            "/services/data/{ver}/query",
            get(setup_entity_access::query),
        )
        .route(
            "/services/data/{ver}/sobjects/{ty}/{id}",
            delete(setup_entity_access::delete),
        )
        .route("/services/data/{ver}/{*rest}", get(limits::data))
        .route("/.well-known/samlidp.xml", get(idp_metadata::org_metadata))
        .route(
            "/.well-known/samlidp/{file}",
            get(idp_metadata::app_metadata),
        )
        .route("/idp/endpoint/HttpRedirect", get(sso::http_redirect))
        .route("/idp/endpoint/HttpPost", post(sso::http_post))
        .route("/idp/login", get(sso::idp_login));
    if control {
        r = r
            .route("/__sim/state", get(report::state))
            .route("/__sim/calls", get(report::calls))
            .route("/__sim/calls/reset", post(report::calls_reset))
            .route(
                "/__sim/faults",
                post(settings::faults_add)
                    .get(settings::faults_list)
                    .delete(settings::faults_clear),
            )
            .route("/__sim/clock", post(settings::clock))
            .route("/__sim/mutate", post(mutate::mutate))
            .route("/__sim/certificates", post(settings::certificates))
            .route("/__sim/limits", post(settings::limits))
            .route("/__sim/policy", post(settings::policy))
            .route(
                "/__sim/realism",
                post(settings::realism_set).get(settings::realism_get),
            )
            .route("/__sim/sessions/revoke", post(settings::revoke_sessions))
            .route(
                "/__sim/saml/session",
                post(saml_control::sign_in)
                    .get(saml_control::get)
                    .delete(saml_control::sign_out),
            );
    }
    r.layer(axum::middleware::from_fn_with_state(
        sim.clone(),
        faults::middleware,
    ))
    .layer(DefaultBodyLimit::max(faults::MAX_BODY))
    .with_state(sim)
}
