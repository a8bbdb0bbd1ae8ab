//! What a deploy of an External Client App's access fields does to its grants.
//!
//! Sources: Salesforce's type reference says `commaSeparatedProfile` /
//! `commaSeparatedPermissionSet` hold ids; a public project that deploys ECA policies to a real
//! org reports that API names work, that the fields are additive (redeploying a value already
//! granted fails with "profile names are already taken", so only new names may be sent) and that
//! each grant is a `SetupEntityAccess` record (salesforce-api.md §14; issue 15). Which of
//! additive or replacing holds is a reality variant (`realism.ecaAccessWrites`); the stored
//! fields always hold the granted API names, which `SetupEntityAccess` rows are made of.

use crate::metadata_types::{self as mt, Elem};
use crate::realism::AccessWrites;
use crate::state::State;

/// The two access fields: (element, what the entries name).
pub const ACCESS_FIELDS: [(&str, &str); 2] = [
    ("commaSeparatedProfile", "profile"),
    ("commaSeparatedPermissionSet", "permission set"),
];

/// The org's name for an entry (a name in any case, or an id); the entry itself when unknown
/// (the component check reports it).
fn canonical(st: &State, field: &str, entry: &str) -> String {
    let (names, ids) = if field == "commaSeparatedProfile" {
        (&st.profiles, &st.profile_ids)
    } else {
        (&st.permission_sets, &st.permission_set_ids)
    };
    if let Some((n, _)) = ids.iter().find(|(_, id)| id.as_str() == entry) {
        return n.clone();
    }
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(entry))
        .cloned()
        .unwrap_or_else(|| entry.to_owned())
}

/// The entries of a comma-separated field, trimmed, empty ones dropped.
pub fn entries(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

fn set_field(fields: &mut Vec<Elem>, name: &str, mut values: Vec<String>) {
    values.sort_by_key(|v| v.to_ascii_lowercase());
    values.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    fields.retain(|e| e.name != name);
    if !values.is_empty() {
        fields.push(Elem::leaf(name, values.join(",")));
    }
}

/// Turns the access fields of deployed SAML policies into the grants they leave: additive
/// (the current grants plus the listed names; a listed name already granted is a problem) or
/// replacing (the listed names). `current` is the stored component, if any. Returns problems.
pub fn merge(st: &State, current: Option<&[Elem]>, fields: &mut Vec<Elem>) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, what) in ACCESS_FIELDS {
        let present = fields.iter().any(|e| e.name == field);
        let listed: Vec<String> = entries(mt::text(fields, field))
            .iter()
            .map(|e| canonical(st, field, e))
            .collect();
        let granted = entries(current.and_then(|c| mt::text(c, field)));
        let result = match st.realism.eca_access_writes {
            AccessWrites::Replacing => listed,
            AccessWrites::Additive if !present => granted,
            AccessWrites::Additive => {
                let taken: Vec<&String> = listed
                    .iter()
                    .filter(|l| granted.iter().any(|g| g.eq_ignore_ascii_case(l)))
                    .collect();
                if !taken.is_empty() {
                    let list: Vec<&str> = taken.iter().map(|s| s.as_str()).collect();
                    problems.push(format!(
                        "In field: {field} - {what} names are already taken: {}",
                        list.join(", ")
                    ));
                }
                granted.into_iter().chain(listed).collect()
            }
        };
        set_field(fields, field, result);
    }
    mt::sort(fields, crate::eca::kind::SAML_INFO.def);
    problems
}

/// Removes `name` from the access field `field` of `fields` (a revoked grant).
pub fn revoke(fields: &mut Vec<Elem>, field: &str, name: &str) {
    let left: Vec<String> = entries(mt::text(fields, field))
        .into_iter()
        .filter(|e| !e.eq_ignore_ascii_case(name))
        .collect();
    set_field(fields, field, left);
    mt::sort(fields, crate::eca::kind::SAML_INFO.def);
}
