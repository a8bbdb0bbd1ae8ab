//! The SAML 2.0 `Response` the org sends to a service provider's ACS URL.
//!
//! Shape, order and values follow the Salesforce IdP response published in fleetdm/fleet
//! (`server/sso/validate_test.go`, "test samples from a Salesforce IdP response"):
//! - `samlp:Response` with `Destination` (the ACS URL), `ID` (`_` + 32 hex digits + the epoch
//!   milliseconds), `InResponseTo` (SP-initiated only), `IssueInstant`, `Version="2.0"`; then
//!   `saml:Issuer Format="…:nameid-format:entity"`, the response's `ds:Signature`,
//!   `samlp:Status` (`Success`) and the assertion;
//! - `saml:Assertion` (own `xmlns:saml`): `Issuer`, its own `ds:Signature`, `Subject` (`NameID`
//!   with the app's format, a bearer `SubjectConfirmation` whose data carries `InResponseTo`,
//!   `NotOnOrAfter` and `Recipient` = ACS URL), `Conditions` (`NotBefore` = now − 30 s,
//!   `NotOnOrAfter` = now + 5 min, as in the sample; `AudienceRestriction` = the app's entity
//!   id), `AuthnStatement` (`AuthnInstant` = when the session signed in;
//!   `AuthnContextClassRef` unspecified) and `AttributeStatement` (`xs:anyType` values);
//! - `Issuer` = the app's `issuer`, else the org's entity id `https://<myDomain>`
//!   (salesforce-api.md §4.1); signatures with the IdP certificate in use now
//!   (`IdentityProviderSettings.certificateName`), RSA with the app's `samlSigningAlgoType`
//!   (`signingAlgorithmType` for ECAs);
//! - with an encryption certificate, the signed assertion is replaced by an
//!   `EncryptedAssertion` (`xmlenc.rs`), and the response is signed over it.
//!
//! All times are on the simulator clock (`/__sim/clock`).

use jiff::{SignedDuration, Timestamp};

use crate::metadata_types::esc;
use crate::saml::app::SpApp;
use crate::saml::dsig::{self, Signer};
use crate::saml::idp_error::{INVALID_SETTINGS, INVALID_SP, IdpError};
use crate::saml::rsa::{Hash, RsaPrivateKey};
use crate::saml::subject;
use crate::saml::xmlenc::{self, Cipher};
use crate::state::{State, User};
use crate::xml::date_time;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// How long before "now" the assertion is valid (clock skew allowance of the sample).
const SKEW: SignedDuration = SignedDuration::from_secs(30);
/// How long after "now" the assertion and its subject confirmation are valid.
const LIFETIME: SignedDuration = SignedDuration::from_mins(5);

/// One response to build.
pub struct Issue<'a> {
    pub app: &'a SpApp,
    pub user: &'a User,
    /// The `AuthnRequest` ID (SP-initiated), or None (IdP-initiated).
    pub in_response_to: Option<&'a str>,
    /// When the user's session signed in (the `AuthnInstant`).
    pub authn_instant: Timestamp,
}

/// A SAML id as Salesforce's look: `_`, 32 hex digits, the epoch milliseconds.
fn new_id(now: Timestamp) -> String {
    format!(
        "_{}{}",
        hex::encode(rand::random::<[u8; 16]>()),
        now.as_millisecond()
    )
}

/// The org's signing key now: the IdP certificate's key and DER (the IdP must be enabled).
fn signing_key(st: &State) -> Result<(RsaPrivateKey, Vec<u8>), IdpError> {
    if !st.idp_enabled {
        return Err(INVALID_SETTINGS);
    }
    let cert = st
        .idp_certificate
        .as_deref()
        .and_then(|n| st.certificates.get(n))
        .ok_or(INVALID_SETTINGS)?;
    let key = RsaPrivateKey::from_pkcs8(&cert.key.0).map_err(|_| INVALID_SETTINGS)?;
    Ok((key, cert.der.clone()))
}

fn assertion(
    st: &State,
    issue: &Issue,
    issuer: &str,
    id: &str,
    now: Timestamp,
) -> Result<String, IdpError> {
    let app = issue.app;
    let name_id = subject::name_id(app, issue.user, st)?;
    let irt = issue
        .in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, esc(r)))
        .unwrap_or_default();
    let until = date_time(now + LIFETIME);
    let mut attrs = String::new();
    for (name, value) in subject::attributes(app, issue.user, st) {
        attrs.push_str(&format!(
            concat!(
                r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">"#,
                r#"<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:anyType">{}</saml:AttributeValue>"#,
                r#"</saml:Attribute>"#
            ),
            esc(&name),
            esc(&value)
        ));
    }
    Ok(format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="{ns}" ID="{id}" IssueInstant="{now}" Version="2.0">"#,
            r#"<saml:Issuer Format="{entity}">{issuer}</saml:Issuer><saml:Subject>"#,
            r#"<saml:NameID Format="{fmt}">{name_id}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
            r#"<saml:SubjectConfirmationData{irt} NotOnOrAfter="{until}" Recipient="{acs}"/>"#,
            r#"</saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{before}" NotOnOrAfter="{until}"><saml:AudienceRestriction>"#,
            r#"<saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{authn}"><saml:AuthnContext><saml:AuthnContextClassRef>"#,
            r#"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef>"#,
            r#"</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}"#,
            r#"</saml:AttributeStatement></saml:Assertion>"#
        ),
        ns = ASSERTION_NS,
        id = id,
        now = date_time(now),
        entity = ENTITY,
        issuer = esc(issuer),
        fmt = app.name_id_format_urn(),
        name_id = esc(&name_id),
        irt = irt,
        until = until,
        acs = esc(&app.acs_url),
        before = date_time(now - SKEW),
        audience = esc(&app.entity_id),
        authn = date_time(issue.authn_instant),
        attrs = attrs,
    ))
}

/// The signed (and, with an encryption certificate, encrypted) `Response` XML.
pub fn build(st: &State, issue: &Issue) -> Result<String, IdpError> {
    let (key, cert_der) = signing_key(st)?;
    let app = issue.app;
    let signer = Signer {
        key: &key,
        cert_der: &cert_der,
        hash: if app.signing_algorithm == "SHA1" {
            Hash::Sha1
        } else {
            Hash::Sha256
        },
    };
    let now = st.now();
    let issuer = app
        .issuer
        .clone()
        .unwrap_or_else(|| format!("https://{}", st.my_domain));
    let assertion_id = new_id(now);
    let unsigned = assertion(st, issue, &issuer, &assertion_id, now)?;
    let signed = dsig::sign(&unsigned, &assertion_id, "ds saml xs xsi", &signer).map_err(|e| {
        tracing::error!("signing the assertion: {e}");
        INVALID_SETTINGS
    })?;
    let body = match &app.encryption_certificate {
        None => signed,
        Some(pem) => {
            let cipher = Cipher::for_app(
                app.encryption_type.as_deref(),
                &st.policy.saml_encryption_block_mode,
            )
            .ok_or(INVALID_SP)?;
            xmlenc::encrypt_assertion(&signed, pem, cipher).map_err(|e| {
                tracing::info!(app = %app.name, "encrypting the assertion: {e}");
                INVALID_SP
            })?
        }
    };
    let response_id = new_id(now);
    let irt = issue
        .in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, esc(r)))
        .unwrap_or_default();
    let response = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<samlp:Response xmlns:samlp="{p}" Destination="{acs}" ID="{id}"{irt} IssueInstant="{now}" Version="2.0">"#,
            r#"<saml:Issuer xmlns:saml="{a}" Format="{entity}">{issuer}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
            r#"</samlp:Status>{body}</samlp:Response>"#
        ),
        p = PROTOCOL_NS,
        acs = esc(&app.acs_url),
        id = response_id,
        irt = irt,
        now = date_time(now),
        a = ASSERTION_NS,
        entity = ENTITY,
        issuer = esc(&issuer),
        body = body,
    );
    dsig::sign(&response, &response_id, "ds saml samlp xs xsi", &signer).map_err(|e| {
        tracing::error!("signing the response: {e}");
        INVALID_SETTINGS
    })
}
