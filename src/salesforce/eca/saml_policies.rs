//! `ExtlClntAppSamlConfigurablePolicies`: an External Client App's SAML settings, fields in WSDL
//! order. Most of its enumerations are the connected app's under another name.

use roxmltree::Node;

use crate::salesforce::model::{
    SamlIdpSloBinding, SamlNameIdFormatType, SamlSigningAlgoType, SamlSubjectType,
};
use crate::salesforce::wsdl::{metadata_element, metadata_file, opt_token, wsdl_enum};
use crate::salesforce::xml::{child_text, children, push_elem, push_opt};

/// First Metadata API version with `ExtlClntAppSamlConfigurablePolicies`.
pub const ECA_MIN_API_VERSION: &str = "63.0";

/// Metadata type name.
pub const EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES: &str = "ExtlClntAppSamlConfigurablePolicies";

wsdl_enum!(
    /// `ExtlClntAppSamlEncryptType` (no `Triple_Des`, unlike `ConnectedAppSamlConfig`).
    ExtlClntAppSamlEncryptType {
        Aes128 => "AES_128",
        Aes256 => "AES_256",
    }
);

/// `ExtlClntAppNameIdFormatType`: the same tokens as `SamlNameIdFormatType`.
pub type ExtlClntAppNameIdFormatType = SamlNameIdFormatType;
/// `ExtlClntAppSamlSignAlgoType`: the same tokens as `SamlSigningAlgoType`.
pub type ExtlClntAppSamlSignAlgoType = SamlSigningAlgoType;
/// `ExtlClntAppSamlBindingType`: the same tokens as `SamlIdpSLOBinding`.
pub type ExtlClntAppSamlBindingType = SamlIdpSloBinding;
/// `ExtlClntAppSamlSubjectType`: the same tokens as `SamlSubjectType`.
pub type ExtlClntAppSamlSubjectType = SamlSubjectType;

/// `ExtlClntAppSamlConfigurablePoliciesAttribute` (element `customAttributes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtlClntAppSamlAttribute {
    pub formula: String,
    pub key: String,
}

/// `ExtlClntAppSamlConfigurablePolicies`, fields in WSDL order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtlClntAppSamlConfigurablePolicies {
    pub full_name: String,
    pub acs_url: String,
    pub certificate: Option<String>,
    /// Salesforce's guide calls these permission set *IDs*; the simulator accepts names or ids.
    pub comma_separated_permission_set: Option<String>,
    /// Salesforce's guide calls these profile *IDs*; the simulator accepts names or ids.
    pub comma_separated_profile: Option<String>,
    pub custom_attributes: Vec<ExtlClntAppSamlAttribute>,
    pub encryption_certificate: Option<String>,
    pub encryption_type: Option<ExtlClntAppSamlEncryptType>,
    pub entity_url: String,
    /// The parent app's API name.
    pub external_client_application: String,
    /// IdP entityID; the org's My Domain when absent.
    pub issuer: Option<String>,
    pub label: Option<String>,
    pub name_id_format: Option<ExtlClntAppNameIdFormatType>,
    pub signing_algorithm_type: Option<ExtlClntAppSamlSignAlgoType>,
    pub single_logout_binding_type: Option<ExtlClntAppSamlBindingType>,
    pub single_logout_url: Option<String>,
    /// Deprecated by Salesforce in favour of the configurable policies' `startUrl`.
    pub start_url: Option<String>,
    pub subject_custom_attribute: Option<String>,
    pub subject_type: Option<ExtlClntAppSamlSubjectType>,
}

impl ExtlClntAppSamlConfigurablePolicies {
    pub fn render_body(&self) -> String {
        let mut out = String::new();
        push_elem(&mut out, "acsUrl", &self.acs_url);
        push_opt(&mut out, "certificate", self.certificate.as_deref());
        push_opt(
            &mut out,
            "commaSeparatedPermissionSet",
            self.comma_separated_permission_set.as_deref(),
        );
        push_opt(
            &mut out,
            "commaSeparatedProfile",
            self.comma_separated_profile.as_deref(),
        );
        for a in &self.custom_attributes {
            out.push_str("<customAttributes>");
            push_elem(&mut out, "formula", &a.formula);
            push_elem(&mut out, "key", &a.key);
            out.push_str("</customAttributes>");
        }
        push_opt(
            &mut out,
            "encryptionCertificate",
            self.encryption_certificate.as_deref(),
        );
        push_opt(
            &mut out,
            "encryptionType",
            self.encryption_type.map(|e| e.as_token()),
        );
        push_elem(&mut out, "entityUrl", &self.entity_url);
        push_elem(
            &mut out,
            "externalClientApplication",
            &self.external_client_application,
        );
        push_opt(&mut out, "issuer", self.issuer.as_deref());
        push_opt(&mut out, "label", self.label.as_deref());
        push_opt(
            &mut out,
            "nameIdFormat",
            self.name_id_format.map(|e| e.as_token()),
        );
        push_opt(
            &mut out,
            "signingAlgorithmType",
            self.signing_algorithm_type.map(|e| e.as_token()),
        );
        push_opt(
            &mut out,
            "singleLogoutBindingType",
            self.single_logout_binding_type.map(|e| e.as_token()),
        );
        push_opt(
            &mut out,
            "singleLogoutUrl",
            self.single_logout_url.as_deref(),
        );
        push_opt(&mut out, "startUrl", self.start_url.as_deref());
        push_opt(
            &mut out,
            "subjectCustomAttribute",
            self.subject_custom_attribute.as_deref(),
        );
        push_opt(
            &mut out,
            "subjectType",
            self.subject_type.map(|e| e.as_token()),
        );
        out
    }

    pub fn render_file(&self) -> String {
        metadata_file(
            EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
            &self.render_body(),
        )
    }

    pub fn render_metadata(&self) -> String {
        metadata_element(
            EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
            &self.full_name,
            &self.render_body(),
        )
    }

    pub fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        let mut custom_attributes = Vec::new();
        for a in children(node, "customAttributes") {
            custom_attributes.push(ExtlClntAppSamlAttribute {
                formula: child_text(a, "formula").ok_or("customAttributes.formula missing")?,
                key: child_text(a, "key").ok_or("customAttributes.key missing")?,
            });
        }
        Ok(ExtlClntAppSamlConfigurablePolicies {
            full_name: child_text(node, "fullName").ok_or("fullName missing")?,
            acs_url: child_text(node, "acsUrl").ok_or("acsUrl missing")?,
            certificate: child_text(node, "certificate"),
            comma_separated_permission_set: child_text(node, "commaSeparatedPermissionSet"),
            comma_separated_profile: child_text(node, "commaSeparatedProfile"),
            custom_attributes,
            encryption_certificate: child_text(node, "encryptionCertificate"),
            encryption_type: opt_token(
                node,
                "encryptionType",
                ExtlClntAppSamlEncryptType::from_token,
            )?,
            entity_url: child_text(node, "entityUrl").ok_or("entityUrl missing")?,
            external_client_application: child_text(node, "externalClientApplication")
                .ok_or("externalClientApplication missing")?,
            issuer: child_text(node, "issuer"),
            label: child_text(node, "label"),
            name_id_format: opt_token(node, "nameIdFormat", SamlNameIdFormatType::from_token)?,
            signing_algorithm_type: opt_token(
                node,
                "signingAlgorithmType",
                SamlSigningAlgoType::from_token,
            )?,
            single_logout_binding_type: opt_token(
                node,
                "singleLogoutBindingType",
                SamlIdpSloBinding::from_token,
            )?,
            single_logout_url: child_text(node, "singleLogoutUrl"),
            start_url: child_text(node, "startUrl"),
            subject_custom_attribute: child_text(node, "subjectCustomAttribute"),
            subject_type: opt_token(node, "subjectType", SamlSubjectType::from_token)?,
        })
    }
}
