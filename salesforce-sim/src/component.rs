//! A stored metadata component (a connected app, or one of an External Client App's
//! components): its WSDL-ordered element tree and the id and dates `listMetadata` reports.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::metadata_types::Elem;

/// A stored component: WSDL-ordered element tree (including `fullName`).
#[derive(Debug, Clone)]
pub struct StoredApp {
    pub id: String,
    pub fields: Vec<Elem>,
    pub created: Timestamp,
    pub modified: Timestamp,
}

/// Stores `fields` as component `name` of `map`: an existing component keeps its id and creation
/// date and gets the new fields; a new one gets the id `new_id` makes. Returns whether it was
/// created.
pub fn upsert(
    map: &mut BTreeMap<String, StoredApp>,
    name: &str,
    fields: Vec<Elem>,
    now: Timestamp,
    new_id: impl FnOnce() -> String,
) -> bool {
    if let Some(c) = map.get_mut(name) {
        c.fields = fields;
        c.modified = now;
        return false;
    }
    map.insert(
        name.to_owned(),
        StoredApp {
            id: new_id(),
            fields,
            created: now,
            modified: now,
        },
    );
    true
}

/// Salesforce's API-name rule (connected apps, External Client App components): a letter first,
/// then letters, digits and single underscores, no trailing underscore, at most 80 characters.
pub fn valid_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
        && name.len() <= 80
}
