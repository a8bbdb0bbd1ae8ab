//! The CRUD calls (salesforce-api.md §5.2–5.4): `readMetadata`, `deleteMetadata` and
//! `createMetadata` / `updateMetadata` / `upsertMetadata`, at most 10 components or names per
//! call, one type per call, with `AllOrNoneHeader`.
//!
//! Strictness: a component that does not deserialize against the WSDL fails the whole call
//! (`soapenv:Client`); semantic problems are per-component errors.

use roxmltree::Node;

use crate::eca::kind::Kind;
use crate::metadata_types::{self as mt, Deser, Elem, MD_NS, XSI_NS, from_xml, render};
use crate::realism::CreationBlocked;
use crate::soap::connected_apps::save_app;
use crate::soap::envelope::{
    Ctx, MAX_COMPONENTS, client_fault, fault, invalid_here, ok_envelope, required, too_many,
    unsupported_type,
};
use crate::soap::idp_settings::save_idp;
use crate::soap::records::{def_for, record_for};
use crate::soap::results::{self, ItemResult, Mode, backup, err, not_found, roll_back_if_needed};
use crate::state::State;
use crate::xml;
use axum::response::Response;

/// Strictly read `<type>` + `<fullNames>*` (readMetadata, deleteMetadata).
fn type_and_names(op: Node) -> Result<(String, Vec<String>), Box<Response>> {
    let mut ty = None;
    let mut names = Vec::new();
    for c in xml::elements(op) {
        match (c.tag_name().namespace().unwrap_or(""), c.tag_name().name()) {
            (MD_NS, "type") if ty.is_none() => ty = Some(xml::text(c)),
            (MD_NS, "fullNames") => names.push(xml::text(c)),
            _ => return Err(Box::new(invalid_here(c))),
        }
    }
    let ty = ty.ok_or_else(|| Box::new(required("type")))?;
    if names.len() > MAX_COMPONENTS {
        return Err(Box::new(too_many()));
    }
    Ok((ty, names))
}

/// The type and names of a read or delete, recorded in `ctx`; Err when the call fails whole.
fn read_or_delete_target(op: Node, ctx: &mut Ctx) -> Result<(String, Vec<String>), Box<Response>> {
    let (ty, names) = type_and_names(op)?;
    ctx.metadata_type = Some(ty.clone());
    ctx.full_names = names.clone();
    if def_for(&ty, ctx.version).is_none() {
        return Err(Box::new(unsupported_type(&ty)));
    }
    Ok((ty, names))
}

pub fn read_metadata(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let (ty, names) = match read_or_delete_target(op, ctx) {
        Ok(v) => v,
        Err(r) => return *r,
    };
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

fn delete_one(st: &mut State, ty: &str, name: &str) -> ItemResult<()> {
    let existed = match ty {
        other if Kind::from_type(other).is_some() => {
            let k = Kind::from_type(other).unwrap_or(Kind::App);
            st.eca_key(k, name)
                .is_some_and(|key| st.eca.delete(k, &key))
        }
        "ConnectedApp" => st
            .app_key(name)
            .is_some_and(|key| st.apps.remove(&key).is_some()),
        "IdentityProviderSettings" => {
            return Err(vec![err(
                None,
                "Settings can't be deleted; update enableIdentityProvider instead",
                "INVALID_OPERATION",
            )]);
        }
        _ => {
            return Err(vec![err(
                None,
                "Certificates can't be deleted through the CRUD Metadata API in this org",
                "INVALID_OPERATION",
            )]);
        }
    };
    if existed {
        Ok(())
    } else {
        Err(vec![not_found(ty, name)])
    }
}

pub fn delete_metadata(st: &mut State, op: Node, ctx: &mut Ctx, all_or_none: bool) -> Response {
    let (ty, names) = match read_or_delete_target(op, ctx) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let backup = backup(st);
    let mut results: Vec<(String, ItemResult<()>)> = names
        .iter()
        .map(|name| (name.clone(), delete_one(st, &ty, name)))
        .collect();
    roll_back_if_needed(st, backup, all_or_none, &mut results);
    ok_envelope(&results::render("deleteMetadataResponse", &results, |_| {
        None
    }))
}

/// Deserializes one `<metadata xsi:type="...">` component: (type, fields); Err when the call
/// fails whole.
fn component(c: Node, ctx: &mut Ctx) -> Result<(String, Vec<Elem>), Box<Response>> {
    let ns = c.tag_name().namespace().unwrap_or("");
    if ns != MD_NS || c.tag_name().name() != "metadata" {
        return Err(Box::new(invalid_here(c)));
    }
    let Some(xsi_type) = c.attribute((XSI_NS, "type")) else {
        return Err(Box::new(client_fault(
            "Unable to create an instance of the abstract type {http://soap.sforce.com/2006/04/metadata}Metadata: xsi:type is missing",
        )));
    };
    let (prefix, local) = match xsi_type.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, xsi_type),
    };
    let type_ns = c.lookup_namespace_uri(prefix).unwrap_or("");
    if type_ns != MD_NS {
        return Err(Box::new(client_fault(&format!(
            "Unable to find type {{{type_ns}}}{local}"
        ))));
    }
    let Some(def) = def_for(local, ctx.version) else {
        ctx.metadata_type = Some(local.to_owned());
        return Err(Box::new(unsupported_type(local)));
    };
    match from_xml(c, def) {
        Ok(fields) => Ok((local.to_owned(), fields)),
        Err(Deser(msg)) => {
            ctx.metadata_type = Some(local.to_owned());
            Err(Box::new(client_fault(&msg)))
        }
    }
}

/// Every component of a write, deserialized first (a deserialization error fails the whole
/// call), recorded in `ctx`.
fn components(op: Node, ctx: &mut Ctx) -> Result<Vec<(String, Vec<Elem>)>, Box<Response>> {
    let items = xml::elements(op)
        .map(|c| component(c, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.metadata_type = items.first().map(|(t, _)| t.clone());
    ctx.full_names = items
        .iter()
        .map(|(_, f)| mt::text(f, "fullName").unwrap_or("").to_owned())
        .collect();
    if items.len() > MAX_COMPONENTS {
        return Err(Box::new(too_many()));
    }
    if items
        .iter()
        .any(|(t, _)| Some(t) != ctx.metadata_type.as_ref())
    {
        return Err(Box::new(client_fault(
            "All metadata components in one call must be of the same type",
        )));
    }
    Ok(items)
}

fn save_one(st: &mut State, mode: Mode, ty: &str, fields: Vec<Elem>) -> ItemResult<bool> {
    match ty {
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
    }
}

/// The creation block as a fault for the whole call (reality variant `creationBlocked: fault`):
/// when a connected app of this call would be created in an org that blocks creation.
fn creation_blocked_fault(
    st: &State,
    mode: Mode,
    items: &[(String, Vec<Elem>)],
) -> Option<Response> {
    if st.realism.creation_blocked != CreationBlocked::Fault
        || st.policy.connected_app_creation_allowed
        || mode == Mode::Update
    {
        return None;
    }
    let creates = items.iter().any(|(ty, f)| {
        ty == "ConnectedApp" && st.app_key(mt::text(f, "fullName").unwrap_or("")).is_none()
    });
    creates.then(|| {
        fault(
            &format!("sf:{}", st.policy.creation_blocked_status_code),
            &st.policy.creation_blocked_message,
        )
    })
}

/// `createMetadata`, `updateMetadata`, `upsertMetadata`.
pub fn save(st: &mut State, op: Node, ctx: &mut Ctx, mode: Mode, all_or_none: bool) -> Response {
    let items = match components(op, ctx) {
        Ok(items) => items,
        Err(r) => return *r,
    };
    if let Some(r) = creation_blocked_fault(st, mode, &items) {
        return r;
    }
    let backup = backup(st);
    let backup_idp = (st.idp_enabled, st.idp_certificate.clone());
    let mut results: Vec<(String, ItemResult<bool>)> = Vec::new();
    for (ty, fields) in items {
        let name = mt::text(&fields, "fullName").unwrap_or("").to_owned();
        results.push((name, save_one(st, mode, &ty, fields)));
    }
    if all_or_none && results.iter().any(|(_, r)| r.is_err()) {
        st.idp_enabled = backup_idp.0;
        st.idp_certificate = backup_idp.1;
    }
    roll_back_if_needed(st, backup, all_or_none, &mut results);
    let created = |r: &ItemResult<bool>| (mode == Mode::Upsert).then_some(matches!(r, Ok(true)));
    ok_envelope(&results::render(mode.response_tag(), &results, created))
}
