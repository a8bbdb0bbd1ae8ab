//! The Salesforce app the spec asks for, and the list of managed fields where an app in the org
//! differs from it. Pure functions: easy to test, and the reconciler compares before it writes.

use super::org_api::{FoundApp, WantedApp};
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
pub(super) fn set(v: &[impl AsRef<str>]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.as_ref().trim().to_string()).collect();
    v.sort();
    v.dedup();
    v
}

pub(super) fn pem(s: &Option<String>) -> Option<String> {
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
    app.contact_email = spec.app.contact_email.to_string();
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

/// Comma-separated, sorted: how External Client Apps hold profile and permission-set lists.
pub(super) fn comma_set(v: &[impl AsRef<str>]) -> Option<String> {
    let v = set(v);
    (!v.is_empty()).then(|| v.join(","))
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
    b.app.contact_email = Some(spec.app.contact_email.to_string());
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
    // Access travels with a new app only: on an existing one a deploy of these fields adds
    // grants (a name already granted fails it), so the access stage sends just the missing names
    // (`with_access`) and revokes through `SetupEntityAccess`.
    let new_app = existing.is_none();
    saml.comma_separated_profile = comma_set(&spec.access.profiles).filter(|_| new_app);
    saml.comma_separated_permission_set =
        comma_set(&spec.access.permission_sets).filter(|_| new_app);
    b.saml_policies = Some(saml);
    b
}

/// The bundle as [`external_client_app`] makes it, carrying exactly these access names: a grant
/// of what is missing (or, in an org whose deploys replace the grants, all of it).
pub fn with_access(
    mut bundle: ExternalClientAppBundle,
    profiles: &[impl AsRef<str>],
    permission_sets: &[impl AsRef<str>],
) -> ExternalClientAppBundle {
    if let Some(saml) = bundle.saml_policies.as_mut() {
        saml.comma_separated_profile = comma_set(profiles);
        saml.comma_separated_permission_set = comma_set(permission_sets);
    }
    bundle
}

/// The app the spec asks for, of the kind found, keeping what the found app has that the operator
/// does not manage.
pub fn wanted(found: &FoundApp, spec: &SsoConnectedAppSpec, marker: &str) -> WantedApp {
    match found {
        FoundApp::Connected(a) => WantedApp::Connected(connected_app(spec, marker, a.as_ref())),
        FoundApp::External(b) => {
            WantedApp::External(Box::new(external_client_app(spec, marker, b.as_deref())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fixtures::spec;

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
}
