//! The metadata types the org knows (per API version) and its components as `readMetadata`
//! returns them: connected apps as stored, `IdentityProviderSettings` from the IdP switch,
//! `Certificate`s from the org's certificates (salesforce-api.md §1, §3.1, §3.2), and the
//! External Client App components.

use base64::Engine as _;

use crate::eca::kind::Kind;
use crate::metadata_types::{ComplexDef, Elem};
use crate::realism::{AccessReads, DefaultsInReads, OMITTED_DEFAULTS, PolicyReads};
use crate::state::State;
use crate::wsdl_types::{CERTIFICATE, CONNECTED_APP, IDENTITY_PROVIDER_SETTINGS};
use crate::xml;

/// The WSDL table of a type the org knows at this API version (major).
pub fn def_for(ty: &str, version: u32) -> Option<&'static ComplexDef> {
    match ty {
        "ConnectedApp" => Some(&CONNECTED_APP),
        "IdentityProviderSettings" => Some(&IDENTITY_PROVIDER_SETTINGS),
        "Certificate" => Some(&CERTIFICATE),
        other => Kind::from_type(other)
            .filter(|k| k.available(version))
            .map(|k| k.info().def),
    }
}

/// The component as `readMetadata` returns it under the org's reality variants: defaults left
/// out when reads omit them, ECA access as ids when reads give ids, ECA policies absent when
/// only `retrieve` returns them. None when absent.
pub fn record_for(st: &State, ty: &str, name: &str) -> Option<Vec<Elem>> {
    let kind = Kind::from_type(ty);
    if st.realism.eca_policy_reads == PolicyReads::RetrieveOnly
        && matches!(kind, Some(Kind::Policies | Kind::Saml))
    {
        return None;
    }
    let mut fields = stored_record(st, ty, name)?;
    if kind == Some(Kind::Saml) && st.realism.eca_access_reads == AccessReads::Ids {
        access_as_ids(st, &mut fields);
    }
    if st.realism.defaults_in_reads == DefaultsInReads::Omitted {
        omit_defaults(&mut fields);
    }
    Some(fields)
}

/// Leaves out (recursively) the elements that hold their default value.
fn omit_defaults(fields: &mut Vec<Elem>) {
    fields.retain(|e| {
        !OMITTED_DEFAULTS
            .iter()
            .any(|(n, v)| e.name == *n && e.text == *v && e.children.is_empty())
    });
    for e in fields.iter_mut() {
        omit_defaults(&mut e.children);
    }
}

/// `commaSeparatedProfile` / `commaSeparatedPermissionSet` as record ids.
fn access_as_ids(st: &State, fields: &mut [Elem]) {
    for e in fields.iter_mut() {
        let ids = match e.name.as_str() {
            "commaSeparatedProfile" => &st.profile_ids,
            "commaSeparatedPermissionSet" => &st.permission_set_ids,
            _ => continue,
        };
        e.text = e
            .text
            .split(',')
            .map(|n| ids.get(n.trim()).map_or(n.trim(), String::as_str))
            .collect::<Vec<_>>()
            .join(",");
    }
}

/// The stored component as WSDL-ordered elements, or None when absent.
pub fn stored_record(st: &State, ty: &str, name: &str) -> Option<Vec<Elem>> {
    match ty {
        "ConnectedApp" => st
            .app_key(name)
            .and_then(|k| st.apps.get(&k))
            .map(|a| a.fields.clone()),
        "IdentityProviderSettings" if name == "IdentityProvider" => {
            let mut v = vec![Elem::leaf("fullName", "IdentityProvider")];
            if let Some(c) = &st.idp_certificate {
                v.push(Elem::leaf("certificateName", c.clone()));
            }
            v.push(Elem::leaf(
                "enableIdentityProvider",
                st.idp_enabled.to_string(),
            ));
            Some(v)
        }
        "Certificate" => st.certificates.get(name).map(|c| {
            vec![
                Elem::leaf("fullName", c.name.clone()),
                Elem::leaf(
                    "content",
                    base64::engine::general_purpose::STANDARD.encode(c.pem.as_bytes()),
                ),
                Elem::leaf("caSigned", "false"),
                Elem::leaf("encryptedWithPlatformEncryption", "false"),
                Elem::leaf("expirationDate", xml::date_time(c.not_after)),
                Elem::leaf("keySize", c.key_size.to_string()),
                Elem::leaf("masterLabel", c.master_label.clone()),
                Elem::leaf("privateKeyExportable", "true"),
            ]
        }),
        other => {
            let k = Kind::from_type(other)?;
            let key = st.eca_key(k, name)?;
            st.eca.map(k).get(&key).map(|c| c.fields.clone())
        }
    }
}
