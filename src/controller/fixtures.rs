//! Test fixtures: resources as users write them, real certificates, and an in-memory org that
//! implements [`OrgApi`] the way the reconcile stages rely on it (reads see earlier writes,
//! `createMetadata` never overwrites, a blocked org refuses connected-app creation), so reconcile
//! decisions are unit-tested without a cluster or a simulator process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use crate::api::SsoConnectedApp;
use crate::api::app::{AppStatus, AppType, SsoConnectedAppSpec, SsoConnectedAppStatus};
use crate::api::conditions::{self, Desired, reasons, types};
use crate::controller::org_api::{FoundApp, OrgApi, WantedApp};
use crate::salesforce::{
    AccessGrant, CertInfo, CertificateMetadata, ComponentError, ConnectedApp,
    ExternalClientAppBundle, IdentityProviderSettings, IdpMetadata, ReadPriority, SalesforceError,
};

/// The cluster the tests' operator runs in (its name in ownership markers).
pub const CLUSTER: &str = "test-cluster";

/// The marker `namespace/name` with `uid` writes in [`CLUSTER`].
pub fn marker_of(namespace: &str, name: &str, uid: &str) -> String {
    crate::ownership::marker(&crate::ownership::Claimant {
        namespace,
        name,
        uid,
        cluster: CLUSTER,
    })
}

/// The IdP certificate the test spec asks for.
pub const IDP_CERT: &str = "SelfSignedCert_IdP";
/// A second certificate in the org (for rotations and disagreements).
pub const OTHER_CERT: &str = "Rotated_IdP";

/// A spec as a user writes it (connected app `Telephony_SSO`, two profiles, single logout).
pub fn spec() -> SsoConnectedAppSpec {
    serde_json::from_value(serde_json::json!({
        "orgRef": {"name": "acme"},
        "identityProvider": {"certificate": IDP_CERT},
        "app": {"apiName": "Telephony_SSO", "label": "Telephony SSO", "contactEmail": "a@b.example"},
        "saml": {"acsUrl": "https://sso.vendor.example/acs", "entityId": "https://sso.vendor.example/sp",
                 "subjectType": "FederationId",
                 "singleLogout": {"url": "https://sso.vendor.example/slo"}},
        "access": {"profiles": ["Contact Center Agent", "System Administrator"]}
    }))
    .expect("test spec")
}

/// An `SsoConnectedApp` `namespace/name` for app `api_name`, created at `created` (RFC 3339).
pub fn app_named(namespace: &str, name: &str, api_name: &str, created: &str) -> SsoConnectedApp {
    let mut spec = spec();
    spec.app.api_name = api_name.into();
    let mut app = SsoConnectedApp::new(name, spec);
    app.metadata.namespace = Some(namespace.into());
    app.metadata.uid = Some(format!("uid-{namespace}-{name}"));
    app.metadata.generation = Some(1);
    app.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        created.parse().expect("timestamp"),
    ));
    app
}

/// The resource most tests reconcile: `team-a/voice` for connected app `Telephony_SSO`.
/// A `SalesforceOrg` `acme` choosing IdP certificate `current` with a planned rotation to `next`.
pub fn org_rotating(current: &str, next: &str) -> crate::api::SalesforceOrg {
    crate::api::SalesforceOrg::new(
        "acme",
        serde_json::from_value(serde_json::json!({
            "instanceUrl": "https://acme.my.salesforce.com",
            "auth": {"clientCredentials": {"secretRef": {"name": "cc"}}},
            "identityProvider": {"certificate": current, "rotation": {"nextCertificate": next}}
        }))
        .expect("a valid SalesforceOrg spec"),
    )
}

pub fn test_app() -> SsoConnectedApp {
    app_named("team-a", "voice", "Telephony_SSO", "2026-01-01T00:00:00Z")
}

/// `app` as if it already held its app in Salesforce (`AppReady=True` for its generation).
pub fn ready(mut app: SsoConnectedApp) -> SsoConnectedApp {
    let conds = conditions::merge(
        &[],
        &[Desired::new(types::APP_READY, true, reasons::SYNCED, "ok")],
        app.metadata.generation,
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
    );
    app.status = Some(SsoConnectedAppStatus {
        observed_generation: app.metadata.generation,
        conditions: conds,
        app: Some(AppStatus {
            type_: app.spec.app.type_,
            api_name: app.spec.app.api_name.as_str().into(),
            id: None,
            origin: None,
        }),
        ..Default::default()
    });
    app
}

/// A real self-signed certificate valid until 2030-01-01, and what IdP metadata says of it.
#[derive(Clone, Debug)]
pub struct TestCert {
    pub pem: String,
    pub info: CertInfo,
}

/// The test certificates by name ([`IDP_CERT`], [`OTHER_CERT`]), made once per process.
pub fn cert(name: &str) -> TestCert {
    static CERTS: OnceLock<HashMap<&'static str, TestCert>> = OnceLock::new();
    let certs = CERTS.get_or_init(|| {
        [IDP_CERT, OTHER_CERT]
            .into_iter()
            .map(|n| (n, make_cert(n)))
            .collect()
    });
    certs.get(name).cloned().expect("known test certificate")
}

fn make_cert(name: &str) -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let pem = params.self_signed(&key).expect("certificate").pem();
    let info = CertInfo {
        pem: pem.clone(),
        not_after: "2030-01-01T00:00:00Z".parse().expect("timestamp"),
        sha256_fingerprint: crate::salesforce::pem_sha256_fingerprint(pem.as_bytes())
            .expect("fingerprint"),
        subject: format!("CN={name}"),
    };
    TestCert { pem, info }
}

/// The in-memory org's contents; tests set it up and inspect it.
pub struct FakeState {
    pub idp: Option<IdentityProviderSettings>,
    /// Certificates that exist in the org, by API name.
    pub certificates: Vec<String>,
    pub connected_apps: BTreeMap<String, ConnectedApp>,
    pub external_apps: BTreeMap<String, ExternalClientAppBundle>,
    /// The certificate the apps' metadata is signed with, when not the IdP's (a rotation seen
    /// by the metadata before the settings).
    pub metadata_signed_by: Option<String>,
    pub entity_id: String,
    /// Connected-app creation switched off (Spring '26).
    pub creation_blocked: bool,
    /// Operation → the error its calls return until removed.
    pub failing: HashMap<&'static str, SalesforceError>,
    /// Every call, by operation name.
    pub calls: Vec<&'static str>,
    /// External Client App (by name) → its `SetupEntityAccess` grants.
    pub grants: BTreeMap<String, Vec<AccessGrant>>,
    /// Deploys of an ECA's access fields replace its grants (absent fields: none) instead of
    /// adding to them (a name already granted then fails the deploy).
    pub access_replaces: bool,
    /// The org serves no per-ECA metadata document (404), only the org-level one.
    pub eca_metadata_missing: bool,
    /// Grant ids handed out so far.
    pub next_grant: u32,
    /// `readMetadata` returns no ECA policies (they are readable by `retrieve` only).
    pub policies_unreadable: bool,
}

/// An org with both test certificates, the Identity Provider off and no apps.
pub struct FakeOrg {
    pub state: Mutex<FakeState>,
}

/// Operations that change the org.
const WRITES: [&str; 5] = [
    "enableIdentityProvider",
    "createConnectedApp",
    "writeApp",
    "deleteApp",
    "revokeGrant",
];

impl Default for FakeOrg {
    fn default() -> Self {
        FakeOrg {
            state: Mutex::new(FakeState {
                idp: None,
                certificates: vec![IDP_CERT.into(), OTHER_CERT.into()],
                connected_apps: BTreeMap::new(),
                external_apps: BTreeMap::new(),
                metadata_signed_by: None,
                entity_id: "https://acme.my.salesforce.com".into(),
                creation_blocked: false,
                failing: HashMap::new(),
                calls: Vec::new(),
                grants: BTreeMap::new(),
                access_replaces: false,
                eca_metadata_missing: false,
                next_grant: 0,
                policies_unreadable: false,
            }),
        }
    }
}

impl FakeOrg {
    /// An org whose Identity Provider is enabled with `certificate`.
    pub fn with_idp(certificate: &str) -> Self {
        let org = FakeOrg::default();
        org.state().idp = Some(IdentityProviderSettings {
            certificate_name: certificate.into(),
            enable_identity_provider: true,
        });
        org
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every call of `operation` fail with `error`.
    pub fn fail(&self, operation: &'static str, error: SalesforceError) {
        self.state().failing.insert(operation, error);
    }

    /// The calls so far, and forgets them.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut self.state().calls)
    }

    /// How many calls of `operation` so far.
    pub fn count(&self, operation: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    /// How many of the calls so far changed the org.
    pub fn writes(&self) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| WRITES.contains(c))
            .count()
    }

    pub fn connected_app(&self, name: &str) -> Option<ConnectedApp> {
        self.state().connected_apps.get(name).cloned()
    }

    /// Someone changes connected app `name`'s ACS URL in Setup (drift).
    pub fn change_acs_url(&self, name: &str, url: &str) {
        let mut s = self.state();
        let app = s.connected_apps.get_mut(name).expect("the app exists");
        app.saml_config.as_mut().expect("a SAML app").acs_url = url.into();
    }

    /// The names granted access to External Client App `name`, profiles first, each sorted.
    pub fn granted(&self, name: &str) -> (Vec<String>, Vec<String>) {
        let s = self.state();
        let mut p = Vec::new();
        let mut ps = Vec::new();
        for g in s.grants.get(name).into_iter().flatten() {
            if g.by_profile {
                p.push(g.name.clone());
            } else {
                ps.push(g.name.clone());
            }
        }
        p.sort();
        ps.sort();
        (p, ps)
    }

    /// Records the call; the injected failure for it, if any.
    fn call(&self, operation: &'static str) -> Result<(), SalesforceError> {
        let mut s = self.state();
        s.calls.push(operation);
        match s.failing.get(operation) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn metadata(&self, app: &str) -> Result<IdpMetadata, SalesforceError> {
        let s = self.state();
        // `""`: the org's own document, served whenever the Identity Provider is on.
        let exists = app.is_empty()
            || s.connected_apps.contains_key(app)
            || s.external_apps.contains_key(app);
        let signer = match (&s.idp, &s.metadata_signed_by) {
            (_, Some(c)) => c.clone(),
            (Some(idp), None) if idp.enable_identity_provider && exists => {
                idp.certificate_name.clone()
            }
            _ => {
                return Err(SalesforceError::NotFound {
                    operation: "fetchIdpMetadata",
                    what: format!("IdP metadata for app '{app}'"),
                });
            }
        };
        let cert = cert(&signer).info;
        Ok(IdpMetadata {
            // Shaped as Salesforce serves it: one signing KeyDescriptor (a rotation's second key
            // is added next to it by the operator).
            xml: format!(
                concat!(
                    "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ",
                    "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{id}\">\n",
                    "  <!-- {app} signed by {fp} -->\n",
                    "  <md:IDPSSODescriptor protocolSupportEnumeration=",
                    "\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
                    "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>",
                    "<ds:X509Certificate>{b64}</ds:X509Certificate>",
                    "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
                    "  </md:IDPSSODescriptor>\n",
                    "</md:EntityDescriptor>"
                ),
                id = s.entity_id,
                app = app,
                fp = cert.sha256_fingerprint,
                b64 = pem_body(&cert.pem),
            ),
            entity_id: s.entity_id.clone(),
            sso_post: Some(format!("{}/idp/endpoint/HttpPost", s.entity_id)),
            sso_redirect: Some(format!("{}/idp/endpoint/HttpRedirect", s.entity_id)),
            slo: None,
            name_id_formats: vec![],
            signing_certificates: vec![cert],
            valid_until: None,
        })
    }
}

/// `createMetadata`'s answer for a name that exists.
pub fn duplicate(name: &str) -> SalesforceError {
    SalesforceError::Component {
        operation: "createMetadata",
        metadata_type: "ConnectedApp",
        full_name: name.into(),
        errors: vec![ComponentError {
            status_code: "DUPLICATE_DEVELOPER_NAME".into(),
            message: "exists".into(),
            fields: vec![],
        }],
    }
}

impl OrgApi for FakeOrg {
    async fn read_identity_provider(
        &self,
        _: ReadPriority,
    ) -> Result<Option<IdentityProviderSettings>, SalesforceError> {
        self.call("readIdentityProvider")?;
        Ok(self.state().idp.clone())
    }

    async fn read_certificate(
        &self,
        name: &str,
        _: ReadPriority,
    ) -> Result<Option<CertificateMetadata>, SalesforceError> {
        self.call("readCertificate")?;
        let exists = self.state().certificates.iter().any(|c| c == name);
        Ok(exists.then(|| CertificateMetadata {
            full_name: name.into(),
            master_label: name.into(),
            expiration_date: None,
            key_size: None,
            ca_signed: false,
            content: Some(cert(name).pem.into_bytes()),
        }))
    }

    async fn enable_identity_provider(&self, certificate: &str) -> Result<(), SalesforceError> {
        self.call("enableIdentityProvider")?;
        self.state().idp = Some(IdentityProviderSettings {
            certificate_name: certificate.into(),
            enable_identity_provider: true,
        });
        Ok(())
    }

    async fn list_apps(&self, kind: AppType) -> Result<Vec<String>, SalesforceError> {
        self.call(match kind {
            AppType::ConnectedApp => "listConnectedApps",
            AppType::ExternalClientApp => "listExternalClientApps",
        })?;
        let s = self.state();
        Ok(match kind {
            AppType::ConnectedApp => s.connected_apps.keys().cloned().collect(),
            AppType::ExternalClientApp => s.external_apps.keys().cloned().collect(),
        })
    }

    async fn read_app(
        &self,
        kind: AppType,
        name: &str,
        _: ReadPriority,
    ) -> Result<FoundApp, SalesforceError> {
        self.call("readApp")?;
        let s = self.state();
        Ok(match kind {
            AppType::ConnectedApp => FoundApp::Connected(s.connected_apps.get(name).cloned()),
            AppType::ExternalClientApp => {
                let mut b = s.external_apps.get(name).cloned();
                if let Some(b) = b.as_mut().filter(|_| s.policies_unreadable) {
                    b.policies = None;
                    b.saml_policies = None;
                }
                FoundApp::External(b.map(Box::new))
            }
        })
    }

    async fn create_connected_app(&self, app: &ConnectedApp) -> Result<(), SalesforceError> {
        self.call("createConnectedApp")?;
        let mut s = self.state();
        if s.connected_apps.contains_key(&app.full_name) {
            return Err(duplicate(&app.full_name));
        }
        if s.creation_blocked {
            return Err(blocked(&app.full_name));
        }
        s.connected_apps.insert(app.full_name.clone(), app.clone());
        Ok(())
    }

    async fn write_app(&self, app: &WantedApp) -> Result<(), SalesforceError> {
        self.call("writeApp")?;
        let mut s = self.state();
        match app {
            WantedApp::Connected(a) => {
                if s.creation_blocked && !s.connected_apps.contains_key(&a.full_name) {
                    return Err(blocked(&a.full_name));
                }
                s.connected_apps.insert(a.full_name.clone(), a.clone());
            }
            WantedApp::External(b) => {
                let name = b.app.full_name.clone();
                let new = !s.external_apps.contains_key(&name);
                deploy_grants(&mut s, &name, b, new)?;
                s.external_apps.insert(name, (**b).clone());
            }
        }
        Ok(())
    }

    async fn delete_app(&self, kind: AppType, name: &str) -> Result<(), SalesforceError> {
        self.call("deleteApp")?;
        let mut s = self.state();
        match kind {
            AppType::ConnectedApp => s.connected_apps.remove(name).map(|_| ()),
            AppType::ExternalClientApp => {
                s.grants.remove(name);
                s.external_apps.remove(name).map(|_| ())
            }
        };
        Ok(())
    }

    async fn fetch_app_metadata(&self, name: &str) -> Result<IdpMetadata, SalesforceError> {
        self.call("fetchAppMetadata")?;
        let s = self.state();
        if s.eca_metadata_missing && s.external_apps.contains_key(name) {
            return Err(SalesforceError::NotFound {
                operation: "fetchIdpMetadata",
                what: format!("IdP metadata for app '{name}'"),
            });
        }
        drop(s);
        self.metadata(name)
    }

    async fn fetch_org_metadata(&self) -> Result<IdpMetadata, SalesforceError> {
        self.call("fetchOrgMetadata")?;
        self.metadata("")
    }

    async fn read_grants(&self, name: &str) -> Result<Option<Vec<AccessGrant>>, SalesforceError> {
        self.call("readGrants")?;
        let s = self.state();
        if !s.external_apps.contains_key(name) {
            return Ok(None);
        }
        Ok(Some(s.grants.get(name).cloned().unwrap_or_default()))
    }

    async fn revoke_grant(&self, id: &str) -> Result<(), SalesforceError> {
        self.call("revokeGrant")?;
        let mut s = self.state();
        for grants in s.grants.values_mut() {
            if let Some(i) = grants.iter().position(|g| g.id == id) {
                grants.remove(i);
                return Ok(());
            }
        }
        Err(SalesforceError::Fault {
            operation: "sobjectDelete",
            code: "NOT_FOUND".into(),
            message: "The requested resource does not exist".into(),
            kind: crate::salesforce::ErrorKind::Rejected,
        })
    }
}

/// What a deploy of ECA `name` does to its grants: a new app, or an org whose deploys replace,
/// gets exactly the listed names; otherwise the listed names are added, and one already granted
/// fails the deploy ("profile names are already taken", the field report of issue 15).
fn deploy_grants(
    s: &mut FakeState,
    name: &str,
    b: &ExternalClientAppBundle,
    new: bool,
) -> Result<(), SalesforceError> {
    let split = |v: &Option<String>| -> Vec<String> {
        v.as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    };
    let saml = b.saml_policies.as_ref();
    let listed: Vec<(String, bool)> = saml
        .map(|p| split(&p.comma_separated_profile))
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n, true))
        .chain(
            saml.map(|p| split(&p.comma_separated_permission_set))
                .unwrap_or_default()
                .into_iter()
                .map(|n| (n, false)),
        )
        .collect();
    let mut grants = if new || s.access_replaces {
        Vec::new()
    } else {
        s.grants.get(name).cloned().unwrap_or_default()
    };
    let taken: Vec<&str> = listed
        .iter()
        .filter(|(n, p)| {
            grants
                .iter()
                .any(|g| g.by_profile == *p && g.name.eq_ignore_ascii_case(n))
        })
        .map(|(n, _)| n.as_str())
        .collect();
    if !taken.is_empty() {
        return Err(SalesforceError::Component {
            operation: "deploy",
            metadata_type: "ExtlClntAppSamlConfigurablePolicies",
            full_name: name.into(),
            errors: vec![ComponentError {
                status_code: "FIELD_INTEGRITY_EXCEPTION".into(),
                message: format!("profile names are already taken: {}", taken.join(", ")),
                fields: vec![],
            }],
        });
    }
    for (n, by_profile) in listed {
        s.next_grant += 1;
        grants.push(AccessGrant {
            id: format!("0J0{:015}", s.next_grant),
            name: n,
            by_profile,
        });
    }
    s.grants.insert(name.to_string(), grants);
    Ok(())
}

/// The base64 body of a PEM certificate, as `ds:X509Certificate` carries it.
pub fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// The refusal of a connected-app creation in an org where it is switched off.
pub fn blocked(name: &str) -> SalesforceError {
    SalesforceError::CreationBlocked {
        full_name: name.into(),
        status_code: "CANNOT_CREATE_CONNECTED_APP".into(),
        message: "creating connected apps is not allowed".into(),
    }
}
