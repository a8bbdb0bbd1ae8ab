//! Semantic checks of a connected app (salesforce-api.md §1): required elements, the profiles
//! and permission sets it names, and the SAML subject. Shared by SOAP writes
//! (`soap/connected_apps.rs`) and `POST /__sim/mutate`.

use crate::metadata_types::{self as mt, Elem, missing_required};
use crate::soap::results::{ItemError, err, required_field};
use crate::state::State;
use crate::wsdl_types::CONNECTED_APP;

/// The problems of a connected app (none: it may be stored).
pub fn check_app(st: &State, fields: &[Elem]) -> Vec<ItemError> {
    let mut errors = Vec::new();
    for path in missing_required(fields, &CONNECTED_APP, "") {
        let leaf_name = path.rsplit('.').next().unwrap_or(&path).to_owned();
        errors.push(required_field(&path, &leaf_name));
    }
    for (field, known, what) in [
        ("profileName", &st.profiles, "Profile"),
        ("permissionSetName", &st.permission_sets, "PermissionSet"),
    ] {
        for p in mt::texts(fields, field) {
            if !known.contains(p) {
                errors.push(err(
                    Some(field),
                    format!("In field: {field} - no {what} named {p} found"),
                    "INVALID_CROSS_REFERENCE_KEY",
                ));
            }
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
