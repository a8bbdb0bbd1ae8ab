//! The SAML enumerations of the Metadata API WSDL (`SamlSubjectType`, `SamlNameIdFormatType`, ...)
//! that connected apps use and External Client Apps share.

use crate::salesforce::wsdl::wsdl_enum;

wsdl_enum!(
    /// `SamlSubjectType`.
    SamlSubjectType {
        Username => "Username",
        FederationId => "FederationId",
        UserId => "UserId",
        SpokeId => "SpokeId",
        CustomAttribute => "CustomAttribute",
        PersistentId => "PersistentId",
    }
);

wsdl_enum!(
    /// `SamlNameIdFormatType`.
    SamlNameIdFormatType {
        Unspecified => "Unspecified",
        EmailAddress => "EmailAddress",
        Persistent => "Persistent",
        Transient => "Transient",
    }
);

impl SamlNameIdFormatType {
    /// The SAML URN that the IdP metadata shows for this token.
    pub fn urn(self) -> &'static str {
        match self {
            SamlNameIdFormatType::Unspecified => {
                "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
            }
            SamlNameIdFormatType::EmailAddress => {
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
            }
            SamlNameIdFormatType::Persistent => {
                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
            }
            SamlNameIdFormatType::Transient => {
                "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
            }
        }
    }
}

wsdl_enum!(
    /// `SamlSigningAlgoType`.
    SamlSigningAlgoType {
        Sha1 => "SHA1",
        Sha256 => "SHA256",
    }
);

wsdl_enum!(
    /// `SamlIdpSLOBinding` (element `samlIdpSLOBindingEnum`).
    SamlIdpSloBinding {
        RedirectBinding => "RedirectBinding",
        PostBinding => "PostBinding",
    }
);

wsdl_enum!(
    /// `SamlEncryptionType`.
    SamlEncryptionType {
        Aes128 => "AES_128",
        Aes256 => "AES_256",
        TripleDes => "Triple_Des",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::wsdl::tokens;

    #[test]
    fn every_enum_token_round_trips() {
        for v in SamlSubjectType::ALL {
            assert_eq!(SamlSubjectType::from_token(v.as_token()), Some(*v));
        }
        for v in SamlNameIdFormatType::ALL {
            assert_eq!(SamlNameIdFormatType::from_token(v.as_token()), Some(*v));
        }
        for v in SamlSigningAlgoType::ALL {
            assert_eq!(SamlSigningAlgoType::from_token(v.as_token()), Some(*v));
        }
        for v in SamlIdpSloBinding::ALL {
            assert_eq!(SamlIdpSloBinding::from_token(v.as_token()), Some(*v));
        }
        for v in SamlEncryptionType::ALL {
            assert_eq!(SamlEncryptionType::from_token(v.as_token()), Some(*v));
        }
    }

    #[test]
    fn enum_tokens_match_the_wsdl() {
        let pinned = [
            (
                tokens(SamlSubjectType::ALL),
                "Username|FederationId|UserId|SpokeId|CustomAttribute|PersistentId",
            ),
            (
                tokens(SamlNameIdFormatType::ALL),
                "Unspecified|EmailAddress|Persistent|Transient",
            ),
            (tokens(SamlSigningAlgoType::ALL), "SHA1|SHA256"),
            (
                tokens(SamlIdpSloBinding::ALL),
                "RedirectBinding|PostBinding",
            ),
            (
                tokens(SamlEncryptionType::ALL),
                "AES_128|AES_256|Triple_Des",
            ),
        ];
        for (got, want) in pinned {
            assert_eq!(got, want);
        }
        // Tokens are case-sensitive on the wire: the public fixture mistakes are refused.
        assert_eq!(SamlSubjectType::from_token("federationId"), None);
        assert_eq!(SamlEncryptionType::from_token("None"), None);
        assert_eq!(
            SamlNameIdFormatType::from_token(
                "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
            ),
            None
        );
    }
}
