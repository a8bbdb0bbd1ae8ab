//! SP-initiated sign-in: reading an `AuthnRequest` from the HTTP-Redirect binding (DEFLATE +
//! base64 in the query, optional `SigAlg`/`Signature`; SAML bindings spec §3.4) or the HTTP-POST
//! binding (base64 form field; §3.5), and checking it against the app it comes from.
//!
//! Checks, in order, each with the IdpEventLog code it gives (`idp_error.rs`):
//! - the message decodes and is a SAML 2.0 `AuthnRequest` with an `ID` (`InvalidAuthnRequest`);
//! - its `Issuer` is the entity id (`entityUrl`) of a SAML app of the org (`UnableToResolve`:
//!   "Unable to resolve request into a Service Provider");
//! - when the app has a request-signing certificate (`certificate`, Setup's "Verify Request
//!   Signatures"), the request is signed with its key: the query signature (Redirect) or an
//!   enveloped signature (POST) (`InvalidSignature`); without one, signatures are not checked;
//! - `Destination`, when present, is this endpoint: at the org's My Domain or at the address
//!   the request reached (`InvalidIdpEndpoint`, "Invalid Identity Provider Endpoint URL");
//! - `AssertionConsumerServiceURL`, when present, is the app's ACS URL, and `ProtocolBinding`,
//!   when present, HTTP-POST, the only binding the response is sent with (`InvalidSp`,
//!   an assumption: no source says which code Salesforce logs for these).
//!
//! Not read: `NameIDPolicy` (the app's NameID format always applies), `ForceAuthn`,
//! `IsPassive`, `AssertionConsumerServiceIndex`, `RequestedAuthnContext`.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use flate2::read::DeflateDecoder;

use crate::certs::rsa_key_from_cert_pem;
use crate::saml::app::{self, SpApp};
use crate::saml::dsig::{self, SigProblem, strip};
use crate::saml::idp_error::{
    INVALID_AUTHN_REQUEST, INVALID_ENDPOINT, INVALID_SIGNATURE, INVALID_SP, IdpError,
    UNABLE_TO_RESOLVE,
};
use crate::state::State;
use crate::xml;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Largest inflated request accepted.
const MAX_REQUEST: u64 = 256 * 1024;

/// A received `AuthnRequest`, decoded, before it is checked.
pub struct Received {
    pub binding: Binding,
    pub xml: String,
    pub relay_state: Option<String>,
    /// HTTP-Redirect signature: (signed octets, SigAlg, Signature).
    redirect_signature: Option<(String, String, String)>,
}

/// The binding a request came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Redirect,
    Post,
}

/// A checked request: what the response answers.
#[derive(Debug)]
pub struct Checked {
    pub id: String,
    pub app: SpApp,
}

/// Reads an HTTP-Redirect request from the raw query string.
pub fn from_redirect(raw_query: &str) -> Result<Received, IdpError> {
    let raw = |name: &str| {
        raw_query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    let decoded = |v: &str| {
        url::form_urlencoded::parse(format!("v={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let request = raw("SAMLRequest").ok_or(INVALID_AUTHN_REQUEST)?;
    let deflated = B64
        .decode(strip(&decoded(request)))
        .map_err(|_| INVALID_AUTHN_REQUEST)?;
    let mut xml = String::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_REQUEST)
        .read_to_string(&mut xml)
        .map_err(|_| INVALID_AUTHN_REQUEST)?;
    let relay = raw("RelayState");
    let redirect_signature = match (raw("SigAlg"), raw("Signature")) {
        (Some(alg), Some(sig)) => {
            // Bindings §3.4.4.1: the octets signed are the parameters as they were encoded.
            let mut signed = format!("SAMLRequest={request}");
            if let Some(r) = relay {
                signed.push_str(&format!("&RelayState={r}"));
            }
            signed.push_str(&format!("&SigAlg={alg}"));
            Some((signed, decoded(alg), decoded(sig)))
        }
        _ => None,
    };
    Ok(Received {
        binding: Binding::Redirect,
        xml,
        relay_state: relay.map(decoded),
        redirect_signature,
    })
}

/// Reads an HTTP-POST request from its form fields.
pub fn from_post(
    saml_request: Option<&str>,
    relay_state: Option<&str>,
) -> Result<Received, IdpError> {
    let bytes = B64
        .decode(strip(saml_request.ok_or(INVALID_AUTHN_REQUEST)?))
        .map_err(|_| INVALID_AUTHN_REQUEST)?;
    let xml = String::from_utf8(bytes).map_err(|_| INVALID_AUTHN_REQUEST)?;
    Ok(Received {
        binding: Binding::Post,
        xml,
        relay_state: relay_state.map(str::to_owned),
        redirect_signature: None,
    })
}

/// Checks `received` against the org's apps (module docs). `endpoints` are the URLs this
/// endpoint is known by (for `Destination`).
pub fn check(st: &State, received: &Received, endpoints: &[String]) -> Result<Checked, IdpError> {
    let doc = xml::parse(&received.xml).map_err(|_| INVALID_AUTHN_REQUEST)?;
    let root = doc.root_element();
    let id = root.attribute("ID").unwrap_or("");
    if root.tag_name().namespace() != Some(PROTOCOL_NS)
        || root.tag_name().name() != "AuthnRequest"
        || root.attribute("Version") != Some("2.0")
        || id.is_empty()
    {
        return Err(INVALID_AUTHN_REQUEST);
    }
    let issuer = xml::child(root, ASSERTION_NS, "Issuer")
        .map(xml::text)
        .ok_or(UNABLE_TO_RESOLVE)?;
    let app = app::by_entity_id(st, &issuer).ok_or(UNABLE_TO_RESOLVE)?;
    if let Some(pem) = &app.request_certificate {
        let key = rsa_key_from_cert_pem(pem).map_err(|_| INVALID_SIGNATURE)?;
        let verdict = match (received.binding, &received.redirect_signature) {
            (Binding::Redirect, Some((signed, alg, sig))) => {
                dsig::verify_redirect(&key, signed, alg, sig)
            }
            (Binding::Redirect, None) => Err(SigProblem::Missing),
            (Binding::Post, _) => dsig::verify_enveloped(&doc, &key),
        };
        if let Err(problem) = verdict {
            tracing::info!(app = %app.name, ?problem, "AuthnRequest signature refused");
            return Err(INVALID_SIGNATURE);
        }
    }
    if let Some(dest) = root.attribute("Destination")
        && !endpoints.iter().any(|e| e == dest)
    {
        return Err(INVALID_ENDPOINT);
    }
    if root
        .attribute("AssertionConsumerServiceURL")
        .is_some_and(|acs| acs != app.acs_url)
        || root
            .attribute("ProtocolBinding")
            .is_some_and(|b| b != HTTP_POST)
    {
        return Err(INVALID_SP);
    }
    Ok(Checked {
        id: id.to_owned(),
        app,
    })
}
