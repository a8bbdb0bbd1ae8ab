//! The org as a SAML 2.0 identity provider for its connected apps and External Client Apps:
//! SP-initiated sign-in (HTTP-Redirect and HTTP-POST bindings) and IdP-initiated sign-in, answered
//! with a signed (optionally encrypted) `Response` posted to the app's ACS URL, or Salesforce's
//! error page. docs/simulator.md ("SAML sign-in") describes the behaviour and its sources; each
//! module names the sources of its part.
//!
//! No XML-security crate fits the simulator (samael signs through libxml2/xmlsec, and the
//! workspace's cargo-deny bans C XML stacks and OpenSSL), so the XML-DSig and XML-Encryption
//! the simulator needs are here, on crates already in its tree: roxmltree, aws-lc-rs (digests,
//! RSA verification, RSA-OAEP, AES, 3DES), num-bigint (RSA signing with SHA-1) and flate2.
//!
//! Modules, leaves first: `c14n` (exclusive canonicalization), `rsa` (PKCS#1 v1.5 signing and
//! verification), `idp_error` (the IdpEventLog codes), `dsig` (enveloped signatures),
//! `xmlenc` (`EncryptedAssertion`), `app` (the SAML apps of the org), `subject` (NameID and
//! attributes), `request` (reading and checking an `AuthnRequest`), `response` (the `Response`),
//! `pages` (the HTML answers), `endpoints` (the routes).

pub mod app;
pub mod c14n;
pub mod dsig;
pub mod endpoints;
pub mod idp_error;
pub mod pages;
pub mod request;
pub mod response;
pub mod rsa;
pub mod subject;
pub mod xmlenc;
