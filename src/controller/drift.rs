//! Where an app in the org differs from the app the spec asks for: the managed fields, typed, so
//! decisions (drift, access) match on fields rather than on their names.

use super::desired::{pem, set};
use super::org_api::{FoundApp, WantedApp};
use crate::salesforce::{
    ConnectedApp, ExternalClientAppBundle, ExtlClntAppDistState, SamlIdpSloBinding,
    SamlNameIdFormatType, SamlSigningAlgoType,
};

/// A managed field of an app in Salesforce, named (by [`Field::name`]) as Salesforce names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Label,
    ContactEmail,
    Description,
    ProfileName,
    PermissionSetName,
    SamlConfigAcsUrl,
    SamlConfigCertificate,
    SamlConfigEncryptionCertificate,
    SamlConfigEncryptionType,
    SamlConfigEntityUrl,
    SamlConfigIssuer,
    SamlConfigSamlIdpSloBindingEnum,
    SamlConfigSamlNameIdFormat,
    SamlConfigSamlSigningAlgoType,
    SamlConfigSamlSloUrl,
    SamlConfigSamlSubjectCustomAttr,
    SamlConfigSamlSubjectType,
    SamlConfig,
    DistributionState,
    PoliciesIsEnabled,
    PoliciesIsSamlPluginEnabled,
    Policies,
    SamlPoliciesAcsUrl,
    SamlPoliciesCertificate,
    SamlPoliciesCommaSeparatedPermissionSet,
    SamlPoliciesCommaSeparatedProfile,
    SamlPoliciesEncryptionCertificate,
    SamlPoliciesEncryptionType,
    SamlPoliciesEntityUrl,
    SamlPoliciesIssuer,
    SamlPoliciesNameIdFormat,
    SamlPoliciesSigningAlgorithmType,
    SamlPoliciesSingleLogoutBindingType,
    SamlPoliciesSingleLogoutUrl,
    SamlPoliciesSubjectCustomAttribute,
    SamlPoliciesSubjectType,
    SamlPolicies,
    App,
}

impl Field {
    /// The field as Salesforce names it (`samlConfig.acsUrl`); `app` for the app as a whole.
    pub fn name(self) -> &'static str {
        match self {
            Field::Label => "label",
            Field::ContactEmail => "contactEmail",
            Field::Description => "description",
            Field::ProfileName => "profileName",
            Field::PermissionSetName => "permissionSetName",
            Field::SamlConfigAcsUrl => "samlConfig.acsUrl",
            Field::SamlConfigCertificate => "samlConfig.certificate",
            Field::SamlConfigEncryptionCertificate => "samlConfig.encryptionCertificate",
            Field::SamlConfigEncryptionType => "samlConfig.encryptionType",
            Field::SamlConfigEntityUrl => "samlConfig.entityUrl",
            Field::SamlConfigIssuer => "samlConfig.issuer",
            Field::SamlConfigSamlIdpSloBindingEnum => "samlConfig.samlIdpSLOBindingEnum",
            Field::SamlConfigSamlNameIdFormat => "samlConfig.samlNameIdFormat",
            Field::SamlConfigSamlSigningAlgoType => "samlConfig.samlSigningAlgoType",
            Field::SamlConfigSamlSloUrl => "samlConfig.samlSloUrl",
            Field::SamlConfigSamlSubjectCustomAttr => "samlConfig.samlSubjectCustomAttr",
            Field::SamlConfigSamlSubjectType => "samlConfig.samlSubjectType",
            Field::SamlConfig => "samlConfig",
            Field::DistributionState => "distributionState",
            Field::PoliciesIsEnabled => "policies.isEnabled",
            Field::PoliciesIsSamlPluginEnabled => "policies.isSamlPluginEnabled",
            Field::Policies => "policies",
            Field::SamlPoliciesAcsUrl => "samlPolicies.acsUrl",
            Field::SamlPoliciesCertificate => "samlPolicies.certificate",
            Field::SamlPoliciesCommaSeparatedPermissionSet => {
                "samlPolicies.commaSeparatedPermissionSet"
            }
            Field::SamlPoliciesCommaSeparatedProfile => "samlPolicies.commaSeparatedProfile",
            Field::SamlPoliciesEncryptionCertificate => "samlPolicies.encryptionCertificate",
            Field::SamlPoliciesEncryptionType => "samlPolicies.encryptionType",
            Field::SamlPoliciesEntityUrl => "samlPolicies.entityUrl",
            Field::SamlPoliciesIssuer => "samlPolicies.issuer",
            Field::SamlPoliciesNameIdFormat => "samlPolicies.nameIdFormat",
            Field::SamlPoliciesSigningAlgorithmType => "samlPolicies.signingAlgorithmType",
            Field::SamlPoliciesSingleLogoutBindingType => "samlPolicies.singleLogoutBindingType",
            Field::SamlPoliciesSingleLogoutUrl => "samlPolicies.singleLogoutUrl",
            Field::SamlPoliciesSubjectCustomAttribute => "samlPolicies.subjectCustomAttribute",
            Field::SamlPoliciesSubjectType => "samlPolicies.subjectType",
            Field::SamlPolicies => "samlPolicies",
            Field::App => "app",
        }
    }

    /// Whether the field grants access (profiles, permission sets).
    pub fn is_access(self) -> bool {
        matches!(
            self,
            Field::ProfileName
                | Field::PermissionSetName
                | Field::SamlPoliciesCommaSeparatedProfile
                | Field::SamlPoliciesCommaSeparatedPermissionSet
        )
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The managed fields where `found` differs from `want` (`app` when there is no app of that kind).
pub fn differences_of(found: &FoundApp, want: &WantedApp) -> Vec<Field> {
    match (found, want) {
        (FoundApp::Connected(Some(a)), WantedApp::Connected(w)) => differences(w, a),
        (FoundApp::External(Some(b)), WantedApp::External(w)) => eca_differences(w, b),
        _ => vec![Field::App],
    }
}

/// An enumeration read back: a field the org left out holds its default. Which values are the
/// defaults is an assumption (docs/simulator.md, "Reality variants": `Unspecified`, `SHA256`,
/// `RedirectBinding`, `Local`); reads that omit them must not look like drift, or every refresh
/// would write.
fn or_default<T: Copy>(v: Option<T>, default: T) -> Option<T> {
    Some(v.unwrap_or(default))
}

/// A profile or permission-set list, compared as the org compares names: regardless of case.
fn name_set(v: &[String]) -> Vec<String> {
    let mut v: Vec<String> = set(v).iter().map(|s| s.to_ascii_lowercase()).collect();
    v.dedup();
    v
}

/// Normalises what the org returned the same way [`connected_app`] normalises the spec.
fn normalised(app: &ConnectedApp) -> ConnectedApp {
    let mut a = app.clone();
    a.profile_name = name_set(&a.profile_name);
    a.permission_set_name = name_set(&a.permission_set_name);
    a.description = a.description.as_ref().map(|d| d.trim().to_string());
    if let Some(c) = a.saml_config.as_mut() {
        c.certificate = pem(&c.certificate);
        c.encryption_certificate = pem(&c.encryption_certificate);
        c.saml_name_id_format =
            or_default(c.saml_name_id_format, SamlNameIdFormatType::Unspecified);
        c.saml_signing_algo_type =
            or_default(c.saml_signing_algo_type, SamlSigningAlgoType::Sha256);
        if c.saml_slo_url.is_some() {
            c.saml_idp_slo_binding =
                or_default(c.saml_idp_slo_binding, SamlIdpSloBinding::RedirectBinding);
        }
    }
    a
}

/// Managed fields where `actual` differs from `desired`, named as Salesforce names them.
pub fn differences(desired: &ConnectedApp, actual: &ConnectedApp) -> Vec<Field> {
    let (d, a) = (normalised(desired), normalised(actual));
    let mut out = Vec::new();
    let mut check = |field: Field, same: bool| {
        if !same {
            out.push(field);
        }
    };
    check(Field::Label, d.label == a.label);
    check(Field::ContactEmail, d.contact_email == a.contact_email);
    check(Field::Description, d.description == a.description);
    check(Field::ProfileName, d.profile_name == a.profile_name);
    check(
        Field::PermissionSetName,
        d.permission_set_name == a.permission_set_name,
    );
    match (&d.saml_config, &a.saml_config) {
        (Some(x), Some(y)) => {
            check(Field::SamlConfigAcsUrl, x.acs_url == y.acs_url);
            check(Field::SamlConfigCertificate, x.certificate == y.certificate);
            check(
                Field::SamlConfigEncryptionCertificate,
                x.encryption_certificate == y.encryption_certificate,
            );
            check(
                Field::SamlConfigEncryptionType,
                x.encryption_type == y.encryption_type,
            );
            check(Field::SamlConfigEntityUrl, x.entity_url == y.entity_url);
            check(Field::SamlConfigIssuer, x.issuer == y.issuer);
            check(
                Field::SamlConfigSamlIdpSloBindingEnum,
                x.saml_idp_slo_binding == y.saml_idp_slo_binding,
            );
            check(
                Field::SamlConfigSamlNameIdFormat,
                x.saml_name_id_format == y.saml_name_id_format,
            );
            check(
                Field::SamlConfigSamlSigningAlgoType,
                x.saml_signing_algo_type == y.saml_signing_algo_type,
            );
            check(
                Field::SamlConfigSamlSloUrl,
                x.saml_slo_url == y.saml_slo_url,
            );
            check(
                Field::SamlConfigSamlSubjectCustomAttr,
                x.saml_subject_custom_attr == y.saml_subject_custom_attr,
            );
            check(
                Field::SamlConfigSamlSubjectType,
                x.saml_subject_type == y.saml_subject_type,
            );
        }
        (x, y) => check(Field::SamlConfig, x.is_none() == y.is_none()),
    }
    out
}

/// Managed fields where the org's External Client App differs from the desired one.
pub fn eca_differences(
    desired: &ExternalClientAppBundle,
    actual: &ExternalClientAppBundle,
) -> Vec<Field> {
    let mut out = Vec::new();
    let mut check = |field: Field, same: bool| {
        if !same {
            out.push(field);
        }
    };
    let (d, a) = (&desired.app, &actual.app);
    check(Field::Label, d.label == a.label);
    check(Field::ContactEmail, d.contact_email == a.contact_email);
    check(
        Field::Description,
        d.description.as_deref().map(str::trim) == a.description.as_deref().map(str::trim),
    );
    check(
        Field::DistributionState,
        or_default(d.distribution_state, ExtlClntAppDistState::Local)
            == or_default(a.distribution_state, ExtlClntAppDistState::Local),
    );
    match (&desired.policies, &actual.policies) {
        (Some(x), Some(y)) => {
            check(Field::PoliciesIsEnabled, x.is_enabled == y.is_enabled);
            check(
                Field::PoliciesIsSamlPluginEnabled,
                x.is_saml_plugin_enabled == y.is_saml_plugin_enabled,
            );
        }
        (x, y) => check(Field::Policies, x.is_none() == y.is_none()),
    }
    match (&desired.saml_policies, &actual.saml_policies) {
        (Some(x), Some(y)) => {
            check(Field::SamlPoliciesAcsUrl, x.acs_url == y.acs_url);
            check(
                Field::SamlPoliciesCertificate,
                pem(&x.certificate) == pem(&y.certificate),
            );
            // Access (commaSeparatedProfile / commaSeparatedPermissionSet) is not compared here:
            // deploys only add to it and reads may give ids, so the access stage reads the
            // grants themselves (`SetupEntityAccess`).
            check(
                Field::SamlPoliciesEncryptionCertificate,
                pem(&x.encryption_certificate) == pem(&y.encryption_certificate),
            );
            check(
                Field::SamlPoliciesEncryptionType,
                x.encryption_type == y.encryption_type,
            );
            check(Field::SamlPoliciesEntityUrl, x.entity_url == y.entity_url);
            check(Field::SamlPoliciesIssuer, x.issuer == y.issuer);
            let fmt = |v| or_default(v, SamlNameIdFormatType::Unspecified);
            check(
                Field::SamlPoliciesNameIdFormat,
                fmt(x.name_id_format) == fmt(y.name_id_format),
            );
            let algo = |v| or_default(v, SamlSigningAlgoType::Sha256);
            check(
                Field::SamlPoliciesSigningAlgorithmType,
                algo(x.signing_algorithm_type) == algo(y.signing_algorithm_type),
            );
            let binding = |v| or_default(v, SamlIdpSloBinding::RedirectBinding);
            check(
                Field::SamlPoliciesSingleLogoutBindingType,
                x.single_logout_url.is_none()
                    || binding(x.single_logout_binding_type)
                        == binding(y.single_logout_binding_type),
            );
            check(
                Field::SamlPoliciesSingleLogoutUrl,
                x.single_logout_url == y.single_logout_url,
            );
            check(
                Field::SamlPoliciesSubjectCustomAttribute,
                x.subject_custom_attribute == y.subject_custom_attribute,
            );
            check(
                Field::SamlPoliciesSubjectType,
                x.subject_type == y.subject_type,
            );
        }
        (x, y) => check(Field::SamlPolicies, x.is_none() == y.is_none()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::desired::{connected_app, external_client_app};
    use crate::controller::fixtures::spec;
    use crate::salesforce::{ExtlClntAppDistState, SamlSubjectType};

    #[test]
    fn equal_apps_have_no_differences_whatever_the_list_order() {
        let desired = connected_app(&spec(), "M", None);
        let mut actual = desired.clone();
        actual.profile_name.reverse();
        assert!(differences(&desired, &actual).is_empty());
    }

    #[test]
    fn a_changed_acs_url_is_named() {
        let desired = connected_app(&spec(), "M", None);
        let mut actual = desired.clone();
        actual.saml_config.as_mut().unwrap().acs_url = "https://evil.example/acs".into();
        actual.label = "Other".into();
        assert_eq!(
            differences(&desired, &actual),
            vec![Field::Label, Field::SamlConfigAcsUrl]
        );
    }

    #[test]
    fn spec_maps_onto_external_client_app_policies() {
        let b = external_client_app(&spec(), "M", None);
        let saml = b.saml_policies.as_ref().unwrap();
        assert_eq!(b.app.distribution_state, Some(ExtlClntAppDistState::Local));
        assert_eq!(
            b.policies.as_ref().unwrap().is_saml_plugin_enabled,
            Some(true)
        );
        assert_eq!(saml.full_name, "Telephony_SSO_samlPlcy");
        assert_eq!(
            saml.comma_separated_profile.as_deref(),
            Some("Contact Center Agent,System Administrator")
        );
        assert_eq!(saml.subject_type, Some(SamlSubjectType::FederationId));
        assert!(eca_differences(&b, &b.clone()).is_empty());
        let mut drifted = b.clone();
        drifted.saml_policies.as_mut().unwrap().acs_url = "https://evil.example".into();
        assert_eq!(
            eca_differences(&b, &drifted),
            vec![Field::SamlPoliciesAcsUrl]
        );
    }

    #[test]
    fn unset_issuer_keeps_the_orgs_default() {
        let mut existing = connected_app(&spec(), "M", None);
        existing.saml_config.as_mut().unwrap().issuer =
            Some("https://acme.my.salesforce.com".into());
        let desired = connected_app(&spec(), "M", Some(&existing));
        assert!(differences(&desired, &existing).is_empty());
    }

    #[test]
    fn reads_that_leave_defaults_out_are_no_drift() {
        let desired = connected_app(&spec(), "M", None);
        let mut read = desired.clone();
        let c = read.saml_config.as_mut().unwrap();
        c.saml_name_id_format = None;
        c.saml_signing_algo_type = None;
        c.saml_idp_slo_binding = None;
        assert!(differences(&desired, &read).is_empty());
        // A value other than the default is still drift.
        read.saml_config.as_mut().unwrap().saml_signing_algo_type =
            Some(crate::salesforce::SamlSigningAlgoType::Sha1);
        assert_eq!(
            differences(&desired, &read),
            vec![Field::SamlConfigSamlSigningAlgoType]
        );

        let b = external_client_app(&spec(), "M", None);
        let mut read = b.clone();
        read.app.distribution_state = None;
        let p = read.saml_policies.as_mut().unwrap();
        p.name_id_format = None;
        p.signing_algorithm_type = None;
        p.single_logout_binding_type = None;
        assert!(eca_differences(&b, &read).is_empty());
    }

    #[test]
    fn profile_names_differing_only_in_case_are_no_drift() {
        let desired = connected_app(&spec(), "M", None);
        let mut read = desired.clone();
        read.profile_name = read
            .profile_name
            .iter()
            .map(|p| p.to_ascii_uppercase())
            .collect();
        assert!(differences(&desired, &read).is_empty());
    }

    #[test]
    fn eca_access_fields_are_left_to_the_access_stage() {
        // Reads may give ids, and an existing app's deploy carries no access: neither is drift.
        let b = external_client_app(&spec(), "M", None);
        let mut read = b.clone();
        read.saml_policies.as_mut().unwrap().comma_separated_profile =
            Some("00e000000000001AAA".into());
        assert!(eca_differences(&b, &read).is_empty());
        let update = external_client_app(&spec(), "M", Some(&read));
        assert_eq!(
            update
                .saml_policies
                .as_ref()
                .unwrap()
                .comma_separated_profile,
            None
        );
    }
}
