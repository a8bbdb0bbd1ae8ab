//! The SOAP 1.1 envelope of the Metadata API (salesforce-api.md §5.1–5.3, §5.5): reading a
//! request's Body and headers, and rendering answers and faults.
//!
//! Parsing is namespace-aware and prefix-agnostic (jsforce's default-namespace Header/Body,
//! zeep/simple-salesforce's prefixed elements, `xsi:type="ConnectedApp"` or
//! `xsi:type="met:ConnectedApp"` all resolve to the same QNames).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use roxmltree::{Document, Node};

use crate::metadata_types::{MD_NS, XSI_NS, esc};
use crate::xml;

pub const SOAPENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Components (or names) per CRUD call.
pub const MAX_COMPONENTS: usize = 10;

pub const INVALID_SESSION_MSG: &str = "Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session hash: \nThis error usually occurs after a session expires or a user logs out.";

/// What one call did, for the call log.
pub struct Ctx {
    /// API version (major) of the URL.
    pub version: u32,
    pub operation: String,
    pub metadata_type: Option<String>,
    pub full_names: Vec<String>,
}

/// A SOAP fault response (HTTP 500). `sf:` codes get the `CODE: message` faultstring.
pub fn fault(code: &str, message: &str) -> Response {
    let faultstring = match code.strip_prefix("sf:") {
        Some(c) => format!("{c}: {message}"),
        None => message.to_owned(),
    };
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{env}" xmlns:sf="{md}">"#,
            "<soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode>",
            "<faultstring>{fs}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ),
        env = SOAPENV_NS,
        md = MD_NS,
        code = esc(code),
        fs = esc(&faultstring),
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

/// A `soapenv:Client` fault (the request is malformed).
pub fn client_fault(message: &str) -> Response {
    fault("soapenv:Client", message)
}

/// The client fault for an element the operation does not take.
pub fn invalid_here(node: Node) -> Response {
    let ns = node.tag_name().namespace().unwrap_or("");
    client_fault(&format!(
        "Element {{{ns}}}{} invalid at this location",
        node.tag_name().name()
    ))
}

/// The client fault for a required element that is absent.
pub fn required(name: &str) -> Response {
    client_fault(&format!("Element {{{MD_NS}}}{name} is required"))
}

/// More than [`MAX_COMPONENTS`] components or names in one call.
pub fn too_many() -> Response {
    fault(
        "sf:EXCEEDED_ID_LIMIT",
        &format!(
            "record limit reached. cannot submit more than {MAX_COMPONENTS} records into this call"
        ),
    )
}

/// A type the org does not know (at this API version).
pub fn unsupported_type(ty: &str) -> Response {
    fault(
        "sf:INVALID_TYPE",
        &format!("This type of metadata is not available for this organization: {ty}"),
    )
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A successful answer: `inner` in the Body, the Metadata namespace as the default one.
pub fn ok_envelope(inner: &str) -> Response {
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{env}" xmlns="{md}" xmlns:xsi="{xsi}">"#,
            "<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
        ),
        env = SOAPENV_NS,
        md = MD_NS,
        xsi = XSI_NS,
        inner = inner,
    );
    xml_response(StatusCode::OK, body)
}

/// The operation name of a SOAP request (for fault matching and the call log).
pub fn operation_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let doc = xml::parse(text).ok()?;
    let b = soap_body(&doc)?;
    xml::elements(b)
        .next()
        .map(|c| c.tag_name().name().to_owned())
}

/// The SOAP Body of an envelope.
pub fn soap_body<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    xml::child(doc.root_element(), SOAPENV_NS, "Body")
}

/// The text of `Header/<header>/<field>` (Metadata namespace), e.g. the session id.
pub fn header_value(root: Node, header: &str, field: &str) -> Option<String> {
    let h = xml::child(root, SOAPENV_NS, "Header")?;
    let f = xml::child(xml::child(h, MD_NS, header)?, MD_NS, field)?;
    Some(xml::text(f))
}
