//! `POST /__sim/mutate`: change (or delete) a connected app, the IdP settings or an External
//! Client App component as an admin in Setup would: no API call is counted, but the change is
//! checked as a write of that component would be.

use axum::Json;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::connected_app::check_app;
use crate::control::reply::bad;
use crate::eca::check::{check_component, put};
use crate::eca::kind::Kind;
use crate::metadata_types::{self as mt, ComplexDef};
use crate::state::{Shared, State};
use crate::wsdl_types::CONNECTED_APP;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutateReq {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    delete: bool,
}

fn set_path(obj: &mut Map<String, Value>, path: &str, value: Option<Value>) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            match value {
                Some(v) => {
                    cur.insert(p.to_owned(), v);
                }
                None => {
                    cur.remove(p);
                }
            }
            return Ok(());
        }
        let next = cur
            .entry(p.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        cur = next
            .as_object_mut()
            .ok_or_else(|| format!("{p} is not an object"))?;
    }
    Err("empty path".into())
}

/// The answer to a delete of component `name` of type `ty`.
fn deleted(existed: bool, ty: &str, name: String) -> Response {
    if existed {
        Json(json!({"deleted": name})).into_response()
    } else {
        bad(format!("no {ty} named {name}"))
    }
}

/// The component's JSON after the request's edits: `value` replaces it (else it starts from
/// `current`), then the `set` and `unset` paths, with `fullName` forced to `name`.
fn edited(
    req: &MutateReq,
    ty: &str,
    name: &str,
    current: Option<Value>,
) -> Result<Value, Box<Response>> {
    let mut obj = match (&req.value, current) {
        (Some(Value::Object(v)), _) => v.clone(),
        (Some(_), _) => return Err(Box::new(bad("value must be an object"))),
        (None, Some(Value::Object(m))) => m,
        (None, Some(_)) => Map::new(),
        (None, None) => return Err(Box::new(bad(format!("no {ty} named {name}")))),
    };
    for (path, v) in &req.set {
        set_path(&mut obj, path, Some(v.clone())).map_err(|e| Box::new(bad(e)))?;
    }
    for path in &req.unset {
        set_path(&mut obj, path, None).map_err(|e| Box::new(bad(e)))?;
    }
    obj.insert("fullName".into(), Value::String(name.to_owned()));
    Ok(Value::Object(obj))
}

/// The edited component's fields, deserialized against `def`.
fn edited_fields(
    req: &MutateReq,
    ty: &str,
    name: &str,
    def: &'static ComplexDef,
    current: Option<&Vec<mt::Elem>>,
) -> Result<Vec<mt::Elem>, Box<Response>> {
    let value = edited(req, ty, name, current.map(|f| mt::to_json(f, def)))?;
    mt::from_json(&value, def).map_err(|e| Box::new(bad(e)))
}

pub async fn mutate(AxState(sim): AxState<Shared>, Json(req): Json<MutateReq>) -> Response {
    let mut st = sim.lock();
    let result = match req.ty.as_str() {
        "ConnectedApp" => mutate_app(&mut st, &req),
        "IdentityProviderSettings" => mutate_idp(&mut st, &req),
        other => match Kind::from_type(other) {
            Some(k) => mutate_eca(&mut st, k, &req),
            None => Err(Box::new(bad(format!(
                "mutate supports ConnectedApp, IdentityProviderSettings and the External Client App types, not {other}"
            )))),
        },
    };
    result.unwrap_or_else(|r| *r)
}

/// A connected app changed in Setup (checked like a SOAP write).
fn mutate_app(st: &mut State, req: &MutateReq) -> Result<Response, Box<Response>> {
    let name = req
        .full_name
        .clone()
        .ok_or_else(|| Box::new(bad("fullName is required")))?;
    if req.delete {
        return Ok(deleted(
            st.apps.remove(&name).is_some(),
            "ConnectedApp",
            name,
        ));
    }
    let current = st.apps.get(&name).map(|a| &a.fields);
    let fields = edited_fields(req, "ConnectedApp", &name, &CONNECTED_APP, current)?;
    let errors = check_app(st, &fields);
    if !errors.is_empty() {
        let msgs: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        return Err(Box::new(bad(msgs.join("; "))));
    }
    let json_out = mt::to_json(&fields, &CONNECTED_APP);
    st.put_app(&name, fields);
    Ok(Json(json_out).into_response())
}

/// The IdP switch and certificate changed in Setup.
fn mutate_idp(st: &mut State, req: &MutateReq) -> Result<Response, Box<Response>> {
    for (k, v) in &req.set {
        match (k.as_str(), v) {
            ("enableIdentityProvider", Value::Bool(b)) => st.idp_enabled = *b,
            ("certificateName", Value::String(c)) => {
                if !st.certificates.contains_key(c) {
                    return Err(Box::new(bad(format!("no Certificate named {c}"))));
                }
                st.idp_certificate = Some(c.clone());
            }
            _ => return Err(Box::new(bad(format!("cannot set {k} to {v}")))),
        }
    }
    if st.idp_enabled && st.idp_certificate.is_none() {
        return Err(Box::new(bad("enabling the IdP needs a certificateName")));
    }
    Ok(Json(json!({"enabled": st.idp_enabled, "certificate": st.idp_certificate})).into_response())
}

/// An ECA component changed in Setup (no deploy; checked as a deploy would check it).
fn mutate_eca(st: &mut State, k: Kind, req: &MutateReq) -> Result<Response, Box<Response>> {
    let name = req
        .full_name
        .clone()
        .ok_or_else(|| Box::new(bad("fullName is required")))?;
    let ty = k.info().name;
    if req.delete {
        return Ok(deleted(st.eca.delete(k, &name), ty, name));
    }
    let current = st.eca.map(k).get(&name).map(|c| &c.fields);
    let fields = edited_fields(req, ty, &name, k.info().def, current)?;
    let problems = check_component(st, &st.eca, k, &name, &fields);
    if !problems.is_empty() {
        return Err(Box::new(bad(problems.join("; "))));
    }
    let now = st.now();
    let org_id = st.org_id.clone();
    let mut store = std::mem::take(&mut st.eca);
    put(
        &mut store,
        k,
        &name,
        fields,
        || st.new_id(k.info().id_prefix),
        now,
        &org_id,
    );
    st.eca = store;
    let out = st
        .eca
        .map(k)
        .get(&name)
        .map(|c| mt::to_json(&c.fields, k.info().def))
        .unwrap_or(Value::Null);
    Ok(Json(out).into_response())
}
