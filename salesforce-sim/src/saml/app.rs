//! The org's SAML service providers, read from the two kinds of apps that carry a SAML
//! configuration: a connected app's `samlConfig` (salesforce-api.md §1.3) and an External Client
//! App's `ExtlClntAppSamlConfigurablePolicies` (§8.2). Both become one [`SpApp`]: what the sign-in
//! endpoints need, whatever the element names.
//!
//! Each SAML app has a service-provider record id with key prefix `0sp`, the `app=` of the
//! IdP-initiated login URL (salesforce-api.md §14: public configurations all use
//! `/idp/login?app=0sp…`, 15 characters). How Salesforce numbers it is not known; the simulator
//! derives it from the app's own id (same pod and sequence, prefix `0sp`), so it is stable for
//! the app's lifetime and needs no extra state.

use crate::eca::kind::Kind;
use crate::idp_metadata::name_id_format_urn;
use crate::metadata_types::{self as mt, Elem};
use crate::state::{State, User, make_id};

/// Which metadata type the app is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    Connected,
    External,
}

impl AppKind {
    /// The type name the call log shows.
    pub fn type_name(self) -> &'static str {
        match self {
            AppKind::Connected => "ConnectedApp",
            AppKind::External => "ExternalClientApplication",
        }
    }
}

/// A SAML service provider of the org, as the sign-in endpoints see it.
#[derive(Debug, Clone)]
pub struct SpApp {
    pub kind: AppKind,
    /// The API name (connected app `fullName`, or the `ExternalClientApplication` name).
    pub name: String,
    /// The service-provider record id (18 characters, prefix `0sp`).
    pub sp_id: String,
    pub entity_id: String,
    pub acs_url: String,
    /// The app's `issuer`, if set (else the org's entity id is used).
    pub issuer: Option<String>,
    /// `samlSubjectType` / `subjectType` token.
    pub subject_type: String,
    pub subject_custom_attr: Option<String>,
    /// `samlNameIdFormat` / `nameIdFormat` token (absent: `Unspecified`).
    pub name_id_format: String,
    /// `SHA1` or `SHA256` (absent: SHA256, an assumption).
    pub signing_algorithm: String,
    /// PEM of the certificate that signs the SP's requests ("Verify Request Signatures").
    pub request_certificate: Option<String>,
    pub encryption_certificate: Option<String>,
    pub encryption_type: Option<String>,
    /// Profiles and permission sets granted the app (names; ECA entries may be ids, resolved).
    pub profiles: Vec<String>,
    pub permission_sets: Vec<String>,
    /// Custom attributes: (key, formula).
    pub attributes: Vec<(String, String)>,
    pub start_url: Option<String>,
    /// False when an ECA's `ExtlClntAppConfigurablePolicies.isEnabled` is not true.
    pub enabled: bool,
}

impl SpApp {
    /// The URN of the NameID format.
    pub fn name_id_format_urn(&self) -> &'static str {
        name_id_format_urn(&self.name_id_format)
    }

    /// The 15-character service-provider id, as IdP-initiated login URLs show it.
    pub fn sp_id15(&self) -> &str {
        &self.sp_id[..15]
    }

    /// Whether `user` may sign in to the app: its profile, or one of its permission sets, is
    /// granted the app.
    pub fn grants(&self, user: &User) -> bool {
        self.profiles.contains(&user.profile)
            || user
                .permission_sets
                .iter()
                .any(|p| self.permission_sets.contains(p))
    }
}

fn text(fields: &[Elem], name: &str) -> Option<String> {
    mt::text(fields, name)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// (key, formula) of every repeated attribute element `name`.
fn attributes(fields: &[Elem], name: &str) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|e| e.name == name)
        .filter_map(|e| Some((text(&e.children, "key")?, text(&e.children, "formula")?)))
        .collect()
}

/// The `0sp` id of the app whose own id is `app_id`.
fn sp_id(app_id: &str) -> String {
    make_id(&format!("0sp{}", &app_id[3..15]))
}

fn connected(st: &State, name: &str) -> Option<SpApp> {
    let stored = st.apps.get(name)?;
    let f = &stored.fields;
    let saml = mt::child(f, "samlConfig")?;
    Some(SpApp {
        kind: AppKind::Connected,
        name: name.to_owned(),
        sp_id: sp_id(&stored.id),
        entity_id: text(saml, "entityUrl")?,
        acs_url: text(saml, "acsUrl")?,
        issuer: text(saml, "issuer"),
        subject_type: text(saml, "samlSubjectType").unwrap_or_else(|| "Username".into()),
        subject_custom_attr: text(saml, "samlSubjectCustomAttr"),
        name_id_format: text(saml, "samlNameIdFormat").unwrap_or_else(|| "Unspecified".into()),
        signing_algorithm: text(saml, "samlSigningAlgoType").unwrap_or_else(|| "SHA256".into()),
        request_certificate: text(saml, "certificate"),
        encryption_certificate: text(saml, "encryptionCertificate"),
        encryption_type: text(saml, "encryptionType"),
        profiles: mt::texts(f, "profileName")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        permission_sets: mt::texts(f, "permissionSetName")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        attributes: attributes(f, "attributes"),
        start_url: text(f, "startUrl"),
        enabled: true,
    })
}

/// Names of a comma-separated list of profile or permission-set names or ids.
fn names(list: Option<String>, ids: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            ids.iter()
                .find(|(_, id)| id.as_str() == entry)
                .map_or_else(|| entry.to_owned(), |(n, _)| n.clone())
        })
        .collect()
}

fn external(st: &State, name: &str) -> Option<SpApp> {
    let app = st.eca.apps.get(name)?;
    let (_, saml) = st.eca.child_of(Kind::Saml, name)?;
    let f = &saml.fields;
    let enabled = st
        .eca
        .child_of(Kind::Policies, name)
        .is_some_and(|(_, p)| mt::text(&p.fields, "isEnabled") == Some("true"));
    Some(SpApp {
        kind: AppKind::External,
        name: name.to_owned(),
        sp_id: sp_id(&app.id),
        entity_id: text(f, "entityUrl")?,
        acs_url: text(f, "acsUrl")?,
        issuer: text(f, "issuer"),
        subject_type: text(f, "subjectType").unwrap_or_else(|| "Username".into()),
        subject_custom_attr: text(f, "subjectCustomAttribute"),
        name_id_format: text(f, "nameIdFormat").unwrap_or_else(|| "Unspecified".into()),
        signing_algorithm: text(f, "signingAlgorithmType").unwrap_or_else(|| "SHA256".into()),
        request_certificate: text(f, "certificate"),
        encryption_certificate: text(f, "encryptionCertificate"),
        encryption_type: text(f, "encryptionType"),
        profiles: names(text(f, "commaSeparatedProfile"), &st.profile_ids),
        permission_sets: names(
            text(f, "commaSeparatedPermissionSet"),
            &st.permission_set_ids,
        ),
        attributes: attributes(f, "customAttributes"),
        start_url: text(f, "startUrl"),
        enabled,
    })
}

/// The SAML app named `name`: a connected app, else an External Client App (as the per-app
/// metadata endpoint resolves names).
pub fn by_name(st: &State, name: &str) -> Option<SpApp> {
    if let Some(key) = st.app_key(name) {
        connected(st, &key)
    } else {
        external(st, &st.eca_key(crate::eca::kind::Kind::App, name)?)
    }
}

/// Every SAML app of the org: connected apps, then External Client Apps, by name.
pub fn all(st: &State) -> Vec<SpApp> {
    let ecas = st.eca.apps.keys().filter(|n| !st.apps.contains_key(*n));
    st.apps
        .keys()
        .filter_map(|n| connected(st, n))
        .chain(ecas.filter_map(|n| external(st, n)))
        .collect()
}

/// The app whose entity id (`entityUrl`) is `entity_id` (the `Issuer` of an `AuthnRequest`).
pub fn by_entity_id(st: &State, entity_id: &str) -> Option<SpApp> {
    all(st).into_iter().find(|a| a.entity_id == entity_id)
}

/// The app of an IdP-initiated login's `app=`: its `0sp` id (15 or 18 characters), or, as a
/// simulator convenience, its API name.
pub fn by_login_param(st: &State, param: &str) -> Option<SpApp> {
    if param.starts_with("0sp") && (param.len() == 15 || param.len() == 18) {
        let found = all(st).into_iter().find(|a| a.sp_id.starts_with(param));
        if found.is_some() {
            return found;
        }
    }
    by_name(st, param)
}
