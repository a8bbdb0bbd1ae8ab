//! Semantic checks of one ECA component against the org (the rules of salesforce-api.md §8.2
//! and §14; Salesforce-style messages, whose wording is an assumption where no source gives it),
//! and storing a checked component.

use jiff::Timestamp;

use crate::component::{self, valid_api_name};
use crate::eca::kind::{EcaStore, Kind};
use crate::metadata_types::{self as mt, Elem};
use crate::state::State;

fn is_true(fields: &[Elem], name: &str) -> bool {
    mt::text(fields, name) == Some("true")
}

/// Semantic checks of one component against `store` (the org as it will be, including the
/// components of the same deploy that were applied before this one). Returns problems
/// (Salesforce-style messages; the wording is an assumption where no source gives it).
pub fn check_component(
    st: &State,
    store: &EcaStore,
    kind: Kind,
    name: &str,
    fields: &[Elem],
) -> Vec<String> {
    let mut problems = Vec::new();
    if !valid_api_name(name) {
        problems.push(format!(
            "The API name '{name}' can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores."
        ));
    }
    for path in mt::missing_required(fields, kind.info().def, "") {
        if path != "fullName" {
            problems.push(format!("Required field is missing: {path}"));
        }
    }
    let parent = mt::text(fields, "externalClientApplication").unwrap_or("");
    match kind {
        Kind::App => {
            let expected = format!("{}:{name}", st.org_id);
            if let Some(scoped) = mt::text(fields, "orgScopedExternalApp")
                && scoped != expected
                && scoped != format!("{}:{name}", st.org_id15())
            {
                problems.push(format!(
                    "In field: orgScopedExternalApp - the value {scoped} doesn't belong to this org; remove it or use {expected}"
                ));
            }
            let local = mt::text(fields, "distributionState").is_none_or(|d| d == "Local");
            if !local && store.child_of(Kind::Saml, name).is_some() {
                problems.push(format!(
                    "External client app {name} has SAML policies, so its distributionState must be Local"
                ));
            }
        }
        Kind::Policies | Kind::Saml => {
            if !parent.is_empty() && !store.apps.contains_key(parent) {
                problems.push(format!(
                    "In field: externalClientApplication - no ExternalClientApplication named {parent} found"
                ));
            }
            if let Some((other, _)) = store.child_of(kind, parent)
                && other != name
            {
                problems.push(format!(
                    "External client app {parent} already has a {} component: {other}",
                    kind.info().name
                ));
            }
        }
    }
    if kind == Kind::Saml {
        problems.extend(saml_problems(st, store, parent, fields));
    }
    problems
}

/// The checks only SAML policies have: the app they configure must be Local with the SAML
/// plugin enabled, and the profiles and permission sets they name must exist.
fn saml_problems(st: &State, store: &EcaStore, parent: &str, fields: &[Elem]) -> Vec<String> {
    let mut problems = Vec::new();
    if store.apps.contains_key(parent) {
        let app = &store.apps[parent];
        let state = mt::text(&app.fields, "distributionState").unwrap_or("Local");
        if state != "Local" {
            problems.push(format!(
                "SAML can't be configured for external client app {parent}: its distributionState is {state}, and external client apps with SAML configurations must be Local"
            ));
        }
        let plugin = store
            .child_of(Kind::Policies, parent)
            .is_some_and(|(_, p)| is_true(&p.fields, "isSamlPluginEnabled"));
        if !plugin {
            problems.push(format!(
                "The SAML plugin isn't enabled for external client app {parent}: set isSamlPluginEnabled to true in its ExtlClntAppConfigurablePolicies"
            ));
        }
    }
    for (field, names, ids, what) in [
        (
            "commaSeparatedProfile",
            &st.profiles,
            &st.profile_ids,
            "Profile",
        ),
        (
            "commaSeparatedPermissionSet",
            &st.permission_sets,
            &st.permission_set_ids,
            "PermissionSet",
        ),
    ] {
        for entry in mt::text(fields, field).unwrap_or("").split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let known = names.contains(entry) || ids.values().any(|id| id == entry);
            if !known {
                problems.push(format!("In field: {field} - no {what} named {entry} found"));
            }
        }
    }
    if mt::text(fields, "subjectType") == Some("CustomAttribute")
        && mt::text(fields, "subjectCustomAttribute").is_none_or(str::is_empty)
    {
        problems.push(
            "Subject Custom Attribute is required when the Subject Type is Custom Attribute".into(),
        );
    }
    problems
}

/// Stores a checked component in `store`; returns whether it was created.
pub fn put(
    store: &mut EcaStore,
    kind: Kind,
    name: &str,
    mut fields: Vec<Elem>,
    id: impl FnOnce() -> String,
    now: Timestamp,
    org_id: &str,
) -> bool {
    if !fields.iter().any(|e| e.name == "fullName") {
        fields.insert(0, Elem::leaf("fullName", name));
    }
    if kind == Kind::App && mt::text(&fields, "orgScopedExternalApp").is_none() {
        // Auto-generated by the org ("<orgId>:<appName>").
        fields.push(Elem::leaf(
            "orgScopedExternalApp",
            format!("{org_id}:{name}"),
        ));
        mt::sort(&mut fields, kind.info().def);
    }
    component::upsert(store.map_mut(kind), name, fields, now, id)
}
