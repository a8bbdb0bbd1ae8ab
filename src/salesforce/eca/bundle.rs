//! One External Client App as the operator manages it: the app and its two policies, named after
//! the app, and the files a deploy of them carries.

use super::app::{
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES, ExternalClientApplication,
    ExtlClntAppConfigurablePolicies, ExtlClntAppDistState, ExtlClntAppStartPage,
};
use super::deploy::package_xml;
use super::saml_policies::{
    EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES, ExtlClntAppSamlConfigurablePolicies,
};

/// One External Client App as the operator manages it: the app, its configurable policies and
/// its SAML policies. Policies are `None` when absent in the org (read) or not to be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalClientAppBundle {
    pub app: ExternalClientApplication,
    pub policies: Option<ExtlClntAppConfigurablePolicies>,
    pub saml_policies: Option<ExtlClntAppSamlConfigurablePolicies>,
}

impl ExternalClientAppBundle {
    /// fullName the operator gives the app's `ExtlClntAppConfigurablePolicies`: `<app>_plcy`.
    pub fn policies_name(app: &str) -> String {
        format!("{app}_plcy")
    }

    /// fullName the operator gives the app's `ExtlClntAppSamlConfigurablePolicies`:
    /// `<app>_samlPlcy`.
    pub fn saml_policies_name(app: &str) -> String {
        format!("{app}_samlPlcy")
    }

    /// A SAML app: `distributionState` Local, policies enabled with the SAML plugin on and
    /// start page SAML, SAML policies with the two required URLs. Fill in the rest.
    pub fn new_saml(
        name: impl Into<String>,
        label: impl Into<String>,
        acs_url: impl Into<String>,
        entity_url: impl Into<String>,
    ) -> Self {
        let name = name.into();
        let label = label.into();
        ExternalClientAppBundle {
            app: ExternalClientApplication {
                full_name: name.clone(),
                distribution_state: Some(ExtlClntAppDistState::Local),
                label: Some(label.clone()),
                ..Default::default()
            },
            policies: Some(ExtlClntAppConfigurablePolicies {
                full_name: Self::policies_name(&name),
                external_client_application: name.clone(),
                is_enabled: true,
                is_oauth_plugin_enabled: Some(false),
                is_saml_plugin_enabled: Some(true),
                label: Some(label.clone()),
                start_page: Some(ExtlClntAppStartPage::Saml),
                ..Default::default()
            }),
            saml_policies: Some(ExtlClntAppSamlConfigurablePolicies {
                full_name: Self::saml_policies_name(&name),
                acs_url: acs_url.into(),
                entity_url: entity_url.into(),
                external_client_application: name,
                label: Some(label),
                ..Default::default()
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.app.full_name
    }

    /// Equal apart from what the org generates (`orgScopedExternalApp`): drift detection.
    pub fn same_managed_fields(&self, other: &ExternalClientAppBundle) -> bool {
        let strip = |b: &ExternalClientAppBundle| {
            let mut b = b.clone();
            b.app.org_scoped_external_app = None;
            b
        };
        strip(self) == strip(other)
    }

    /// (type, fullName) of every component, in dependency order.
    pub fn components(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![(EXTERNAL_CLIENT_APPLICATION, self.app.full_name.as_str())];
        if let Some(p) = &self.policies {
            out.push((EXTL_CLNT_APP_CONFIGURABLE_POLICIES, p.full_name.as_str()));
        }
        if let Some(p) = &self.saml_policies {
            out.push((
                EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
                p.full_name.as_str(),
            ));
        }
        out
    }

    /// The deploy zip's files: (path, content).
    pub fn files(&self, api_version: &str) -> Vec<(String, String)> {
        let mut files = vec![(
            "package.xml".to_string(),
            package_xml(&self.components(), api_version),
        )];
        // The org stamps its own id into orgScopedExternalApp; never echo one back.
        let mut app = self.app.clone();
        app.org_scoped_external_app = None;
        files.push((
            format!("externalClientApps/{}.eca", app.full_name),
            app.render_file(),
        ));
        if let Some(p) = &self.policies {
            files.push((
                format!("extlClntAppPolicies/{}.ecaPlcy", p.full_name),
                p.render_file(),
            ));
        }
        if let Some(p) = &self.saml_policies {
            files.push((
                format!(
                    "extlClntAppSamlConfigurablePolicies/{}.ecaSamlPlcy",
                    p.full_name
                ),
                p.render_file(),
            ));
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::eca::app::ExtlClntAppManagedType;
    use crate::salesforce::eca::deploy::DeployStatus;
    use crate::salesforce::eca::saml_policies::{
        ExtlClntAppNameIdFormatType, ExtlClntAppSamlAttribute, ExtlClntAppSamlBindingType,
        ExtlClntAppSamlEncryptType, ExtlClntAppSamlSignAlgoType, ExtlClntAppSamlSubjectType,
    };
    use crate::salesforce::model::{
        SamlIdpSloBinding, SamlNameIdFormatType, SamlSigningAlgoType, SamlSubjectType,
    };
    use crate::salesforce::wsdl::tokens;
    use crate::salesforce::xml;

    fn full_bundle() -> ExternalClientAppBundle {
        let mut b = ExternalClientAppBundle::new_saml(
            "Voice_ECA",
            "Voice & SSO",
            "https://sp.example.com/acs",
            "https://sp.example.com",
        );
        b.app.contact_email = Some("ops@acme.com".into());
        b.app.contact_phone = Some("+1 555 0100".into());
        b.app.description =
            Some("Partner telephony\nManaged by sso-operator: ns/voice (uid 42)".into());
        b.app.icon_url = Some("https://x/icon.png".into());
        b.app.info_url = Some("https://x/info".into());
        b.app.is_protected = Some(false);
        b.app.logo_url = Some("https://x/logo.png".into());
        b.app.managed_type = Some(ExtlClntAppManagedType::Local);
        b.app.org_scoped_external_app = Some("00D000000000001AAA:Voice_ECA".into());
        let p = b.policies.as_mut().unwrap();
        p.is_mobile_plugin_enabled = Some(false);
        p.is_notification_plugin_enabled = Some(false);
        p.is_push_plugin_enabled = Some(false);
        p.start_url = Some("https://sp.example.com/start".into());
        let s = b.saml_policies.as_mut().unwrap();
        s.certificate = Some("SPCERT".into());
        s.comma_separated_permission_set = Some("Voice_Agent".into());
        s.comma_separated_profile = Some("System Administrator,Contact Center Agent".into());
        s.custom_attributes = vec![ExtlClntAppSamlAttribute {
            formula: "$User.Country".into(),
            key: "country".into(),
        }];
        s.encryption_certificate = Some("ENC".into());
        s.encryption_type = Some(ExtlClntAppSamlEncryptType::Aes256);
        s.issuer = Some("https://idp.acme.example".into());
        s.name_id_format = Some(SamlNameIdFormatType::Persistent);
        s.signing_algorithm_type = Some(SamlSigningAlgoType::Sha256);
        s.single_logout_binding_type = Some(SamlIdpSloBinding::PostBinding);
        s.single_logout_url = Some("https://sp.example.com/slo".into());
        s.start_url = Some("https://sp.example.com/deprecated-start".into());
        s.subject_custom_attribute = Some("$User.Email".into());
        s.subject_type = Some(SamlSubjectType::CustomAttribute);
        b
    }

    #[test]
    fn app_renders_in_wsdl_order() {
        let b = full_bundle();
        assert_eq!(
            b.app.render_metadata(),
            concat!(
                r#"<metadata xsi:type="ExternalClientApplication"><fullName>Voice_ECA</fullName>"#,
                "<contactEmail>ops@acme.com</contactEmail><contactPhone>+1 555 0100</contactPhone>",
                "<description>Partner telephony\nManaged by sso-operator: ns/voice (uid 42)</description>",
                "<distributionState>Local</distributionState><iconUrl>https://x/icon.png</iconUrl>",
                "<infoUrl>https://x/info</infoUrl><isProtected>false</isProtected><label>Voice &amp; SSO</label>",
                "<logoUrl>https://x/logo.png</logoUrl><managedType>Local</managedType>",
                "<orgScopedExternalApp>00D000000000001AAA:Voice_ECA</orgScopedExternalApp></metadata>"
            )
        );
    }

    #[test]
    fn policies_render_in_wsdl_order() {
        let b = full_bundle();
        assert_eq!(
            b.policies.unwrap().render_file(),
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                r#"<ExtlClntAppConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">"#,
                "<externalClientApplication>Voice_ECA</externalClientApplication><isEnabled>true</isEnabled>",
                "<isMobilePluginEnabled>false</isMobilePluginEnabled><isNotificationPluginEnabled>false</isNotificationPluginEnabled>",
                "<isOauthPluginEnabled>false</isOauthPluginEnabled><isPushPluginEnabled>false</isPushPluginEnabled>",
                "<isSamlPluginEnabled>true</isSamlPluginEnabled><label>Voice &amp; SSO</label>",
                "<startPage>SAML</startPage><startUrl>https://sp.example.com/start</startUrl>",
                "</ExtlClntAppConfigurablePolicies>\n"
            )
        );
    }

    #[test]
    fn saml_policies_render_in_wsdl_order() {
        let b = full_bundle();
        assert_eq!(
            b.saml_policies.unwrap().render_metadata(),
            concat!(
                r#"<metadata xsi:type="ExtlClntAppSamlConfigurablePolicies"><fullName>Voice_ECA_samlPlcy</fullName>"#,
                "<acsUrl>https://sp.example.com/acs</acsUrl><certificate>SPCERT</certificate>",
                "<commaSeparatedPermissionSet>Voice_Agent</commaSeparatedPermissionSet>",
                "<commaSeparatedProfile>System Administrator,Contact Center Agent</commaSeparatedProfile>",
                "<customAttributes><formula>$User.Country</formula><key>country</key></customAttributes>",
                "<encryptionCertificate>ENC</encryptionCertificate><encryptionType>AES_256</encryptionType>",
                "<entityUrl>https://sp.example.com</entityUrl><externalClientApplication>Voice_ECA</externalClientApplication>",
                "<issuer>https://idp.acme.example</issuer><label>Voice &amp; SSO</label>",
                "<nameIdFormat>Persistent</nameIdFormat><signingAlgorithmType>SHA256</signingAlgorithmType>",
                "<singleLogoutBindingType>PostBinding</singleLogoutBindingType>",
                "<singleLogoutUrl>https://sp.example.com/slo</singleLogoutUrl>",
                "<startUrl>https://sp.example.com/deprecated-start</startUrl>",
                "<subjectCustomAttribute>$User.Email</subjectCustomAttribute><subjectType>CustomAttribute</subjectType>",
                "</metadata>"
            )
        );
    }

    #[test]
    fn minimal_bundle_files_and_package_xml() {
        let b = ExternalClientAppBundle::new_saml("A", "A", "https://sp/acs", "https://sp");
        let files = b.files("63.0");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "package.xml",
                "externalClientApps/A.eca",
                "extlClntAppPolicies/A_plcy.ecaPlcy",
                "extlClntAppSamlConfigurablePolicies/A_samlPlcy.ecaSamlPlcy"
            ]
        );
        assert_eq!(
            files[0].1,
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                r#"<Package xmlns="http://soap.sforce.com/2006/04/metadata">"#,
                "<types><members>A</members><name>ExternalClientApplication</name></types>",
                "<types><members>A_plcy</members><name>ExtlClntAppConfigurablePolicies</name></types>",
                "<types><members>A_samlPlcy</members><name>ExtlClntAppSamlConfigurablePolicies</name></types>",
                "<version>63.0</version></Package>\n"
            )
        );
        assert_eq!(
            files[3].1,
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                r#"<ExtlClntAppSamlConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">"#,
                "<acsUrl>https://sp/acs</acsUrl><entityUrl>https://sp</entityUrl>",
                "<externalClientApplication>A</externalClientApplication><label>A</label>",
                "</ExtlClntAppSamlConfigurablePolicies>\n"
            )
        );
    }

    #[test]
    fn files_never_carry_org_scoped_external_app() {
        let files = full_bundle().files("63.0");
        assert!(
            !files[1].1.contains("orgScopedExternalApp"),
            "{}",
            files[1].1
        );
    }

    #[test]
    fn every_model_round_trips_through_xml() {
        let b = full_bundle();
        let as_record = |m: String, t: &str| {
            m.replace(
                &format!("<metadata xsi:type=\"{t}\">"),
                &format!("<records xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"{t}\">"),
            )
            .replace("</metadata>", "</records>")
        };
        let x = as_record(b.app.render_metadata(), EXTERNAL_CLIENT_APPLICATION);
        let doc = xml::parse("t", &x).unwrap();
        assert_eq!(
            ExternalClientApplication::parse(doc.root_element()).unwrap(),
            b.app
        );
        let p = b.policies.clone().unwrap();
        let x = as_record(p.render_metadata(), EXTL_CLNT_APP_CONFIGURABLE_POLICIES);
        let doc = xml::parse("t", &x).unwrap();
        assert_eq!(
            ExtlClntAppConfigurablePolicies::parse(doc.root_element()).unwrap(),
            p
        );
        let s = b.saml_policies.clone().unwrap();
        let x = as_record(
            s.render_metadata(),
            EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
        );
        let doc = xml::parse("t", &x).unwrap();
        assert_eq!(
            ExtlClntAppSamlConfigurablePolicies::parse(doc.root_element()).unwrap(),
            s
        );
    }

    #[test]
    fn eca_enum_tokens_match_the_wsdl() {
        let pinned = [
            (
                tokens(ExtlClntAppDistState::ALL),
                "Local|Packaged|Managed|AutoInstalled",
            ),
            (tokens(ExtlClntAppManagedType::ALL), "Local|Global"),
            (tokens(ExtlClntAppStartPage::ALL), "None|Custom|OAuth|SAML"),
            (tokens(ExtlClntAppSamlEncryptType::ALL), "AES_128|AES_256"),
            // The aliased families have exactly the ECA enums' tokens in the v63.0 WSDL.
            (
                tokens(ExtlClntAppNameIdFormatType::ALL),
                "Unspecified|EmailAddress|Persistent|Transient",
            ),
            (tokens(ExtlClntAppSamlSignAlgoType::ALL), "SHA1|SHA256"),
            (
                tokens(ExtlClntAppSamlBindingType::ALL),
                "RedirectBinding|PostBinding",
            ),
            (
                tokens(ExtlClntAppSamlSubjectType::ALL),
                "Username|FederationId|UserId|SpokeId|CustomAttribute|PersistentId",
            ),
            (
                tokens(DeployStatus::ALL),
                "Pending|InProgress|Succeeded|SucceededPartial|Failed|Canceling|Canceled",
            ),
        ];
        for (got, want) in pinned {
            assert_eq!(got, want);
        }
    }
}
