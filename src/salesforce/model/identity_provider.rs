//! The org-level components behind the identity provider: `IdentityProviderSettings` and the
//! `Certificate` it signs with.

use roxmltree::Node;

use crate::salesforce::wsdl::{metadata_element, parse_datetime, push_bool};
use crate::salesforce::xml::{child_text, parse_bool, push_elem};

/// Metadata type name.
pub const IDENTITY_PROVIDER_SETTINGS: &str = "IdentityProviderSettings";
/// Metadata type name.
pub const CERTIFICATE: &str = "Certificate";

/// The fullName of the org's `IdentityProviderSettings` component.
pub const IDENTITY_PROVIDER_FULL_NAME: &str = "IdentityProvider";

/// `IdentityProviderSettings` (fullName `IdentityProvider`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderSettings {
    pub certificate_name: String,
    pub enable_identity_provider: bool,
}

impl IdentityProviderSettings {
    pub fn render_metadata(&self) -> String {
        let mut body = String::new();
        push_elem(&mut body, "certificateName", &self.certificate_name);
        push_bool(
            &mut body,
            "enableIdentityProvider",
            Some(self.enable_identity_provider),
        );
        metadata_element(
            IDENTITY_PROVIDER_SETTINGS,
            IDENTITY_PROVIDER_FULL_NAME,
            &body,
        )
    }

    pub fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        let enabled =
            child_text(node, "enableIdentityProvider").ok_or("enableIdentityProvider missing")?;
        Ok(IdentityProviderSettings {
            // A disabled IdP may have no certificate; the WSDL says required, orgs say otherwise.
            certificate_name: child_text(node, "certificateName").unwrap_or_default(),
            enable_identity_provider: parse_bool(&enabled)
                .ok_or_else(|| format!("enableIdentityProvider: not a boolean: '{enabled}'"))?,
        })
    }
}

/// What the operator needs from a `Certificate` component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMetadata {
    pub full_name: String,
    pub master_label: String,
    pub expiration_date: Option<jiff::Timestamp>,
    pub key_size: Option<u32>,
    pub ca_signed: bool,
    /// Decoded `content` (the `.crt` text, PEM) when the org returns it.
    pub content: Option<Vec<u8>>,
}

impl CertificateMetadata {
    pub fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        use base64::Engine as _;
        let expiration_date = match child_text(node, "expirationDate") {
            Some(t) if !t.trim().is_empty() => Some(parse_datetime(t.trim())?),
            _ => None,
        };
        let key_size = match child_text(node, "keySize") {
            Some(t) => Some(
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("keySize: not a number: '{t}'"))?,
            ),
            None => None,
        };
        let content = match child_text(node, "content") {
            Some(t) => {
                let clean: String = t.chars().filter(|c| !c.is_whitespace()).collect();
                Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(clean)
                        .map_err(|_| "content: not base64".to_string())?,
                )
            }
            None => None,
        };
        Ok(CertificateMetadata {
            full_name: child_text(node, "fullName").ok_or("fullName missing")?,
            master_label: child_text(node, "masterLabel").unwrap_or_default(),
            expiration_date,
            key_size,
            ca_signed: child_text(node, "caSigned")
                .and_then(|b| parse_bool(&b))
                .unwrap_or(false),
            content,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::xml;

    #[test]
    fn identity_provider_renders_in_wsdl_order() {
        let s = IdentityProviderSettings {
            certificate_name: "SelfSignedCert_IdP".into(),
            enable_identity_provider: true,
        };
        assert_eq!(
            s.render_metadata(),
            concat!(
                r#"<metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName>"#,
                "<certificateName>SelfSignedCert_IdP</certificateName>",
                "<enableIdentityProvider>true</enableIdentityProvider></metadata>"
            )
        );
    }

    #[test]
    fn certificate_parses() {
        let x = concat!(
            r#"<records xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Certificate">"#,
            "<fullName>SelfSignedCert_IdP</fullName><content>LS0tLS1CRUdJTg==</content>",
            "<caSigned>false</caSigned><expirationDate>2026-11-27T00:00:00.000Z</expirationDate>",
            "<keySize>2048</keySize><masterLabel>SelfSignedCert IdP</masterLabel></records>"
        );
        let doc = xml::parse("test", x).unwrap();
        let c = CertificateMetadata::parse(doc.root_element()).unwrap();
        assert_eq!(c.full_name, "SelfSignedCert_IdP");
        assert_eq!(c.master_label, "SelfSignedCert IdP");
        assert_eq!(c.key_size, Some(2048));
        assert!(!c.ca_signed);
        assert_eq!(
            c.expiration_date.unwrap().to_string(),
            "2026-11-27T00:00:00Z"
        );
        assert_eq!(c.content.as_deref(), Some(&b"-----BEGIN"[..]));
    }
}
