//! The Salesforce app the spec asks for, and the list of managed fields where an app in the org
//! differs from it. Pure functions: easy to test, and the reconciler compares before it writes.

use crate::api::app::{
    EncryptionAlgorithm, LogoutBinding, NameIdFormat, SigningAlgorithm, SsoConnectedAppSpec,
    SubjectType,
};
use crate::ownership;
use crate::salesforce::{
    ConnectedApp, ConnectedAppSamlConfig, ExternalClientAppBundle, ExtlClntAppDistState,
    ExtlClntAppSamlEncryptType, SamlEncryptionType, SamlIdpSloBinding, SamlNameIdFormatType,
    SamlSigningAlgoType, SamlSubjectType,
};

fn subject(t: SubjectType) -> SamlSubjectType {
    match t {
        SubjectType::Username => SamlSubjectType::Username,
        SubjectType::FederationId => SamlSubjectType::FederationId,
        SubjectType::UserId => SamlSubjectType::UserId,
        SubjectType::CustomAttribute => SamlSubjectType::CustomAttribute,
        SubjectType::PersistentId => SamlSubjectType::PersistentId,
    }
}

fn name_id(f: NameIdFormat) -> SamlNameIdFormatType {
    match f {
        NameIdFormat::Unspecified => SamlNameIdFormatType::Unspecified,
        NameIdFormat::EmailAddress => SamlNameIdFormatType::EmailAddress,
        NameIdFormat::Persistent => SamlNameIdFormatType::Persistent,
        NameIdFormat::Transient => SamlNameIdFormatType::Transient,
    }
}

fn signing(a: SigningAlgorithm) -> SamlSigningAlgoType {
    match a {
        SigningAlgorithm::SHA256 => SamlSigningAlgoType::Sha256,
        SigningAlgorithm::SHA1 => SamlSigningAlgoType::Sha1,
    }
}

fn encryption(a: EncryptionAlgorithm) -> SamlEncryptionType {
    match a {
        EncryptionAlgorithm::AES_128 => SamlEncryptionType::Aes128,
        EncryptionAlgorithm::AES_256 => SamlEncryptionType::Aes256,
    }
}

fn slo_binding(b: LogoutBinding) -> SamlIdpSloBinding {
    match b {
        LogoutBinding::Redirect => SamlIdpSloBinding::RedirectBinding,
        LogoutBinding::Post => SamlIdpSloBinding::PostBinding,
    }
}

/// Sorted and de-duplicated: access lists are sets, and Salesforce may return them in any order.
fn set(v: &[String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.trim().to_string()).collect();
    v.sort();
    v.dedup();
    v
}

fn pem(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|p| p.trim().to_string())
}

/// The app as the spec wants it. Starts from `existing` (when there is one) so fields the operator
/// does not manage, such as an admin's OAuth settings, survive the upsert.
pub fn connected_app(
    spec: &SsoConnectedAppSpec,
    marker: &str,
    existing: Option<&ConnectedApp>,
) -> ConnectedApp {
    let mut app = existing
        .cloned()
        .unwrap_or_else(|| ConnectedApp::new(&spec.app.api_name, "", ""));
    app.full_name = spec.app.api_name.clone();
    app.label = spec.app.label.clone();
    app.contact_email = spec.app.contact_email.clone();
    app.description = Some(ownership::description_with_marker(
        spec.app.description.as_deref(),
        marker,
    ));
    app.profile_name = set(&spec.access.profiles);
    app.permission_set_name = set(&spec.access.permission_sets);

    let s = &spec.saml;
    let mut saml = ConnectedAppSamlConfig::new(&s.acs_url, &s.entity_id, subject(s.subject_type));
    saml.certificate = pem(&s.request_signing_certificate);
    if let Some(e) = &s.encryption {
        saml.encryption_certificate = Some(e.certificate.trim().to_string());
        saml.encryption_type = Some(encryption(e.algorithm));
    }
    // Without an explicit issuer Salesforce uses the org's IdP entity id; keep whatever the org
    // reports so that default is not mistaken for drift.
    saml.issuer = match &s.issuer {
        Some(i) => Some(i.clone()),
        None => existing
            .and_then(|a| a.saml_config.as_ref())
            .and_then(|c| c.issuer.clone()),
    };
    if let Some(slo) = &s.single_logout {
        saml.saml_slo_url = Some(slo.url.clone());
        saml.saml_idp_slo_binding = Some(slo_binding(slo.binding));
    }
    saml.saml_name_id_format = Some(name_id(s.name_id_format));
    saml.saml_signing_algo_type = Some(signing(s.signing_algorithm));
    saml.saml_subject_custom_attr = s.subject_custom_attribute.clone();
    app.saml_config = Some(saml);
    app
}

/// Normalises what the org returned the same way [`connected_app`] normalises the spec.
fn normalised(app: &ConnectedApp) -> ConnectedApp {
    let mut a = app.clone();
    a.profile_name = set(&a.profile_name);
    a.permission_set_name = set(&a.permission_set_name);
    a.description = a.description.as_ref().map(|d| d.trim().to_string());
    if let Some(c) = a.saml_config.as_mut() {
        c.certificate = pem(&c.certificate);
        c.encryption_certificate = pem(&c.encryption_certificate);
    }
    a
}

/// Managed fields where `actual` differs from `desired`, named as Salesforce names them.
pub fn differences(desired: &ConnectedApp, actual: &ConnectedApp) -> Vec<String> {
    let (d, a) = (normalised(desired), normalised(actual));
    let mut out = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            out.push(name.to_string());
        }
    };
    check("label", d.label == a.label);
    check("contactEmail", d.contact_email == a.contact_email);
    check("description", d.description == a.description);
    check("profileName", d.profile_name == a.profile_name);
    check(
        "permissionSetName",
        d.permission_set_name == a.permission_set_name,
    );
    match (&d.saml_config, &a.saml_config) {
        (Some(x), Some(y)) => {
            check("samlConfig.acsUrl", x.acs_url == y.acs_url);
            check("samlConfig.certificate", x.certificate == y.certificate);
            check(
                "samlConfig.encryptionCertificate",
                x.encryption_certificate == y.encryption_certificate,
            );
            check(
                "samlConfig.encryptionType",
                x.encryption_type == y.encryption_type,
            );
            check("samlConfig.entityUrl", x.entity_url == y.entity_url);
            check("samlConfig.issuer", x.issuer == y.issuer);
            check(
                "samlConfig.samlIdpSLOBindingEnum",
                x.saml_idp_slo_binding == y.saml_idp_slo_binding,
            );
            check(
                "samlConfig.samlNameIdFormat",
                x.saml_name_id_format == y.saml_name_id_format,
            );
            check(
                "samlConfig.samlSigningAlgoType",
                x.saml_signing_algo_type == y.saml_signing_algo_type,
            );
            check("samlConfig.samlSloUrl", x.saml_slo_url == y.saml_slo_url);
            check(
                "samlConfig.samlSubjectCustomAttr",
                x.saml_subject_custom_attr == y.saml_subject_custom_attr,
            );
            check(
                "samlConfig.samlSubjectType",
                x.saml_subject_type == y.saml_subject_type,
            );
        }
        (x, y) => check("samlConfig", x.is_none() == y.is_none()),
    }
    out
}

/// Comma-separated, sorted: how External Client Apps hold profile and permission-set lists.
fn comma_set(v: &[String]) -> Option<String> {
    let v = set(v);
    (!v.is_empty()).then(|| v.join(","))
}

fn split_set(s: &Option<String>) -> Option<String> {
    let v: Vec<String> = s
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .filter(|p| !p.trim().is_empty())
        .collect();
    comma_set(&v)
}

/// The External Client App bundle the spec asks for: the same `saml` and `access` fields mapped
/// onto `ExternalClientApplication` (distribution state Local), its configurable policies (SAML
/// plugin on) and its SAML policies. Starts from `existing` so unmanaged settings survive.
pub fn external_client_app(
    spec: &SsoConnectedAppSpec,
    marker: &str,
    existing: Option<&ExternalClientAppBundle>,
) -> ExternalClientAppBundle {
    let s = &spec.saml;
    let name = &spec.app.api_name;
    let fresh = ExternalClientAppBundle::new_saml(name, &spec.app.label, &s.acs_url, &s.entity_id);
    let mut b = existing.cloned().unwrap_or_else(|| fresh.clone());
    b.app.full_name = name.clone();
    b.app.label = Some(spec.app.label.clone());
    b.app.contact_email = Some(spec.app.contact_email.clone());
    b.app.description = Some(ownership::description_with_marker(
        spec.app.description.as_deref(),
        marker,
    ));
    b.app.distribution_state = Some(ExtlClntAppDistState::Local);
    let mut policies = b
        .policies
        .take()
        .or(fresh.policies.clone())
        .unwrap_or_default();
    policies.full_name = ExternalClientAppBundle::policies_name(name);
    policies.external_client_application = name.clone();
    policies.is_enabled = true;
    policies.is_saml_plugin_enabled = Some(true);
    b.policies = Some(policies);
    let mut saml = b
        .saml_policies
        .take()
        .or(fresh.saml_policies.clone())
        .unwrap_or_default();
    saml.full_name = ExternalClientAppBundle::saml_policies_name(name);
    saml.external_client_application = name.clone();
    saml.acs_url = s.acs_url.clone();
    saml.entity_url = s.entity_id.clone();
    saml.subject_type = Some(subject(s.subject_type));
    saml.subject_custom_attribute = s.subject_custom_attribute.clone();
    saml.name_id_format = Some(name_id(s.name_id_format));
    if s.issuer.is_some() {
        saml.issuer = s.issuer.clone();
    }
    saml.signing_algorithm_type = Some(signing(s.signing_algorithm));
    saml.certificate = pem(&s.request_signing_certificate);
    saml.encryption_certificate = s
        .encryption
        .as_ref()
        .map(|e| e.certificate.trim().to_string());
    saml.encryption_type = s.encryption.as_ref().map(|e| match e.algorithm {
        EncryptionAlgorithm::AES_128 => ExtlClntAppSamlEncryptType::Aes128,
        EncryptionAlgorithm::AES_256 => ExtlClntAppSamlEncryptType::Aes256,
    });
    saml.single_logout_url = s.single_logout.as_ref().map(|l| l.url.clone());
    saml.single_logout_binding_type = s.single_logout.as_ref().map(|l| slo_binding(l.binding));
    saml.comma_separated_profile = comma_set(&spec.access.profiles);
    saml.comma_separated_permission_set = comma_set(&spec.access.permission_sets);
    b.saml_policies = Some(saml);
    b
}

/// Managed fields where the org's External Client App differs from the desired one.
pub fn eca_differences(
    desired: &ExternalClientAppBundle,
    actual: &ExternalClientAppBundle,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            out.push(name.to_string());
        }
    };
    let (d, a) = (&desired.app, &actual.app);
    check("label", d.label == a.label);
    check("contactEmail", d.contact_email == a.contact_email);
    check(
        "description",
        d.description.as_deref().map(str::trim) == a.description.as_deref().map(str::trim),
    );
    check(
        "distributionState",
        d.distribution_state == a.distribution_state,
    );
    match (&desired.policies, &actual.policies) {
        (Some(x), Some(y)) => {
            check("policies.isEnabled", x.is_enabled == y.is_enabled);
            check(
                "policies.isSamlPluginEnabled",
                x.is_saml_plugin_enabled == y.is_saml_plugin_enabled,
            );
        }
        (x, y) => check("policies", x.is_none() == y.is_none()),
    }
    match (&desired.saml_policies, &actual.saml_policies) {
        (Some(x), Some(y)) => {
            check("samlPolicies.acsUrl", x.acs_url == y.acs_url);
            check(
                "samlPolicies.certificate",
                pem(&x.certificate) == pem(&y.certificate),
            );
            check(
                "samlPolicies.commaSeparatedPermissionSet",
                split_set(&x.comma_separated_permission_set)
                    == split_set(&y.comma_separated_permission_set),
            );
            check(
                "samlPolicies.commaSeparatedProfile",
                split_set(&x.comma_separated_profile) == split_set(&y.comma_separated_profile),
            );
            check(
                "samlPolicies.encryptionCertificate",
                pem(&x.encryption_certificate) == pem(&y.encryption_certificate),
            );
            check(
                "samlPolicies.encryptionType",
                x.encryption_type == y.encryption_type,
            );
            check("samlPolicies.entityUrl", x.entity_url == y.entity_url);
            check("samlPolicies.issuer", x.issuer == y.issuer);
            check(
                "samlPolicies.nameIdFormat",
                x.name_id_format == y.name_id_format,
            );
            check(
                "samlPolicies.signingAlgorithmType",
                x.signing_algorithm_type == y.signing_algorithm_type,
            );
            check(
                "samlPolicies.singleLogoutBindingType",
                x.single_logout_binding_type == y.single_logout_binding_type,
            );
            check(
                "samlPolicies.singleLogoutUrl",
                x.single_logout_url == y.single_logout_url,
            );
            check(
                "samlPolicies.subjectCustomAttribute",
                x.subject_custom_attribute == y.subject_custom_attribute,
            );
            check("samlPolicies.subjectType", x.subject_type == y.subject_type);
        }
        (x, y) => check("samlPolicies", x.is_none() == y.is_none()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SsoConnectedAppSpec {
        serde_json::from_value(serde_json::json!({
            "orgRef": {"name": "acme"},
            "identityProvider": {"certificate": "SelfSignedCert_IdP"},
            "app": {"apiName": "Telephony_SSO", "label": "Telephony SSO", "contactEmail": "a@b.example"},
            "saml": {"acsUrl": "https://sso.vendor.example/acs", "entityId": "https://sso.vendor.example/sp",
                     "subjectType": "FederationId",
                     "singleLogout": {"url": "https://sso.vendor.example/slo"}},
            "access": {"profiles": ["Contact Center Agent", "System Administrator"]}
        }))
        .unwrap()
    }

    #[test]
    fn spec_maps_onto_the_wsdl_fields() {
        let app = connected_app(&spec(), "M", None);
        let c = app.saml_config.as_ref().unwrap();
        assert_eq!(app.full_name, "Telephony_SSO");
        assert_eq!(app.description.as_deref(), Some("M"));
        assert_eq!(c.saml_subject_type, SamlSubjectType::FederationId);
        assert_eq!(c.saml_signing_algo_type, Some(SamlSigningAlgoType::Sha256));
        assert_eq!(
            c.saml_name_id_format,
            Some(SamlNameIdFormatType::Unspecified)
        );
        assert_eq!(
            c.saml_idp_slo_binding,
            Some(SamlIdpSloBinding::RedirectBinding)
        );
        assert_eq!(
            app.profile_name,
            vec!["Contact Center Agent", "System Administrator"]
        );
    }

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
            vec!["label", "samlConfig.acsUrl"]
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
        assert_eq!(eca_differences(&b, &drifted), vec!["samlPolicies.acsUrl"]);
    }

    #[test]
    fn unset_issuer_keeps_the_orgs_default() {
        let mut existing = connected_app(&spec(), "M", None);
        existing.saml_config.as_mut().unwrap().issuer =
            Some("https://acme.my.salesforce.com".into());
        let desired = connected_app(&spec(), "M", Some(&existing));
        assert!(differences(&desired, &existing).is_empty());
    }
}
