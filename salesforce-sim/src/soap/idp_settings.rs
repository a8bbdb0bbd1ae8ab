//! Writing `IdentityProviderSettings` (salesforce-api.md §3.1): the one `IdentityProvider`
//! component switches the org's IdP on or off and names its certificate. It always exists, so
//! `createMetadata` is a duplicate.

use crate::metadata_types::{self as mt, Elem, missing_required};
use crate::soap::results::{ItemResult, Mode, err, not_found, required_field};
use crate::state::State;
use crate::wsdl_types::IDENTITY_PROVIDER_SETTINGS;

/// Applies the settings; Ok(false) (never created).
pub fn save_idp(st: &mut State, mode: Mode, fields: &[Elem]) -> ItemResult<bool> {
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
        errors.push(required_field(&path, &path));
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
