//! Per-component results of the CRUD calls (`SaveResult`, `DeleteResult`, `UpsertResult`, with
//! their `Error`s; salesforce-api.md §5.3), the `AllOrNoneHeader` roll-back, and rendering.

use std::collections::BTreeMap;

use crate::component::StoredApp;
use crate::eca::kind::EcaStore;
use crate::metadata_types::esc;
use crate::state::State;

/// A per-component error (`Error` in the WSDL).
#[derive(Debug, Clone)]
pub struct ItemError {
    pub fields: Vec<String>,
    pub message: String,
    pub status_code: String,
}

/// An error on `field` (or on the component) with `message` and `statusCode` `code`.
pub fn err(field: Option<&str>, message: impl Into<String>, code: &str) -> ItemError {
    ItemError {
        fields: field.map(|f| vec![f.to_owned()]).unwrap_or_default(),
        message: message.into(),
        status_code: code.to_owned(),
    }
}

/// No component `name` of type `ty`.
pub fn not_found(ty: &str, name: &str) -> ItemError {
    err(
        Some("fullName"),
        format!("In field: fullName - no {ty} named {name} found"),
        "INVALID_CROSS_REFERENCE_KEY",
    )
}

/// A missing required element.
pub fn required_field(path: &str, leaf_name: &str) -> ItemError {
    err(
        Some(path),
        format!("Required field is missing: {leaf_name}"),
        "REQUIRED_FIELD_MISSING",
    )
}

/// The result of one component: success (with whether it was created) or its errors.
pub type ItemResult<T> = Result<T, Vec<ItemError>>;

/// The org's components before a call, for the `AllOrNoneHeader` roll-back.
pub type Backup = (BTreeMap<String, StoredApp>, EcaStore);

pub fn backup(st: &State) -> Backup {
    (st.apps.clone(), st.eca.clone())
}

/// With `allOrNone`, one failure undoes every change of the call and turns the successes into
/// `ALL_OR_NONE_OPERATION_ROLLED_BACK` errors.
pub fn roll_back_if_needed<T>(
    st: &mut State,
    backup: Backup,
    all_or_none: bool,
    results: &mut [(String, ItemResult<T>)],
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

/// `<tag><result>…</result>…</tag>`, one result per component; `created` renders an upsert's
/// `<created>` element.
pub fn render<T>(
    tag: &str,
    results: &[(String, ItemResult<T>)],
    created: impl Fn(&ItemResult<T>) -> Option<bool>,
) -> String {
    let mut out = format!("<{tag}>");
    for (name, r) in results {
        out.push_str("<result>");
        if let Some(c) = created(r) {
            out.push_str(&format!("<created>{c}</created>"));
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
    out
}

/// Which CRUD write a call is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Create,
    Update,
    Upsert,
}

impl Mode {
    /// The response element.
    pub fn response_tag(self) -> &'static str {
        match self {
            Mode::Create => "createMetadataResponse",
            Mode::Update => "updateMetadataResponse",
            Mode::Upsert => "upsertMetadataResponse",
        }
    }
}
