//! `salesforce-sim`: a simulated Salesforce org for sso-operator's tests, benchmark and demo.
//!
//! It serves one org over HTTPS (or HTTP) with Salesforce's wire formats: the OAuth token
//! endpoint (JWT bearer, client credentials), the Metadata API over SOAP (CRUD calls,
//! `listMetadata`, `deploy`/`checkDeployStatus` for External Client Apps), REST versions and
//! limits, SAML IdP metadata and sign-in, and the `/__sim/` test controls. docs/simulator.md describes the
//! behaviour; the module docs say which Salesforce source each part follows.
//!
//! The library is what the tests use: the typed org file ([`OrgFile`]), an in-process start
//! ([`start`] → [`SimHandle`]), a JWT client key pair ([`client_key_pair`]), and the SAML
//! service-provider side of the sign-in tests ([`sp_driver`]: the pysaml2 helper, `xmlsec1`). The binary
//! (`src/main.rs`) runs the same server as a process.
//!
//! Modules, leaves first (no module uses one that uses it): `metadata_types` + `wsdl_types`
//! (the WSDL tables, generated), `xml`, `version`, `org_file`, `component`, `certs`, `tls`,
//! `fault_rules`, `eca::kind`/`eca::package`/`eca::job`; `state` (runtime state); `load`
//! (org file → state); the handlers `oauth`, `soap`, `limits`, `idp_metadata`, `saml` (SAML
//! sign-in), `faults`, `control`; `router`; `server`. This file only declares them and re-exports the API.
#![forbid(unsafe_code)]

mod certs;
mod component;
mod connected_app;
mod control;
mod eca;
mod fault_rules;
mod faults;
mod idp_metadata;
mod limits;
mod load;
mod metadata_types;
mod oauth;
mod org_file;
mod realism;
mod router;
mod saml;
mod server;
mod setup_entity_access;
mod soap;
mod soql;
pub mod sp_driver;
mod state;
mod tls;
mod version;
mod wsdl_types;
mod xml;

pub use certs::{ClientKeyPair, client_key_pair};
pub use load::{build, load};
pub use org_file::{
    CREATION_BLOCKED_CODE, CREATION_BLOCKED_MESSAGE, CertSpec, IdpSpec, LimitsSpec, OauthClient,
    OrgFile, PermissionSetAssignment, Policy, UserSpec,
};
pub use realism::{
    AccessReads, AccessWrites, ConsumerKeyEcho, CreationBlocked, DefaultsInReads, EcaMetadata,
    Edition, NameMatching, PolicyReads, Realism,
};
pub use router::app;
pub use server::{Endpoint, Listener, ServeOptions, SimHandle, Tls, start};
pub use state::{Shared, Sim, State};
