//! The HTML the sign-in endpoints answer with (all `200 text/html`).
//!
//! - The response goes to the service provider as the HTTP-POST binding prescribes (SAML
//!   bindings spec §3.5.4): a form with `method="post"`, `action` = the ACS URL, hidden
//!   `SAMLResponse` (base64) and `RelayState`, submitted by script on load, with a button for
//!   browsers without script. Salesforce's exact markup is not published; the fields are the
//!   binding's.
//! - A sign-in that cannot be answered gives an error page with the Identity Provider Event
//!   Log's text for the reason (`idp_error.rs`); Salesforce's page wording and status code are
//!   not published (assumption: 200, like its other error pages).
//! - Without a signed-in user (no `/__sim/saml/session`), Salesforce would show its login page
//!   and continue after the user signs in; the simulator shows a login page and stops there.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::metadata_types::esc;
use crate::saml::idp_error::IdpError;

fn html(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        body,
    )
        .into_response()
}

/// The auto-submitting form that carries `response` (XML) to `acs_url`.
pub fn post_form(acs_url: &str, response: &str, relay_state: Option<&str>) -> Response {
    let relay = relay_state
        .map(|r| {
            format!(
                r#"<input type="hidden" name="RelayState" value="{}"/>"#,
                esc(r)
            )
        })
        .unwrap_or_default();
    html(format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"/><title>Working...</title></head>",
            "<body onload=\"document.forms[0].submit()\">",
            "<form method=\"post\" action=\"{acs}\">",
            "<input type=\"hidden\" name=\"SAMLResponse\" value=\"{response}\"/>{relay}",
            "<noscript><p>Your browser does not run scripts: press Continue.</p>",
            "<input type=\"submit\" value=\"Continue\"/></noscript></form></body></html>\n"
        ),
        acs = esc(acs_url),
        response = B64.encode(response.as_bytes()),
        relay = relay,
    ))
}

/// The error page for `error`.
pub fn error_page(error: IdpError) -> Response {
    html(format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"/><title>Error</title></head>",
            "<body><h1>Error</h1><p>Error: {}</p></body></html>\n"
        ),
        esc(error.message)
    ))
}

/// The login page shown when nobody is signed in.
pub fn login_page(my_domain: &str) -> Response {
    html(format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"/><title>Login | Salesforce</title>",
            "</head><body><form method=\"post\" action=\"https://{}/\">",
            "<input type=\"text\" name=\"username\"/><input type=\"password\" name=\"pw\"/>",
            "<input type=\"submit\" value=\"Log In\"/></form></body></html>\n"
        ),
        esc(my_domain)
    ))
}
