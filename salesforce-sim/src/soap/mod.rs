//! The Metadata API SOAP endpoint: `POST /services/Soap/m/{version}[/{orgId}]`
//! (salesforce-api.md §5): the version in the URL, the envelope, the session, the daily API
//! allocation, then one operation per module.
//!
//! Modules: `envelope` (reading requests, rendering answers and faults), `results`
//! (per-component results, `AllOrNoneHeader`), `records` (the types the org knows, components as
//! read), `crud` (read/delete/create/update/upsert), `connected_apps` and `idp_settings` (writes
//! of one component of those types), `list` (`listMetadata`), `deploy` (`deploy`,
//! `checkDeployStatus`). DTDs are refused, node count and depth are capped (`xml.rs`), and the
//! body size is capped by the router.

pub mod connected_apps;
pub mod crud;
pub mod deploy;
pub mod envelope;
pub mod idp_settings;
pub mod list;
pub mod records;
pub mod results;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roxmltree::{Document, Node};

use crate::metadata_types::MD_NS;
use crate::state::{CallRecord, Shared, State};
use crate::{version, xml};
use envelope::{Ctx, INVALID_SESSION_MSG, SOAP12_NS, SOAPENV_NS, client_fault, fault};
use results::Mode;

/// `POST /services/Soap/m/{version}` and `/services/Soap/m/{version}/{orgId}`.
pub async fn handle(
    AxState(sim): AxState<Shared>,
    Path(params): Path<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut ctx = Ctx {
        version: 0,
        operation: "unknown".into(),
        metadata_type: None,
        full_names: Vec::new(),
    };
    let mut st = sim.lock();
    let resp = call(&mut st, &params, &body, &mut ctx);
    let status = resp.status();
    st.record(CallRecord {
        metadata_type: ctx.metadata_type,
        full_names: ctx.full_names,
        fault: (status != StatusCode::OK).then(|| "fault".to_owned()),
        ..CallRecord::new(ctx.operation, status.as_u16())
    });
    resp
}

/// The operation element of a SOAP 1.1 envelope; Err when the request is not one.
fn operation<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, Box<Response>> {
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" || root.tag_name().namespace() != Some(SOAPENV_NS) {
        if root.tag_name().namespace() == Some(SOAP12_NS) {
            return Err(Box::new(fault(
                "soapenv:VersionMismatch",
                "Wrong SOAP version: only SOAP 1.1 is supported",
            )));
        }
        return Err(Box::new(client_fault("Expected a SOAP 1.1 Envelope")));
    }
    let body =
        envelope::soap_body(doc).ok_or_else(|| Box::new(client_fault("Missing SOAP Body")))?;
    xml::elements(body)
        .next()
        .ok_or_else(|| Box::new(client_fault("Empty SOAP Body")))
}

fn call(st: &mut State, params: &BTreeMap<String, String>, body: &[u8], ctx: &mut Ctx) -> Response {
    let version = params.get("version").map(String::as_str).unwrap_or("");
    let Some(major) = version::major(version) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if !version::answered(major) {
        return fault(
            "sf:UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    }
    ctx.version = major;
    let Ok(text) = std::str::from_utf8(body) else {
        return client_fault("Invalid UTF-8 in request");
    };
    let doc = match xml::parse(text) {
        Ok(d) => d,
        Err(e) => return client_fault(&format!("Unable to parse request: {e}")),
    };
    let op = match operation(&doc) {
        Ok(op) => op,
        Err(r) => return *r,
    };
    ctx.operation = op.tag_name().name().to_owned();
    let root = doc.root_element();
    let session = envelope::header_value(root, "SessionHeader", "sessionId");
    let all_or_none = envelope::header_value(root, "AllOrNoneHeader", "allOrNone")
        .is_some_and(|v| v == "true" || v == "1");
    if session.and_then(|s| st.check_session(&s)).is_none() {
        return fault("sf:INVALID_SESSION_ID", INVALID_SESSION_MSG);
    }
    if !st.count_api_call() {
        return fault("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    let ns = op.tag_name().namespace();
    if ns != Some(MD_NS) {
        return client_fault(&format!(
            "No operation available for request {{{}}}{}",
            ns.unwrap_or(""),
            op.tag_name().name()
        ));
    }
    dispatch(st, op, ctx, all_or_none)
}

fn dispatch(st: &mut State, op: Node, ctx: &mut Ctx, all_or_none: bool) -> Response {
    match op.tag_name().name() {
        "readMetadata" => crud::read_metadata(st, op, ctx),
        "deleteMetadata" => crud::delete_metadata(st, op, ctx, all_or_none),
        "createMetadata" => crud::save(st, op, ctx, Mode::Create, all_or_none),
        "updateMetadata" => crud::save(st, op, ctx, Mode::Update, all_or_none),
        "upsertMetadata" => crud::save(st, op, ctx, Mode::Upsert, all_or_none),
        "listMetadata" => list::list_metadata(st, op, ctx),
        "deploy" => deploy::deploy(st, op, ctx),
        "checkDeployStatus" => deploy::check_deploy_status(st, op, ctx),
        other => client_fault(&format!(
            "No operation available for request {{{MD_NS}}}{other}"
        )),
    }
}
