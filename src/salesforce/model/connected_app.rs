//! `ConnectedApp` and its `ConnectedAppSamlConfig`.
//!
//! `ConnectedApp` models the fields the operator manages. The WSDL fields it does not manage
//! (`oauthConfig`, `ipRanges`, `sessionPolicy`, ...) are kept from a read as canonical XML in
//! [`UnmanagedFields`] and written back in their WSDL position, so upserting an app that was read
//! (adoption, drift repair) does not wipe what an admin configured in Setup. Their `Debug` shows
//! element names only, because `oauthConfig` can hold a consumer secret.

use std::fmt;

use roxmltree::Node;

use super::saml::{
    SamlEncryptionType, SamlIdpSloBinding, SamlNameIdFormatType, SamlSigningAlgoType,
    SamlSubjectType,
};
use crate::salesforce::wsdl::{opt_token, token};
use crate::salesforce::xml::{child, child_text, children, push_elem, push_opt, reserialize};

/// Metadata type name.
pub const CONNECTED_APP: &str = "ConnectedApp";

/// `ConnectedAppSamlConfig`, fields in WSDL sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAppSamlConfig {
    pub acs_url: String,
    pub certificate: Option<String>,
    pub encryption_certificate: Option<String>,
    pub encryption_type: Option<SamlEncryptionType>,
    pub entity_url: String,
    pub issuer: Option<String>,
    pub saml_idp_slo_binding: Option<SamlIdpSloBinding>,
    pub saml_name_id_format: Option<SamlNameIdFormatType>,
    pub saml_signing_algo_type: Option<SamlSigningAlgoType>,
    pub saml_slo_url: Option<String>,
    pub saml_subject_custom_attr: Option<String>,
    pub saml_subject_type: SamlSubjectType,
}

impl ConnectedAppSamlConfig {
    /// A config with the two required URLs and subject type, everything else unset.
    pub fn new(
        acs_url: impl Into<String>,
        entity_url: impl Into<String>,
        subject: SamlSubjectType,
    ) -> Self {
        ConnectedAppSamlConfig {
            acs_url: acs_url.into(),
            certificate: None,
            encryption_certificate: None,
            encryption_type: None,
            entity_url: entity_url.into(),
            issuer: None,
            saml_idp_slo_binding: None,
            saml_name_id_format: None,
            saml_signing_algo_type: None,
            saml_slo_url: None,
            saml_subject_custom_attr: None,
            saml_subject_type: subject,
        }
    }

    fn render(&self, out: &mut String) {
        out.push_str("<samlConfig>");
        push_elem(out, "acsUrl", &self.acs_url);
        push_opt(out, "certificate", self.certificate.as_deref());
        push_opt(
            out,
            "encryptionCertificate",
            self.encryption_certificate.as_deref(),
        );
        push_opt(
            out,
            "encryptionType",
            self.encryption_type.map(|e| e.as_token()),
        );
        push_elem(out, "entityUrl", &self.entity_url);
        push_opt(out, "issuer", self.issuer.as_deref());
        push_opt(
            out,
            "samlIdpSLOBindingEnum",
            self.saml_idp_slo_binding.map(|e| e.as_token()),
        );
        push_opt(
            out,
            "samlNameIdFormat",
            self.saml_name_id_format.map(|e| e.as_token()),
        );
        push_opt(
            out,
            "samlSigningAlgoType",
            self.saml_signing_algo_type.map(|e| e.as_token()),
        );
        push_opt(out, "samlSloUrl", self.saml_slo_url.as_deref());
        push_opt(
            out,
            "samlSubjectCustomAttr",
            self.saml_subject_custom_attr.as_deref(),
        );
        push_elem(out, "samlSubjectType", self.saml_subject_type.as_token());
        out.push_str("</samlConfig>");
    }

    /// Parses `<samlConfig>`; errors name the element as `samlConfig.<element>`.
    fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        Self::parse_elements(node).map_err(|e| format!("samlConfig.{e}"))
    }

    fn parse_elements(node: Node<'_, '_>) -> Result<Self, String> {
        let subject = child_text(node, "samlSubjectType").ok_or("samlSubjectType missing")?;
        Ok(ConnectedAppSamlConfig {
            acs_url: child_text(node, "acsUrl").ok_or("acsUrl missing")?,
            certificate: child_text(node, "certificate"),
            encryption_certificate: child_text(node, "encryptionCertificate"),
            encryption_type: opt_token(node, "encryptionType", SamlEncryptionType::from_token)?,
            entity_url: child_text(node, "entityUrl").ok_or("entityUrl missing")?,
            issuer: child_text(node, "issuer"),
            saml_idp_slo_binding: opt_token(
                node,
                "samlIdpSLOBindingEnum",
                SamlIdpSloBinding::from_token,
            )?,
            saml_name_id_format: opt_token(
                node,
                "samlNameIdFormat",
                SamlNameIdFormatType::from_token,
            )?,
            saml_signing_algo_type: opt_token(
                node,
                "samlSigningAlgoType",
                SamlSigningAlgoType::from_token,
            )?,
            saml_slo_url: child_text(node, "samlSloUrl"),
            saml_subject_custom_attr: child_text(node, "samlSubjectCustomAttr"),
            saml_subject_type: token("samlSubjectType", &subject, SamlSubjectType::from_token)?,
        })
    }
}

/// WSDL fields of `ConnectedApp` that the operator does not manage, kept as canonical XML
/// (element local name, serialised element) so an upsert of a read app preserves them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UnmanagedFields(Vec<(String, String)>);

impl UnmanagedFields {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Element names held, in document order (for logs and tests).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

impl fmt::Debug for UnmanagedFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: oauthConfig may carry a consumer secret.
        f.debug_list().entries(self.names()).finish()
    }
}

/// `ConnectedApp` element order in the v63.0 WSDL (`fullName` from `Metadata` first).
pub const CONNECTED_APP_ORDER: &[&str] = &[
    "fullName",
    "attributes",
    "canvas",
    "canvasConfig",
    "contactEmail",
    "contactPhone",
    "description",
    "iconUrl",
    "infoUrl",
    "ipRanges",
    "label",
    "logoUrl",
    "mobileAppConfig",
    "mobileStartUrl",
    "oauthConfig",
    "oauthPolicy",
    "permissionSetName",
    "plugin",
    "pluginExecutionUser",
    "profileName",
    "samlConfig",
    "sessionPolicy",
    "startUrl",
];

const MANAGED: &[&str] = &[
    "fullName",
    "contactEmail",
    "contactPhone",
    "description",
    "label",
    "permissionSetName",
    "profileName",
    "samlConfig",
    "startUrl",
];

/// `oauthConfig` children never sent back: the consumer key is read-only (an update carrying
/// it is refused in deploys to other orgs, "The consumer key is already taken": CumulusCI issue
/// 2943, Salesforce CLI issue 336; for the same org no source says) and the secret is a secret.
const OAUTH_NEVER_ECHOED: &[&str] = &["consumerKey", "consumerSecret"];

/// An admin's `oauthConfig`, kept for the update, without [`OAUTH_NEVER_ECHOED`].
fn oauth_config_without_secrets(node: Node<'_, '_>) -> String {
    let mut out = String::from("<oauthConfig>");
    for c in node.children().filter(Node::is_element) {
        if !OAUTH_NEVER_ECHOED.contains(&c.tag_name().name()) {
            out.push_str(&reserialize(c));
        }
    }
    out.push_str("</oauthConfig>");
    out
}

/// A `ConnectedApp` component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub full_name: String,
    pub contact_email: String,
    pub contact_phone: Option<String>,
    pub description: Option<String>,
    pub label: String,
    pub permission_set_name: Vec<String>,
    pub profile_name: Vec<String>,
    pub saml_config: Option<ConnectedAppSamlConfig>,
    /// IdP-initiated start URL.
    pub start_url: Option<String>,
    /// Everything else the org returned; empty for an app built from a spec.
    pub unmanaged: UnmanagedFields,
}

impl ConnectedApp {
    pub fn new(
        full_name: impl Into<String>,
        label: impl Into<String>,
        contact_email: impl Into<String>,
    ) -> Self {
        ConnectedApp {
            full_name: full_name.into(),
            contact_email: contact_email.into(),
            contact_phone: None,
            description: None,
            label: label.into(),
            permission_set_name: Vec::new(),
            profile_name: Vec::new(),
            saml_config: None,
            start_url: None,
            unmanaged: UnmanagedFields::default(),
        }
    }

    /// Compares only the fields the operator manages (drift detection ignores `unmanaged`).
    pub fn same_managed_fields(&self, other: &ConnectedApp) -> bool {
        let strip = |a: &ConnectedApp| ConnectedApp {
            unmanaged: UnmanagedFields::default(),
            ..a.clone()
        };
        strip(self) == strip(other)
    }

    /// Renders `<metadata xsi:type="ConnectedApp">...</metadata>` in WSDL order.
    pub fn render_metadata(&self) -> String {
        let mut out = String::from("<metadata xsi:type=\"ConnectedApp\">");
        for name in CONNECTED_APP_ORDER {
            match *name {
                "fullName" => push_elem(&mut out, "fullName", &self.full_name),
                "contactEmail" => push_elem(&mut out, "contactEmail", &self.contact_email),
                "contactPhone" => push_opt(&mut out, "contactPhone", self.contact_phone.as_deref()),
                "description" => push_opt(&mut out, "description", self.description.as_deref()),
                "label" => push_elem(&mut out, "label", &self.label),
                "permissionSetName" => {
                    for p in &self.permission_set_name {
                        push_elem(&mut out, "permissionSetName", p);
                    }
                }
                "profileName" => {
                    for p in &self.profile_name {
                        push_elem(&mut out, "profileName", p);
                    }
                }
                "samlConfig" => {
                    if let Some(s) = &self.saml_config {
                        s.render(&mut out);
                    }
                }
                "startUrl" => push_opt(&mut out, "startUrl", self.start_url.as_deref()),
                other => {
                    for (n, xml) in &self.unmanaged.0 {
                        if n == other {
                            out.push_str(xml);
                        }
                    }
                }
            }
        }
        out.push_str("</metadata>");
        out
    }

    /// Parses a `<records xsi:type="ConnectedApp">` element.
    pub fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        let full_name = child_text(node, "fullName").ok_or("fullName missing")?;
        let mut unmanaged = Vec::new();
        for c in node.children().filter(Node::is_element) {
            let name = c.tag_name().name();
            // Unknown names (newer API versions) are dropped rather than echoed: the strict
            // v63.0 schema would refuse them on the way back.
            if name == "oauthConfig" {
                unmanaged.push((name.to_string(), oauth_config_without_secrets(c)));
            } else if !MANAGED.contains(&name) && CONNECTED_APP_ORDER.contains(&name) {
                unmanaged.push((name.to_string(), reserialize(c)));
            }
        }
        Ok(ConnectedApp {
            full_name,
            contact_email: child_text(node, "contactEmail").unwrap_or_default(),
            contact_phone: child_text(node, "contactPhone"),
            description: child_text(node, "description"),
            label: child_text(node, "label").unwrap_or_default(),
            permission_set_name: children(node, "permissionSetName")
                .map(|c| c.text().unwrap_or("").to_string())
                .collect(),
            profile_name: children(node, "profileName")
                .map(|c| c.text().unwrap_or("").to_string())
                .collect(),
            saml_config: match child(node, "samlConfig") {
                Some(s) => Some(ConnectedAppSamlConfig::parse(s)?),
                None => None,
            },
            start_url: child_text(node, "startUrl"),
            unmanaged: UnmanagedFields(unmanaged),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::xml;

    fn full_app() -> ConnectedApp {
        ConnectedApp {
            full_name: "Voice_SSO".into(),
            contact_email: "ops@acme.com".into(),
            contact_phone: Some("+1 555 0100".into()),
            description: Some("Partner telephony <SSO> & more".into()),
            label: "Voice SSO".into(),
            permission_set_name: vec!["Voice_Agent".into()],
            profile_name: vec!["System Administrator".into(), "Contact Center Agent".into()],
            saml_config: Some(ConnectedAppSamlConfig {
                acs_url: "https://sp.example.com/saml/acs".into(),
                certificate: Some(
                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".into(),
                ),
                encryption_certificate: Some("ENC".into()),
                encryption_type: Some(SamlEncryptionType::Aes256),
                entity_url: "https://sp.example.com".into(),
                issuer: Some("https://acme.my.salesforce.com".into()),
                saml_idp_slo_binding: Some(SamlIdpSloBinding::PostBinding),
                saml_name_id_format: Some(SamlNameIdFormatType::EmailAddress),
                saml_signing_algo_type: Some(SamlSigningAlgoType::Sha256),
                saml_slo_url: Some("https://sp.example.com/saml/slo".into()),
                saml_subject_custom_attr: Some("$User.Email".into()),
                saml_subject_type: SamlSubjectType::CustomAttribute,
            }),
            start_url: Some("https://sp.example.com/start".into()),
            unmanaged: UnmanagedFields::default(),
        }
    }

    #[test]
    fn connected_app_renders_in_wsdl_order() {
        let expected = concat!(
            r#"<metadata xsi:type="ConnectedApp">"#,
            "<fullName>Voice_SSO</fullName>",
            "<contactEmail>ops@acme.com</contactEmail>",
            "<contactPhone>+1 555 0100</contactPhone>",
            "<description>Partner telephony &lt;SSO&gt; &amp; more</description>",
            "<label>Voice SSO</label>",
            "<permissionSetName>Voice_Agent</permissionSetName>",
            "<profileName>System Administrator</profileName>",
            "<profileName>Contact Center Agent</profileName>",
            "<samlConfig>",
            "<acsUrl>https://sp.example.com/saml/acs</acsUrl>",
            "<certificate>-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----</certificate>",
            "<encryptionCertificate>ENC</encryptionCertificate>",
            "<encryptionType>AES_256</encryptionType>",
            "<entityUrl>https://sp.example.com</entityUrl>",
            "<issuer>https://acme.my.salesforce.com</issuer>",
            "<samlIdpSLOBindingEnum>PostBinding</samlIdpSLOBindingEnum>",
            "<samlNameIdFormat>EmailAddress</samlNameIdFormat>",
            "<samlSigningAlgoType>SHA256</samlSigningAlgoType>",
            "<samlSloUrl>https://sp.example.com/saml/slo</samlSloUrl>",
            "<samlSubjectCustomAttr>$User.Email</samlSubjectCustomAttr>",
            "<samlSubjectType>CustomAttribute</samlSubjectType>",
            "</samlConfig>",
            "<startUrl>https://sp.example.com/start</startUrl>",
            "</metadata>",
        );
        assert_eq!(full_app().render_metadata(), expected);
    }

    #[test]
    fn minimal_connected_app_renders_required_fields_only() {
        let mut app = ConnectedApp::new("A", "A label", "a@b.c");
        app.saml_config = Some(ConnectedAppSamlConfig::new(
            "https://sp/acs",
            "https://sp",
            SamlSubjectType::Username,
        ));
        assert_eq!(
            app.render_metadata(),
            concat!(
                r#"<metadata xsi:type="ConnectedApp"><fullName>A</fullName><contactEmail>a@b.c</contactEmail>"#,
                "<label>A label</label><samlConfig><acsUrl>https://sp/acs</acsUrl><entityUrl>https://sp</entityUrl>",
                "<samlSubjectType>Username</samlSubjectType></samlConfig></metadata>"
            )
        );
    }

    fn parse_record(x: &str) -> ConnectedApp {
        let doc = xml::parse("test", x).unwrap();
        ConnectedApp::parse(doc.root_element()).unwrap()
    }

    #[test]
    fn connected_app_round_trips_through_xml() {
        let app = full_app();
        let rendered = app
            .render_metadata()
            .replace("<metadata xsi:type=\"ConnectedApp\">", "<records xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"ConnectedApp\">")
            .replace("</metadata>", "</records>");
        assert_eq!(parse_record(&rendered), app);
    }

    #[test]
    fn unmanaged_fields_are_preserved_in_wsdl_position() {
        let x = concat!(
            r#"<records xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ConnectedApp">"#,
            "<fullName>Adopted</fullName><contactEmail>a@b.c</contactEmail><label>Adopted</label>",
            "<oauthConfig><callbackUrl>https://x/cb</callbackUrl><consumerKey>3MVGkey</consumerKey><consumerSecret>topsecret</consumerSecret><scopes>Api</scopes></oauthConfig>",
            "<profileName>System Administrator</profileName>",
            "<samlConfig><acsUrl>https://sp/acs</acsUrl><entityUrl>https://sp</entityUrl><samlSubjectType>Username</samlSubjectType></samlConfig>",
            "<sessionPolicy><sessionTimeout>60</sessionTimeout></sessionPolicy>",
            "<futureField>x</futureField>",
            "</records>"
        );
        let app = parse_record(x);
        assert_eq!(app.unmanaged.names(), vec!["oauthConfig", "sessionPolicy"]);
        assert!(!format!("{app:?}").contains("topsecret"));
        let out = app.render_metadata();
        let oauth = out.find("<oauthConfig>").unwrap();
        let profile = out.find("<profileName>").unwrap();
        let saml = out.find("<samlConfig>").unwrap();
        let session = out.find("<sessionPolicy>").unwrap();
        assert!(oauth < profile && profile < saml && saml < session, "{out}");
        assert!(!out.contains("futureField"));
        // The consumer key and secret are never sent back; the rest of oauthConfig is.
        assert!(
            !out.contains("consumerKey") && !out.contains("topsecret"),
            "{out}"
        );
        assert!(
            out.contains("<callbackUrl>https://x/cb</callbackUrl>"),
            "{out}"
        );
        let mut desired = app.clone();
        desired.unmanaged = UnmanagedFields::default();
        assert!(desired.same_managed_fields(&app));
    }

    #[test]
    fn bad_enum_token_in_response_is_an_error() {
        let x = r#"<records><fullName>A</fullName><contactEmail>a</contactEmail><label>A</label><samlConfig><acsUrl>u</acsUrl><entityUrl>e</entityUrl><samlSubjectType>federationId</samlSubjectType></samlConfig></records>"#;
        let doc = xml::parse("test", x).unwrap();
        let e = ConnectedApp::parse(doc.root_element()).unwrap_err();
        assert!(e.contains("federationId"), "{e}");
    }
}
