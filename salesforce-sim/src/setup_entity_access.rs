//! `SetupEntityAccess` over REST: the access grants of connected apps and External Client Apps as
//! the records Salesforce keeps them in, read with SOQL and revoked with an sObject delete.
//!
//! Sources: the object reference (`SetupEntityAccess`: `create()`, `delete()`, `query()`;
//! `ParentId` → `PermissionSet`, `SetupEntityId`, `SetupEntityType` with `ConnectedApplication`
//! from API 28.0 and `ExternalClientApplication` from API 60.0; "View Setup and Configuration");
//! the REST API guide (`GET /services/data/vXX.X/query?q=`, `DELETE
//! /services/data/vXX.X/sobjects/<type>/<id>` → 204; errors `[{"message", "errorCode"}]`); the
//! field report of issue 15 (ECA grants are `SetupEntityAccess` rows). A profile grants through
//! the permission set it owns (`Parent.IsOwnedByProfile`, `Parent.Profile.Name`).
//!
//! The SOQL here is the minimum a client needs: `SELECT <fields> FROM SetupEntityAccess [WHERE
//! <field> = '<v>' | <field> IN ('<v>', ...) [AND ...]]`. Anything else is refused the way
//! Salesforce refuses it (`INVALID_TYPE`, `INVALID_FIELD`, `MALFORMED_QUERY`, HTTP 400). Record
//! ids of grants (`0J0`) and of profile-owned permission sets are derived from what they join, so
//! they are stable. The rows are made from the stored apps: a connected app's `profileName` /
//! `permissionSetName`, an ECA's SAML policies' `commaSeparatedProfile` /
//! `commaSeparatedPermissionSet`.

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::eca::access::{ACCESS_FIELDS, entries, revoke};
use crate::eca::kind::Kind;
use crate::limits::{rest_error, rest_guard};
use crate::metadata_types::{self as mt, Elem};
use crate::soql::{Query as Soql, parse};
use crate::state::{CallRecord, Shared, State, make_id};

/// One grant.
pub struct Grant {
    pub id: String,
    pub entity_id: String,
    pub entity_type: &'static str,
    /// The app's API name, and the access field the grant is listed in.
    pub app: String,
    pub field: &'static str,
    /// Profile name (profile-owned permission set) or permission set name.
    pub name: String,
    pub by_profile: bool,
}

fn derived_id(prefix: &str, parts: &[&str]) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digest = Sha256::digest(parts.join("\u{0}").as_bytes());
    let tail: String = digest[..12]
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    make_id(&format!("{prefix}{tail}"))
}

/// Every grant of the org.
pub fn grants(st: &State) -> Vec<Grant> {
    let mut out = Vec::new();
    let mut push =
        |entity_id: &str, ty: &'static str, app: &str, field: &'static str, names: Vec<String>| {
            for name in names {
                let by_profile = matches!(field, "profileName" | "commaSeparatedProfile");
                out.push(Grant {
                    id: derived_id("0J0", &[entity_id, field, &name.to_ascii_lowercase()]),
                    entity_id: entity_id.to_owned(),
                    entity_type: ty,
                    app: app.to_owned(),
                    field,
                    name,
                    by_profile,
                });
            }
        };
    for (name, app) in &st.apps {
        for field in ["profileName", "permissionSetName"] {
            let names = mt::texts(&app.fields, field)
                .into_iter()
                .map(str::to_owned)
                .collect();
            push(&app.id, "ConnectedApplication", name, field, names);
        }
    }
    for (name, app) in &st.eca.apps {
        let Some((_, saml)) = st.eca.child_of(Kind::Saml, name) else {
            continue;
        };
        for (field, _) in ACCESS_FIELDS {
            let names = entries(mt::text(&saml.fields, field));
            push(&app.id, "ExternalClientApplication", name, field, names);
        }
    }
    out
}

/// The record of a grant with the fields the query names (`Parent.*` as nested objects).
fn record(st: &State, ver: &str, g: &Grant, fields: &[String]) -> Value {
    let url = |ty: &str, id: &str| format!("/services/data/{ver}/sobjects/{ty}/{id}");
    let profile_id = st.profile_ids.get(&g.name).cloned().unwrap_or_default();
    let parent_id = if g.by_profile {
        derived_id("0PS", &[&profile_id])
    } else {
        st.permission_set_ids
            .get(&g.name)
            .cloned()
            .unwrap_or_default()
    };
    let mut rec = Map::new();
    rec.insert(
        "attributes".into(),
        json!({"type": "SetupEntityAccess", "url": url("SetupEntityAccess", &g.id)}),
    );
    for f in fields {
        let v = match f.to_ascii_lowercase().as_str() {
            "id" => json!(g.id),
            "parentid" => json!(parent_id),
            "setupentityid" => json!(g.entity_id),
            "setupentitytype" => json!(g.entity_type),
            _ => continue,
        };
        rec.insert(canonical_field(f), v);
    }
    let parent_fields: Vec<String> = fields
        .iter()
        .filter_map(|f| {
            f.strip_prefix("Parent.")
                .or_else(|| f.strip_prefix("parent."))
        })
        .map(str::to_ascii_lowercase)
        .collect();
    if !parent_fields.is_empty() {
        let mut p = Map::new();
        p.insert(
            "attributes".into(),
            json!({"type": "PermissionSet", "url": url("PermissionSet", &parent_id)}),
        );
        for f in &parent_fields {
            match f.as_str() {
                "name" if g.by_profile => p.insert("Name".into(), json!(format!("X{}", &profile_id))),
                "name" => p.insert("Name".into(), json!(g.name)),
                "isownedbyprofile" => p.insert("IsOwnedByProfile".into(), json!(g.by_profile)),
                "profileid" => p.insert("ProfileId".into(), if g.by_profile { json!(profile_id) } else { Value::Null }),
                "profile.name" => p.insert(
                    "Profile".into(),
                    if g.by_profile {
                        json!({"attributes": {"type": "Profile", "url": url("Profile", &profile_id)}, "Name": g.name})
                    } else {
                        Value::Null
                    },
                ),
                _ => None,
            };
        }
        rec.insert("Parent".into(), Value::Object(p));
    }
    Value::Object(rec)
}

fn canonical_field(f: &str) -> String {
    match f.to_ascii_lowercase().as_str() {
        "id" => "Id",
        "parentid" => "ParentId",
        "setupentityid" => "SetupEntityId",
        "setupentitytype" => "SetupEntityType",
        _ => f,
    }
    .to_owned()
}

fn json_ok(status: StatusCode, body: Value, limit_info: &str) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json(body),
    )
        .into_response();
    if let Ok(v) = limit_info.parse() {
        resp.headers_mut().insert("Sforce-Limit-Info", v);
    }
    resp
}

fn matches(st: &State, g: &Grant, q: &Soql) -> bool {
    q.filters.iter().all(|(field, values)| {
        let actual = match field.to_ascii_lowercase().as_str() {
            "id" => g.id.clone(),
            "setupentityid" => g.entity_id.clone(),
            "setupentitytype" => g.entity_type.to_owned(),
            "parentid" => {
                if g.by_profile {
                    derived_id(
                        "0PS",
                        &[st.profile_ids.get(&g.name).map_or("", String::as_str)],
                    )
                } else {
                    st.permission_set_ids
                        .get(&g.name)
                        .cloned()
                        .unwrap_or_default()
                }
            }
            _ => return false,
        };
        // Ids compare on their first 15 characters (a 15- or 18-character id matches).
        values
            .iter()
            .any(|v| v == &actual || (v.len() == 15 && actual.starts_with(v.as_str())))
    })
}

/// `GET /services/data/{ver}/query?q=`.
pub async fn query(
    AxState(sim): AxState<Shared>,
    Path(ver): Path<String>,
    Query(params): Query<std::collections::BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut st = sim.lock();
    let resp = match rest_guard(&mut st, &ver, &headers) {
        Err(r) => *r,
        Ok(li) => match parse(params.get("q").map_or("", String::as_str)) {
            Err((code, message)) => rest_error(StatusCode::BAD_REQUEST, code, &message, Some(li)),
            Ok(q) => {
                let records: Vec<Value> = grants(&st)
                    .iter()
                    .filter(|g| matches(&st, g, &q))
                    .map(|g| record(&st, &ver, g, &q.fields))
                    .collect();
                let body = json!({"totalSize": records.len(), "done": true, "records": records});
                json_ok(StatusCode::OK, body, &li)
            }
        },
    };
    st.record(CallRecord::new("query", resp.status().as_u16()));
    resp
}

fn remove_grant(st: &mut State, g: &Grant) {
    if g.entity_type == "ConnectedApplication" {
        if let Some(app) = st.apps.get_mut(&g.app) {
            app.fields
                .retain(|e: &Elem| !(e.name == g.field && e.text.eq_ignore_ascii_case(&g.name)));
        }
        return;
    }
    let saml = st.eca.child_of(Kind::Saml, &g.app).map(|(n, _)| n.clone());
    if let Some(stored) = saml.and_then(|n| st.eca.saml.get_mut(&n)) {
        revoke(&mut stored.fields, g.field, &g.name);
    }
}

/// `DELETE /services/data/{ver}/sobjects/{type}/{id}`: only `SetupEntityAccess`.
pub async fn delete(
    AxState(sim): AxState<Shared>,
    Path((ver, ty, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut st = sim.lock();
    let resp = match rest_guard(&mut st, &ver, &headers) {
        Err(r) => *r,
        Ok(li) if ty != "SetupEntityAccess" => rest_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!(
                "The requested resource does not exist: sObject type '{ty}' is not supported here"
            ),
            Some(li),
        ),
        Ok(li) => {
            let all = grants(&st);
            match all
                .iter()
                .find(|g| g.id == id || (id.len() == 15 && g.id.starts_with(&id)))
            {
                Some(g) => {
                    remove_grant(&mut st, g);
                    let mut r = StatusCode::NO_CONTENT.into_response();
                    if let Ok(v) = li.parse() {
                        r.headers_mut().insert("Sforce-Limit-Info", v);
                    }
                    r
                }
                None => rest_error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "The requested resource does not exist",
                    Some(li),
                ),
            }
        }
    };
    let mut rec = CallRecord::new("sobjectDelete", resp.status().as_u16());
    rec.metadata_type = Some(ty);
    rec.full_names = vec![id];
    st.record(rec);
    resp
}
