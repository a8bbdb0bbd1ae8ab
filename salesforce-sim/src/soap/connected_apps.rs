//! Writing one connected app (`createMetadata` / `updateMetadata` / `upsertMetadata`): the API
//! name rule, create-vs-update (names unique regardless of case), the Spring '26 creation block (salesforce-api.md §8.1, the
//! org's `policy`), then the semantic checks of `connected_app.rs`.

use crate::component::valid_api_name;
use crate::connected_app::check_app;
use crate::metadata_types::{self as mt, Elem};
use crate::realism::ConsumerKeyEcho;
use crate::soap::results::{ItemResult, Mode, err, not_found};
use crate::state::State;

/// Stores one app; Ok(created).
pub fn save_app(st: &mut State, mode: Mode, fields: Vec<Elem>) -> ItemResult<bool> {
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
    let stored = st.app_key(&name);
    let exists = stored.is_some();
    // Developer names are unique regardless of case (salesforce-api.md §14): even where reads
    // match names exactly (the caseSensitive variant), a create (or an upsert that would create)
    // next to an app named in another case is a duplicate.
    let other_case = (!exists && mode != Mode::Update)
        .then(|| {
            st.apps
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&name))
                .cloned()
        })
        .flatten();
    if let Some(existing) = other_case {
        return Err(vec![err(
            Some("fullName"),
            format!("A ConnectedApp named {existing} already exists"),
            "DUPLICATE_DEVELOPER_NAME",
        )]);
    }
    match (mode, exists) {
        (Mode::Create, true) => {
            let existing = stored.as_deref().unwrap_or(&name);
            return Err(vec![err(
                Some("fullName"),
                format!("A ConnectedApp named {existing} already exists"),
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
    if exists
        && st.realism.consumer_key_echo == ConsumerKeyEcho::Refused
        && mt::child(&fields, "oauthConfig").is_some_and(|o| mt::text(o, "consumerKey").is_some())
    {
        return Err(vec![err(
            Some("oauthConfig.consumerKey"),
            "The consumer key is already taken",
            "DUPLICATE_VALUE",
        )]);
    }
    let errors = check_app(st, &fields);
    if !errors.is_empty() {
        return Err(errors);
    }
    // An existing app keeps the name it was created with (names are unique regardless of case).
    let key = stored.unwrap_or(name);
    let mut fields = fields;
    if let Some(f) = fields.iter_mut().find(|e| e.name == "fullName") {
        f.text = key.clone();
    }
    Ok(st.put_app(&key, fields))
}
