//! The metadata types the org knows (per API version) and its components as `readMetadata`
//! returns them: connected apps as stored, `IdentityProviderSettings` from the IdP switch,
//! `Certificate`s from the org's certificates (salesforce-api.md §1, §3.1, §3.2), and the
//! External Client App components.

use base64::Engine as _;

use crate::eca::kind::Kind;
use crate::metadata_types::{ComplexDef, Elem};
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

/// The stored component as WSDL-ordered elements, or None when absent.
pub fn record_for(st: &State, ty: &str, name: &str) -> Option<Vec<Elem>> {
    match ty {
        "ConnectedApp" => st.apps.get(name).map(|a| a.fields.clone()),
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
            st.eca.map(k).get(name).map(|c| c.fields.clone())
        }
    }
}
