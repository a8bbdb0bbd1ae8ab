//! IdP metadata: `GET /.well-known/samlidp.xml` and `GET /.well-known/samlidp/{app}.xml`.
//!
//! Shape and element order follow the real Salesforce sample (salesforce-api.md §4.2), with
//! `SingleLogoutService` placed where the SAML 2.0 metadata schema requires it (before
//! `NameIDFormat`).

use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::SignedDuration;

use crate::eca::kind::Kind;
use crate::metadata_types::{self as mt, esc};
use crate::realism::{EcaMetadata, MetadataValidUntil};
use crate::state::{CallRecord, Shared, State};
use crate::xml;

/// `validUntil` is this far ahead of "now" on the simulator clock (about 10 years, like the
/// real sample).
const VALID_FOR: SignedDuration = SignedDuration::from_hours(24 * 3652);

pub fn name_id_format_urn(token: &str) -> &'static str {
    match token {
        "EmailAddress" => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "Persistent" => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "Transient" => "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        _ => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    }
}

/// Build the metadata document; None → 404.
pub fn build(st: &State, app: Option<&str>) -> Option<String> {
    if !st.idp_enabled {
        return None;
    }
    let cert = st.certificates.get(st.idp_certificate.as_deref()?)?;
    let host = format!("https://{}", st.my_domain);
    let (entity_id, name_id, slo) = match app {
        None => (host.clone(), name_id_format_urn("Unspecified"), None),
        Some(name) => {
            // A connected app's `samlConfig`, else an External Client App's SAML policies
            // (element names differ, meaning is the same).
            let stored = st.app_key(name).and_then(|k| st.apps.get(&k));
            let (saml, [issuer_f, fmt_f, slo_f, binding_f]) = match stored {
                Some(stored) => (
                    mt::child(&stored.fields, "samlConfig")?,
                    [
                        "issuer",
                        "samlNameIdFormat",
                        "samlSloUrl",
                        "samlIdpSLOBindingEnum",
                    ],
                ),
                None => {
                    if st.realism.eca_metadata == EcaMetadata::NotFound {
                        return None;
                    }
                    let key = st.eca_key(Kind::App, name)?;
                    let (_, p) = st.eca.child_of(Kind::Saml, &key)?;
                    (
                        p.fields.as_slice(),
                        [
                            "issuer",
                            "nameIdFormat",
                            "singleLogoutUrl",
                            "singleLogoutBindingType",
                        ],
                    )
                }
            };
            let issuer = mt::text(saml, issuer_f)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| host.clone());
            let fmt = name_id_format_urn(mt::text(saml, fmt_f).unwrap_or(""));
            let slo = mt::text(saml, slo_f).filter(|s| !s.is_empty()).map(|_| {
                match mt::text(saml, binding_f) {
                    Some("PostBinding") => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                    _ => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                }
            });
            (issuer, fmt, slo)
        }
    };
    // Stamped per download to the millisecond (the default), or in whole days (a variant).
    let until = st.now() + VALID_FOR;
    let valid_until = xml::date_time(match st.realism.metadata_valid_until {
        MetadataValidUntil::PerDownload => until,
        MetadataValidUntil::WholeDays => {
            let s = until.as_second();
            jiff::Timestamp::from_second(s - s.rem_euclid(86_400)).unwrap_or(jiff::Timestamp::MAX)
        }
    });
    let cert_b64 = base64::engine::general_purpose::STANDARD.encode(&cert.der);
    let mut out = String::new();
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push('\n');
    out.push_str(&format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}" validUntil="{}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
        esc(&entity_id),
        valid_until
    ));
    out.push_str("\n   <md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">");
    out.push_str("\n      <md:KeyDescriptor use=\"signing\">\n         <ds:KeyInfo>\n            <ds:X509Data>\n               <ds:X509Certificate>");
    out.push_str(&cert_b64);
    out.push_str("</ds:X509Certificate>\n            </ds:X509Data>\n         </ds:KeyInfo>\n      </md:KeyDescriptor>");
    if let Some(binding) = slo {
        out.push_str(&format!(
            "\n      <md:SingleLogoutService Binding=\"{binding}\" Location=\"{host}/services/auth/idp/saml2/logout\"/>"
        ));
    }
    out.push_str(&format!(
        "\n      <md:NameIDFormat>{name_id}</md:NameIDFormat>"
    ));
    out.push_str(&format!(
        "\n      <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{host}/idp/endpoint/HttpPost\"/>"
    ));
    out.push_str(&format!(
        "\n      <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{host}/idp/endpoint/HttpRedirect\"/>"
    ));
    out.push_str("\n   </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n");
    Some(out)
}

fn respond(sim: &Shared, app: Option<&str>) -> Response {
    let mut st = sim.lock();
    let resp = match build(&st, app) {
        Some(xml) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml;charset=UTF-8")],
            xml,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
            "<html><body><h1>404 Not Found</h1></body></html>",
        )
            .into_response(),
    };
    let metadata_type = app.map(|a| {
        if st.apps.contains_key(a) || !st.eca.apps.contains_key(a) {
            "ConnectedApp".to_owned()
        } else {
            "ExternalClientApplication".to_owned()
        }
    });
    st.record(CallRecord {
        metadata_type,
        full_names: app.map(str::to_owned).into_iter().collect(),
        ..CallRecord::new("idpMetadata", resp.status().as_u16())
    });
    resp
}

pub async fn org_metadata(AxState(sim): AxState<Shared>) -> Response {
    respond(&sim, None)
}

pub async fn app_metadata(AxState(sim): AxState<Shared>, Path(file): Path<String>) -> Response {
    match file.strip_suffix(".xml") {
        Some(name) if !name.is_empty() => respond(&sim, Some(name)),
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
