//! The Metadata API SOAP endpoint: `POST /services/Soap/m/{version}[/{orgId}]`.
//!
//! Parsing is namespace-aware and prefix-agnostic (jsforce's default-namespace Header/Body,
//! zeep/simple-salesforce's prefixed elements, `xsi:type="ConnectedApp"` or
//! `xsi:type="met:ConnectedApp"` all resolve to the same QNames). DTDs are refused, the
//! node count and nesting depth are capped, and the body size is capped by the router.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roxmltree::{Document, Node, ParsingOptions};

use super::Shared;
use super::eca::{self, EcaStore, Kind};
use super::metadata_types::{
    self as mt, ComplexDef, Deser, Elem, MD_NS, XSI_NS, esc, from_xml, missing_required, render,
};
use super::org::{CallRecord, State, StoredApp};
use super::wsdl_types::{CERTIFICATE, CONNECTED_APP, IDENTITY_PROVIDER_SETTINGS};

pub const SOAPENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Components (or names) per CRUD call.
pub const MAX_COMPONENTS: usize = 10;
const MAX_DEPTH: usize = 48;
pub const NODES_LIMIT: u32 = 100_000;
/// Lowest and highest API versions the org answers.
pub const MIN_VERSION: u32 = 31;
pub const MAX_VERSION: u32 = 66;

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

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn ok_envelope(inner: &str) -> Response {
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

pub const INVALID_SESSION_MSG: &str = "Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session hash: \nThis error usually occurs after a session expires or a user logs out.";

/// Parse XML with the simulator's hardening.
pub fn parse_xml(text: &str) -> Result<Document<'_>, String> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| e.to_string())?;
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        for c in node.children().filter(|c| c.is_element()) {
            stack.push((c, depth + 1));
        }
    }
    Ok(doc)
}

/// The operation name of a SOAP request (for fault matching and the call log).
pub fn operation_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let doc = parse_xml(text).ok()?;
    let b = soap_body(&doc)?;
    b.children()
        .find(|c| c.is_element())
        .map(|c| c.tag_name().name().to_owned())
}

fn soap_body<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    doc.root_element().children().find(|c| {
        c.is_element()
            && c.tag_name().namespace() == Some(SOAPENV_NS)
            && c.tag_name().name() == "Body"
    })
}

fn md_child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| {
        c.is_element() && c.tag_name().namespace() == Some(MD_NS) && c.tag_name().name() == name
    })
}

fn node_text(n: Node) -> String {
    n.children()
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A per-component error (`Error` in the WSDL).
#[derive(Debug, Clone)]
pub struct ItemError {
    pub fields: Vec<String>,
    pub message: String,
    pub status_code: String,
}

fn err(field: Option<&str>, message: impl Into<String>, code: &str) -> ItemError {
    ItemError {
        fields: field.map(|f| vec![f.to_owned()]).unwrap_or_default(),
        message: message.into(),
        status_code: code.to_owned(),
    }
}

fn render_errors(errors: &[ItemError], out: &mut String) {
    for e in errors {
        out.push_str("<errors>");
        for f in &e.fields {
            out.push_str(&format!("<fields>{}</fields>", esc(f)));
        }
        out.push_str(&format!(
            "<message>{}</message><statusCode>{}</statusCode></errors>",
            esc(&e.message),
            esc(&e.status_code)
        ));
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Create,
    Update,
    Upsert,
}

/// The WSDL table of a type the org knows at this API version (major).
fn def_for(ty: &str, version: u32) -> Option<&'static ComplexDef> {
    match ty {
        "ConnectedApp" => Some(&CONNECTED_APP),
        "IdentityProviderSettings" => Some(&IDENTITY_PROVIDER_SETTINGS),
        "Certificate" => Some(&CERTIFICATE),
        other => Kind::from_type(other)
            .filter(|k| k.available(version))
            .map(|k| k.info().def),
    }
}

fn unsupported_type(ty: &str) -> Response {
    fault(
        "sf:INVALID_TYPE",
        &format!("This type of metadata is not available for this organization: {ty}"),
    )
}

struct Ctx {
    version: u32,
    operation: String,
    metadata_type: Option<String>,
    full_names: Vec<String>,
}

/// `POST /services/Soap/m/{version}` and `/services/Soap/m/{version}/{orgId}`.
pub async fn handle(
    AxState(sim): AxState<Shared>,
    Path(params): Path<BTreeMap<String, String>>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut ctx = Ctx {
        version: 0,
        operation: "unknown".into(),
        metadata_type: None,
        full_names: Vec::new(),
    };
    {
        let mut st = sim.state.lock().unwrap_or_else(|p| p.into_inner());
        let resp = handle_locked(&mut st, &params, &body, &mut ctx);
        let fault_code = if resp.status() == StatusCode::OK {
            None
        } else {
            Some("fault".to_owned())
        };
        st.record(CallRecord {
            seq: 0,
            operation: ctx.operation.clone(),
            metadata_type: ctx.metadata_type.clone(),
            full_names: ctx.full_names.clone(),
            status: resp.status().as_u16(),
            fault: fault_code,
            injected: None,
        });
        resp
    }
}

fn handle_locked(
    st: &mut State,
    params: &BTreeMap<String, String>,
    body: &[u8],
    ctx: &mut Ctx,
) -> Response {
    let version = params.get("version").map(String::as_str).unwrap_or("");
    let Some(major) = version
        .strip_suffix(".0")
        .and_then(|m| m.parse::<u32>().ok())
    else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if !(MIN_VERSION..=MAX_VERSION).contains(&major) {
        return fault(
            "sf:UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    }
    ctx.version = major;
    let Ok(text) = std::str::from_utf8(body) else {
        return fault("soapenv:Client", "Invalid UTF-8 in request");
    };
    let doc = match parse_xml(text) {
        Ok(d) => d,
        Err(e) => return fault("soapenv:Client", &format!("Unable to parse request: {e}")),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" || root.tag_name().namespace() != Some(SOAPENV_NS) {
        if root.tag_name().namespace() == Some(SOAP12_NS) {
            return fault(
                "soapenv:VersionMismatch",
                "Wrong SOAP version: only SOAP 1.1 is supported",
            );
        }
        return fault("soapenv:Client", "Expected a SOAP 1.1 Envelope");
    }
    let Some(body_node) = soap_body(&doc) else {
        return fault("soapenv:Client", "Missing SOAP Body");
    };
    let Some(op) = body_node.children().find(|c| c.is_element()) else {
        return fault("soapenv:Client", "Empty SOAP Body");
    };
    ctx.operation = op.tag_name().name().to_owned();

    // Session.
    let header = root.children().find(|c| {
        c.is_element()
            && c.tag_name().namespace() == Some(SOAPENV_NS)
            && c.tag_name().name() == "Header"
    });
    let session = header
        .and_then(|h| md_child(h, "SessionHeader"))
        .and_then(|s| md_child(s, "sessionId"))
        .map(node_text);
    let all_or_none = header
        .and_then(|h| md_child(h, "AllOrNoneHeader"))
        .and_then(|a| md_child(a, "allOrNone"))
        .map(node_text)
        .is_some_and(|v| v == "true" || v == "1");
    let valid = session.as_deref().and_then(|s| st.check_session(s));
    if valid.is_none() {
        return fault("sf:INVALID_SESSION_ID", INVALID_SESSION_MSG);
    }
    if !st.count_api_call() {
        return fault("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    if op.tag_name().namespace() != Some(MD_NS) {
        return fault(
            "soapenv:Client",
            &format!(
                "No operation available for request {{{}}}{}",
                op.tag_name().namespace().unwrap_or(""),
                op.tag_name().name()
            ),
        );
    }
    match op.tag_name().name() {
        "readMetadata" => read_metadata(st, op, ctx),
        "deleteMetadata" => delete_metadata(st, op, ctx, all_or_none),
        "createMetadata" => save(st, op, ctx, Mode::Create, all_or_none),
        "updateMetadata" => save(st, op, ctx, Mode::Update, all_or_none),
        "upsertMetadata" => save(st, op, ctx, Mode::Upsert, all_or_none),
        "listMetadata" => list_metadata(st, op, ctx),
        "deploy" => deploy(st, op, ctx),
        "checkDeployStatus" => check_deploy_status(st, op, ctx),
        other => fault(
            "soapenv:Client",
            &format!("No operation available for request {{{MD_NS}}}{other}"),
        ),
    }
}

/// Strictly read `<type>` + `<fullNames>*` (readMetadata, deleteMetadata).
fn type_and_names(op: Node) -> Result<(String, Vec<String>), Box<Response>> {
    let mut ty = None;
    let mut names = Vec::new();
    for c in op.children().filter(|c| c.is_element()) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match (ns, c.tag_name().name()) {
            (MD_NS, "type") if ty.is_none() => ty = Some(node_text(c)),
            (MD_NS, "fullNames") => names.push(node_text(c)),
            (ns, name) => {
                return Err(Box::new(fault(
                    "soapenv:Client",
                    &format!("Element {{{ns}}}{name} invalid at this location"),
                )));
            }
        }
    }
    let Some(ty) = ty else {
        return Err(Box::new(fault(
            "soapenv:Client",
            &format!("Element {{{MD_NS}}}type is required"),
        )));
    };
    if names.len() > MAX_COMPONENTS {
        return Err(Box::new(too_many()));
    }
    Ok((ty, names))
}

fn too_many() -> Response {
    fault(
        "sf:EXCEEDED_ID_LIMIT",
        &format!(
            "record limit reached. cannot submit more than {MAX_COMPONENTS} records into this call"
        ),
    )
}

fn fmt_datetime(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn read_metadata(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let (ty, names) = match type_and_names(op) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    ctx.metadata_type = Some(ty.clone());
    ctx.full_names = names.clone();
    if def_for(&ty, ctx.version).is_none() {
        return unsupported_type(&ty);
    }
    let mut out = String::from("<readMetadataResponse><result>");
    for name in &names {
        match record_for(st, &ty, name) {
            Some(fields) => {
                out.push_str(&format!(r#"<records xsi:type="{ty}">"#));
                render(&fields, &mut out);
                out.push_str("</records>");
            }
            None => out.push_str(r#"<records xsi:nil="true"/>"#),
        }
    }
    out.push_str("</result></readMetadataResponse>");
    ok_envelope(&out)
}

fn leaf(name: &str, text: impl Into<String>) -> Elem {
    Elem {
        name: name.to_owned(),
        text: text.into(),
        children: Vec::new(),
    }
}

/// The stored component as WSDL-ordered elements, or None when absent.
pub fn record_for(st: &State, ty: &str, name: &str) -> Option<Vec<Elem>> {
    use base64::Engine as _;
    match ty {
        "ConnectedApp" => st.apps.get(name).map(|a| a.fields.clone()),
        "IdentityProviderSettings" if name == "IdentityProvider" => {
            let mut v = vec![leaf("fullName", "IdentityProvider")];
            if let Some(c) = &st.idp_certificate {
                v.push(leaf("certificateName", c.clone()));
            }
            v.push(leaf("enableIdentityProvider", st.idp_enabled.to_string()));
            Some(v)
        }
        "Certificate" => st.certificates.get(name).map(|c| {
            vec![
                leaf("fullName", c.name.clone()),
                leaf(
                    "content",
                    base64::engine::general_purpose::STANDARD.encode(c.pem.as_bytes()),
                ),
                leaf("caSigned", "false"),
                leaf("encryptedWithPlatformEncryption", "false"),
                leaf("expirationDate", fmt_datetime(c.not_after)),
                leaf("keySize", c.key_size.to_string()),
                leaf("masterLabel", c.master_label.clone()),
                leaf("privateKeyExportable", "true"),
            ]
        }),
        other => {
            let k = Kind::from_type(other)?;
            st.eca.map(k).get(name).map(|c| c.fields.clone())
        }
    }
}

fn delete_metadata(st: &mut State, op: Node, ctx: &mut Ctx, all_or_none: bool) -> Response {
    let (ty, names) = match type_and_names(op) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    ctx.metadata_type = Some(ty.clone());
    ctx.full_names = names.clone();
    if def_for(&ty, ctx.version).is_none() {
        return unsupported_type(&ty);
    }
    let backup = (st.apps.clone(), st.eca.clone());
    let mut results: Vec<(String, Result<(), Vec<ItemError>>)> = Vec::new();
    for name in &names {
        let r = match ty.as_str() {
            other if Kind::from_type(other).is_some() => {
                let k = Kind::from_type(other).unwrap_or(Kind::App);
                if st.eca.delete(k, name) {
                    Ok(())
                } else {
                    Err(vec![not_found(&ty, name)])
                }
            }
            "ConnectedApp" => {
                if st.apps.remove(name).is_some() {
                    Ok(())
                } else {
                    Err(vec![not_found(&ty, name)])
                }
            }
            "IdentityProviderSettings" => Err(vec![err(
                None,
                "Settings can't be deleted; update enableIdentityProvider instead",
                "INVALID_OPERATION",
            )]),
            _ => Err(vec![err(
                None,
                "Certificates can't be deleted through the CRUD Metadata API in this org",
                "INVALID_OPERATION",
            )]),
        };
        results.push((name.clone(), r));
    }
    roll_back_if_needed(st, backup, all_or_none, &mut results);
    let mut out = String::from("<deleteMetadataResponse>");
    for (name, r) in &results {
        out.push_str("<result>");
        if let Err(e) = r {
            render_errors(e, &mut out);
        }
        out.push_str(&format!(
            "<fullName>{}</fullName><success>{}</success></result>",
            esc(name),
            r.is_ok()
        ));
    }
    out.push_str("</deleteMetadataResponse>");
    ok_envelope(&out)
}

fn not_found(ty: &str, name: &str) -> ItemError {
    err(
        Some("fullName"),
        format!("In field: fullName - no {ty} named {name} found"),
        "INVALID_CROSS_REFERENCE_KEY",
    )
}

fn roll_back_if_needed<T>(
    st: &mut State,
    backup: (BTreeMap<String, StoredApp>, EcaStore),
    all_or_none: bool,
    results: &mut [(String, Result<T, Vec<ItemError>>)],
) {
    if !all_or_none || results.iter().all(|(_, r)| r.is_ok()) {
        return;
    }
    st.apps = backup.0;
    st.eca = backup.1;
    for (_, r) in results.iter_mut() {
        if r.is_ok() {
            *r = Err(vec![err(
                None,
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            )]);
        }
    }
}

fn save(st: &mut State, op: Node, ctx: &mut Ctx, mode: Mode, all_or_none: bool) -> Response {
    // Deserialize every component first: a deserialization error fails the whole call.
    let mut items: Vec<(String, Vec<Elem>)> = Vec::new();
    for c in op.children() {
        if c.is_text() {
            continue;
        }
        if !c.is_element() {
            continue;
        }
        let ns = c.tag_name().namespace().unwrap_or("");
        if ns != MD_NS || c.tag_name().name() != "metadata" {
            return fault(
                "soapenv:Client",
                &format!(
                    "Element {{{ns}}}{} invalid at this location",
                    c.tag_name().name()
                ),
            );
        }
        let Some(xsi_type) = c.attribute((XSI_NS, "type")) else {
            return fault(
                "soapenv:Client",
                "Unable to create an instance of the abstract type {http://soap.sforce.com/2006/04/metadata}Metadata: xsi:type is missing",
            );
        };
        let (prefix, local) = match xsi_type.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, xsi_type),
        };
        let type_ns = c.lookup_namespace_uri(prefix).unwrap_or("");
        if type_ns != MD_NS {
            return fault(
                "soapenv:Client",
                &format!("Unable to find type {{{type_ns}}}{local}"),
            );
        }
        items.push((local.to_owned(), Vec::new()));
        let Some(def) = def_for(local, ctx.version) else {
            ctx.metadata_type = Some(local.to_owned());
            return unsupported_type(local);
        };
        match from_xml(c, def) {
            Ok(fields) => {
                if let Some(last) = items.last_mut() {
                    last.1 = fields;
                }
            }
            Err(Deser(msg)) => {
                ctx.metadata_type = Some(local.to_owned());
                return fault("soapenv:Client", &msg);
            }
        }
    }
    ctx.metadata_type = items.first().map(|(t, _)| t.clone());
    ctx.full_names = items
        .iter()
        .map(|(_, f)| mt::text(f, "fullName").unwrap_or("").to_owned())
        .collect();
    if items.len() > MAX_COMPONENTS {
        return too_many();
    }
    if items
        .iter()
        .any(|(t, _)| Some(t) != ctx.metadata_type.as_ref())
    {
        return fault(
            "soapenv:Client",
            "All metadata components in one call must be of the same type",
        );
    }
    let backup = (st.apps.clone(), st.eca.clone());
    let backup_idp = (st.idp_enabled, st.idp_certificate.clone());
    let mut results: Vec<(String, Result<bool, Vec<ItemError>>)> = Vec::new();
    for (ty, fields) in items {
        let name = mt::text(&fields, "fullName").unwrap_or("").to_owned();
        let r = match ty.as_str() {
            "ConnectedApp" => save_app(st, mode, fields),
            "IdentityProviderSettings" => save_idp(st, mode, &fields),
            other if Kind::from_type(other).is_some() => Err(vec![err(
                None,
                format!(
                    "{other} components can only be created or changed with deploy() (file-based Metadata API); use deploy with a package.xml"
                ),
                "INVALID_OPERATION",
            )]),
            _ => Err(vec![err(
                None,
                "Certificates can't be created or changed through the CRUD Metadata API in this org",
                "INVALID_OPERATION",
            )]),
        };
        results.push((name, r));
    }
    if all_or_none && results.iter().any(|(_, r)| r.is_err()) {
        st.idp_enabled = backup_idp.0;
        st.idp_certificate = backup_idp.1;
    }
    roll_back_if_needed(st, backup, all_or_none, &mut results);
    let tag = match mode {
        Mode::Create => "createMetadataResponse",
        Mode::Update => "updateMetadataResponse",
        Mode::Upsert => "upsertMetadataResponse",
    };
    let mut out = format!("<{tag}>");
    for (name, r) in &results {
        out.push_str("<result>");
        if mode == Mode::Upsert {
            out.push_str(&format!("<created>{}</created>", matches!(r, Ok(true))));
        }
        if let Err(e) = r {
            render_errors(e, &mut out);
        }
        out.push_str(&format!(
            "<fullName>{}</fullName><success>{}</success></result>",
            esc(name),
            r.is_ok()
        ));
    }
    out.push_str(&format!("</{tag}>"));
    ok_envelope(&out)
}

fn valid_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
        && name.len() <= 80
}

/// Semantic checks shared by writes and `/__sim/mutate`.
pub fn check_app(st: &State, fields: &[Elem]) -> Vec<ItemError> {
    let mut errors = Vec::new();
    for path in missing_required(fields, &CONNECTED_APP, "") {
        let leaf_name = path.rsplit('.').next().unwrap_or(&path).to_owned();
        errors.push(err(
            Some(&path),
            format!("Required field is missing: {leaf_name}"),
            "REQUIRED_FIELD_MISSING",
        ));
    }
    for p in mt::texts(fields, "profileName") {
        if !st.profiles.contains(p) {
            errors.push(err(
                Some("profileName"),
                format!("In field: profileName - no Profile named {p} found"),
                "INVALID_CROSS_REFERENCE_KEY",
            ));
        }
    }
    for p in mt::texts(fields, "permissionSetName") {
        if !st.permission_sets.contains(p) {
            errors.push(err(
                Some("permissionSetName"),
                format!("In field: permissionSetName - no PermissionSet named {p} found"),
                "INVALID_CROSS_REFERENCE_KEY",
            ));
        }
    }
    if let Some(saml) = mt::child(fields, "samlConfig")
        && mt::text(saml, "samlSubjectType") == Some("CustomAttribute")
        && mt::text(saml, "samlSubjectCustomAttr").is_none_or(str::is_empty)
    {
        errors.push(err(
            Some("samlConfig.samlSubjectCustomAttr"),
            "Subject Custom Attribute is required when the Subject Type is Custom Attribute",
            "FIELD_INTEGRITY_EXCEPTION",
        ));
    }
    errors
}

fn save_app(st: &mut State, mode: Mode, fields: Vec<Elem>) -> Result<bool, Vec<ItemError>> {
    let Some(name) = mt::text(&fields, "fullName").map(str::to_owned) else {
        return Err(vec![err(
            Some("fullName"),
            "Required field is missing: fullName",
            "REQUIRED_FIELD_MISSING",
        )]);
    };
    if !valid_api_name(&name) {
        return Err(vec![err(
            Some("fullName"),
            "The API Name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.",
            "FIELD_INTEGRITY_EXCEPTION",
        )]);
    }
    let exists = st.apps.contains_key(&name);
    match (mode, exists) {
        (Mode::Create, true) => {
            return Err(vec![err(
                Some("fullName"),
                format!("A ConnectedApp named {name} already exists"),
                "DUPLICATE_DEVELOPER_NAME",
            )]);
        }
        (Mode::Update, false) => return Err(vec![not_found("ConnectedApp", &name)]),
        _ => {}
    }
    if !exists && !st.policy.connected_app_creation_allowed {
        return Err(vec![err(
            None,
            st.policy.creation_blocked_message.clone(),
            &st.policy.creation_blocked_status_code.clone(),
        )]);
    }
    let errors = check_app(st, &fields);
    if !errors.is_empty() {
        return Err(errors);
    }
    let now = st.now();
    if let Some(app) = st.apps.get_mut(&name) {
        app.fields = fields;
        app.modified = now;
        Ok(false)
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
        Ok(true)
    }
}

fn save_idp(st: &mut State, mode: Mode, fields: &[Elem]) -> Result<bool, Vec<ItemError>> {
    let name = mt::text(fields, "fullName").unwrap_or("");
    if name != "IdentityProvider" {
        return Err(vec![not_found("IdentityProviderSettings", name)]);
    }
    if mode == Mode::Create {
        return Err(vec![err(
            Some("fullName"),
            "IdentityProviderSettings IdentityProvider already exists; use updateMetadata or upsertMetadata",
            "DUPLICATE_VALUE",
        )]);
    }
    let mut errors = Vec::new();
    for path in missing_required(fields, &IDENTITY_PROVIDER_SETTINGS, "") {
        errors.push(err(
            Some(&path),
            format!("Required field is missing: {path}"),
            "REQUIRED_FIELD_MISSING",
        ));
    }
    if let Some(c) = mt::text(fields, "certificateName")
        && !st.certificates.contains_key(c)
    {
        errors.push(err(
            Some("certificateName"),
            format!("In field: certificateName - no Certificate named {c} found"),
            "INVALID_CROSS_REFERENCE_KEY",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    st.idp_certificate = mt::text(fields, "certificateName").map(str::to_owned);
    st.idp_enabled = mt::text(fields, "enableIdentityProvider") == Some("true");
    Ok(false)
}

fn list_metadata(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let mut queries: Vec<String> = Vec::new();
    for c in op.children().filter(|c| c.is_element()) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match (ns, c.tag_name().name()) {
            (MD_NS, "queries") => {
                let mut ty = None;
                for q in c.children().filter(|q| q.is_element()) {
                    let qns = q.tag_name().namespace().unwrap_or("");
                    match (qns, q.tag_name().name()) {
                        (MD_NS, "type") if ty.is_none() => ty = Some(node_text(q)),
                        (MD_NS, "folder") => {}
                        (qns, n) => {
                            return fault(
                                "soapenv:Client",
                                &format!("Element {{{qns}}}{n} invalid at this location"),
                            );
                        }
                    }
                }
                let Some(ty) = ty else {
                    return fault(
                        "soapenv:Client",
                        &format!("Element {{{MD_NS}}}type is required"),
                    );
                };
                queries.push(ty);
            }
            (MD_NS, "asOfVersion") => {
                if node_text(c).parse::<f64>().is_err() {
                    return fault(
                        "soapenv:Client",
                        &format!("'{}' is not valid for the type xsd:double", node_text(c)),
                    );
                }
            }
            (ns, n) => {
                return fault(
                    "soapenv:Client",
                    &format!("Element {{{ns}}}{n} invalid at this location"),
                );
            }
        }
    }
    if queries.len() > 3 {
        return fault(
            "soapenv:Client",
            "listMetadata accepts at most 3 queries per call",
        );
    }
    ctx.metadata_type = queries.first().cloned();
    let user_id = st.users.first().map(|u| u.id.clone()).unwrap_or_default();
    let user_name = st
        .users
        .first()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let mut out = String::from("<listMetadataResponse>");
    let props = |out: &mut String,
                 ty: &str,
                 full_name: &str,
                 file: String,
                 id: &str,
                 created: jiff::Timestamp,
                 modified: jiff::Timestamp| {
        out.push_str(&format!(
            concat!(
                "<result><createdById>{uid}</createdById><createdByName>{uname}</createdByName>",
                "<createdDate>{cd}</createdDate><fileName>{file}</fileName>",
                "<fullName>{fname}</fullName><id>{id}</id>",
                "<lastModifiedById>{uid}</lastModifiedById><lastModifiedByName>{uname}</lastModifiedByName>",
                "<lastModifiedDate>{md}</lastModifiedDate><manageableState>unmanaged</manageableState>",
                "<type>{ty}</type></result>"
            ),
            uid = esc(&user_id),
            uname = esc(&user_name),
            cd = fmt_datetime(created),
            md = fmt_datetime(modified),
            file = esc(&file),
            fname = esc(full_name),
            id = esc(id),
            ty = esc(ty),
        ));
    };
    for ty in &queries {
        match ty.as_str() {
            "ConnectedApp" => {
                for (name, app) in &st.apps {
                    ctx.full_names.push(name.clone());
                    props(
                        &mut out,
                        "ConnectedApp",
                        name,
                        format!("connectedApps/{name}.connectedApp"),
                        &app.id,
                        app.created,
                        app.modified,
                    );
                }
            }
            "Certificate" => {
                for (name, c) in &st.certificates {
                    ctx.full_names.push(name.clone());
                    props(
                        &mut out,
                        "Certificate",
                        name,
                        format!("certs/{name}.crt"),
                        &c.id,
                        c.created,
                        c.created,
                    );
                }
            }
            other if Kind::from_type(other).is_some_and(|k| k.available(ctx.version)) => {
                let k = Kind::from_type(other).unwrap_or(Kind::App);
                for (name, c) in st.eca.map(k) {
                    ctx.full_names.push(name.clone());
                    props(
                        &mut out,
                        other,
                        name,
                        k.file_name(name),
                        &c.id,
                        c.created,
                        c.modified,
                    );
                }
            }
            "Settings" | "IdentityProviderSettings" => {
                ctx.full_names.push("IdentityProvider".into());
                let t = st.now();
                props(
                    &mut out,
                    "Settings",
                    "IdentityProvider",
                    "settings/IdentityProvider.settings".into(),
                    "",
                    t,
                    t,
                );
            }
            _ => {}
        }
    }
    out.push_str("</listMetadataResponse>");
    ok_envelope(&out)
}

/// `deploy(ZipFile, DeployOptions)`: reads the zip now, answers an `AsyncResult`, and applies
/// the package when a later `checkDeployStatus` finds it complete.
fn deploy(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    use base64::Engine as _;
    let mut zip_b64 = None;
    let mut options = eca::Options {
        check_only: false,
        rollback_on_error: true,
        ignore_warnings: false,
    };
    for c in op.children().filter(|c| c.is_element()) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match (ns, c.tag_name().name()) {
            (MD_NS, "ZipFile") if zip_b64.is_none() => zip_b64 = Some(node_text(c)),
            (MD_NS, "DeployOptions") => {
                let fields = match from_xml(c, &super::wsdl_types::DEPLOY_OPTIONS) {
                    Ok(f) => f,
                    Err(Deser(m)) => return fault("soapenv:Client", &m),
                };
                let flag = |n: &str| mt::text(&fields, n).map(|v| v == "true");
                options.check_only = flag("checkOnly").unwrap_or(false);
                options.rollback_on_error = flag("rollbackOnError").unwrap_or(true);
                options.ignore_warnings = flag("ignoreWarnings").unwrap_or(false);
            }
            (ns, n) => {
                return fault(
                    "soapenv:Client",
                    &format!("Element {{{ns}}}{n} invalid at this location"),
                );
            }
        }
    }
    let Some(b64) = zip_b64 else {
        return fault(
            "soapenv:Client",
            &format!("Element {{{MD_NS}}}ZipFile is required"),
        );
    };
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(clean.as_bytes()) else {
        return fault(
            "soapenv:Client",
            "The ZipFile value is not valid for the type xsd:base64Binary",
        );
    };
    let package = match eca::read_zip(&bytes, ctx.version) {
        Ok(p) => p,
        Err(m) => return fault("sf:INVALID_ZIP", &m),
    };
    ctx.full_names = package.names();
    // Injected one-component failures (`/__sim/faults` with `failComponent`).
    let mut injected = Vec::new();
    for rule in st.faults.iter_mut() {
        if let Some(name) = rule.fail_component.clone()
            && rule.count > 0
            && rule.operation.as_deref().is_none_or(|o| o == "deploy")
        {
            rule.count -= 1;
            let problem = rule
                .problem
                .clone()
                .unwrap_or_else(|| format!("Injected failure for {name}"));
            injected.push((name, problem));
        }
    }
    st.faults.retain(|r| r.count > 0);
    let id = st.new_id("0Af");
    let job = eca::DeployJob {
        id: id.clone(),
        created: st.now(),
        polls: 0,
        options,
        package,
        injected,
        outcome: None,
    };
    st.deploys.insert(id.clone(), job);
    ok_envelope(&format!(
        "<deployResponse><result><done>false</done><id>{}</id><state>Queued</state></result></deployResponse>",
        esc(&id)
    ))
}

/// `checkDeployStatus(asyncProcessId, includeDetails)`.
fn check_deploy_status(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let mut id = None;
    let mut include_details = false;
    for c in op.children().filter(|c| c.is_element()) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match (ns, c.tag_name().name()) {
            (MD_NS, "asyncProcessId") if id.is_none() => id = Some(node_text(c)),
            (MD_NS, "includeDetails") => {
                let v = node_text(c);
                if let Err(m) = mt::check_scalar(&mt::Ty::Bool, &v) {
                    return fault("soapenv:Client", &m);
                }
                include_details = v == "true" || v == "1";
            }
            (ns, n) => {
                return fault(
                    "soapenv:Client",
                    &format!("Element {{{ns}}}{n} invalid at this location"),
                );
            }
        }
    }
    let Some(id) = id else {
        return fault(
            "soapenv:Client",
            &format!("Element {{{MD_NS}}}asyncProcessId is required"),
        );
    };
    ctx.full_names = vec![id.clone()];
    let Some(mut job) = st.deploys.remove(&id) else {
        return fault(
            "sf:INVALID_CROSS_REFERENCE_KEY",
            &format!("invalid cross reference id: {id}"),
        );
    };
    job.polls += 1;
    if job.outcome.is_none() && job.polls > st.policy.deploy_polls_in_progress {
        job.outcome = Some(eca::complete(st, &job));
    }
    let body = format!(
        "<checkDeployStatusResponse>{}</checkDeployStatusResponse>",
        eca::render_result(st, &job, include_details)
    );
    st.deploys.insert(id, job);
    ok_envelope(&body)
}
