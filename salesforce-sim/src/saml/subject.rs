//! Who the assertion is about: the `NameID` value by the app's subject type, and the attributes.
//!
//! Subject types are the WSDL's `SamlSubjectType` tokens (salesforce-api.md §1.3/§13):
//! `Username` (the Salesforce username), `FederationId` (the user's Federation ID; a user without
//! one cannot sign in: IdpEventLog `NoUserFedId`, "User doesn't have a Federation Identifier
//! selected"), `UserId` (the user id, 15 characters like the `userId` attribute of the public
//! Salesforce response in fleetdm/fleet `server/sso/validate_test.go`), `CustomAttribute` (the
//! value of the app's custom attribute named by `samlSubjectCustomAttr`; empty: IdpEventLog
//! `NoCustomAttrValue`), `PersistentId` (an opaque value, stable per user and app: its form is
//! an assumption) and `SpokeId` (Identity Connect, not simulated: IdpEventLog `NoSpokeId`).
//!
//! Attributes: `userId`, `username`, `email`, `is_portal_user` as in the public response, then
//! the app's custom attributes. Custom attribute values are Salesforce formulas; the simulator
//! evaluates a small subset: `$User.<Field>` (Username, Id, Email, FederationIdentifier, and
//! the org file's `userFields`), `$Profile.Name`, `$Organization.Id`, quoted text, joined with
//! `&`. Anything else evaluates to nothing (an assumption; Salesforce checks formulas on save).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::saml::app::SpApp;
use crate::saml::idp_error::{IdpError, NO_CUSTOM_ATTR_VALUE, NO_FEDERATION_ID, NO_SPOKE_ID};
use crate::saml::rsa::Hash;
use crate::state::{State, User};

/// The user's 15-character id.
fn id15(user: &User) -> &str {
    &user.id[..15]
}

/// The value of a User field as formulas read it.
fn user_field(user: &User, field: &str) -> Option<String> {
    match field {
        "Username" => Some(user.username.clone()),
        "Id" => Some(id15(user).to_owned()),
        "FederationIdentifier" => user.federation_id.clone(),
        "Email" => Some(
            user.fields
                .get("Email")
                .cloned()
                .unwrap_or_else(|| user.username.clone()),
        ),
        other => user.fields.get(other).cloned(),
    }
}

/// Evaluates the supported subset of a formula (module docs); None when it has no value.
pub fn evaluate(formula: &str, user: &User, st: &State) -> Option<String> {
    let mut out = String::new();
    for term in formula.split('&').map(str::trim) {
        let quoted = |q: char| term.len() >= 2 && term.starts_with(q) && term.ends_with(q);
        let value = if quoted('"') || quoted('\'') {
            term[1..term.len() - 1].to_owned()
        } else if let Some(field) = term.strip_prefix("$User.") {
            user_field(user, field)?
        } else if term == "$Profile.Name" {
            user.profile.clone()
        } else if term == "$Organization.Id" {
            st.org_id15().to_owned()
        } else {
            return None;
        };
        out.push_str(&value);
    }
    Some(out).filter(|s| !s.is_empty())
}

/// The `NameID` value for `user` signing in to `app`.
pub fn name_id(app: &SpApp, user: &User, st: &State) -> Result<String, IdpError> {
    match app.subject_type.as_str() {
        "FederationId" => user
            .federation_id
            .clone()
            .filter(|f| !f.is_empty())
            .ok_or(NO_FEDERATION_ID),
        "UserId" => Ok(id15(user).to_owned()),
        "CustomAttribute" => {
            let key = app.subject_custom_attr.as_deref().unwrap_or("");
            app.attributes
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, formula)| evaluate(formula, user, st))
                .ok_or(NO_CUSTOM_ATTR_VALUE)
        }
        "PersistentId" => {
            let seed = format!("{}|{}|{}", st.org_id, app.sp_id, user.id);
            Ok(URL_SAFE_NO_PAD.encode(Hash::Sha256.digest(seed.as_bytes())))
        }
        "SpokeId" => Err(NO_SPOKE_ID),
        _ => Ok(user.username.clone()),
    }
}

/// The attributes of the assertion: (name, value).
pub fn attributes(app: &SpApp, user: &User, st: &State) -> Vec<(String, String)> {
    let mut out = vec![
        ("userId".to_owned(), id15(user).to_owned()),
        ("username".to_owned(), user.username.clone()),
        (
            "email".to_owned(),
            user_field(user, "Email").unwrap_or_default(),
        ),
        ("is_portal_user".to_owned(), "false".to_owned()),
    ];
    for (key, formula) in &app.attributes {
        if let Some(v) = evaluate(formula, user, st) {
            out.push((key.clone(), v));
        }
    }
    out
}
