//! The Salesforce client: OAuth (JWT bearer, client credentials), the Metadata API over SOAP for
//! `ConnectedApp`, `IdentityProviderSettings` and `Certificate`, IdP metadata, one budget per org,
//! request coalescing, and hardened I/O.
//!
//! The process holds one [`Salesforce`] (the HTTP connection pool and the options) and makes an
//! [`OrgClient`] per `SalesforceOrg` from it; the controller's registry keeps one per org, so every
//! resource that uses the same org shares one token, one in-flight cap, one view of the daily
//! allocation and one batcher.
//!
//! Layout: `org/` is the per-org client (operations by subject, budget, session, classification,
//! coalescing). `model/` and `eca/` are the typed Metadata API components, rendered and parsed with
//! the WSDL helpers of `wsdl.rs` on top of the hardened XML of `xml.rs`. `soap.rs` frames the calls
//! and their results; `transport.rs` sends them, after the allow-list of `url_policy.rs`. `auth.rs`
//! mints tokens with the keys of `secret.rs`; `idp.rs` parses IdP metadata; `fingerprint.rs` and
//! `api_name.rs` hold the one certificate fingerprint and the one API name rule; `options.rs` and
//! `connection.rs` the settings. Shared things sit in leaf files that use nothing from here: this
//! file only wires them.

mod api_name;
mod auth;
mod connection;
mod eca;
mod error;
mod fingerprint;
mod idp;
mod model;
mod options;
mod org;
mod secret;
mod soap;
mod transport;
mod url_policy;
mod wsdl;
mod xml;

use std::fmt;
use std::sync::Arc;

pub use auth::Identity;
pub use connection::{Credentials, OrgConnection};
pub use eca::{
    DeployMessage, DeployOutcome, DeployStatus, ECA_MIN_API_VERSION, ExternalClientAppBundle,
    ExternalClientApplication, ExtlClntAppConfigurablePolicies, ExtlClntAppDistState,
    ExtlClntAppManagedType, ExtlClntAppNameIdFormatType, ExtlClntAppSamlAttribute,
    ExtlClntAppSamlBindingType, ExtlClntAppSamlConfigurablePolicies, ExtlClntAppSamlEncryptType,
    ExtlClntAppSamlSignAlgoType, ExtlClntAppSamlSubjectType, ExtlClntAppStartPage,
};
pub use error::{ComponentError, DeployProblem, ErrorKind, SalesforceError};
pub use fingerprint::{pem_sha256_fingerprint, sha256_fingerprint};
pub use idp::{
    BINDING_POST, BINDING_REDIRECT, CertInfo, IdpMetadata, parse_idp_metadata, pem_cert_info,
};
pub use model::{
    CONNECTED_APP_ORDER, CertificateMetadata, ConnectedApp, ConnectedAppSamlConfig,
    IDENTITY_PROVIDER_FULL_NAME, IdentityProviderSettings, SamlEncryptionType, SamlIdpSloBinding,
    SamlNameIdFormatType, SamlSigningAlgoType, SamlSubjectType, UnmanagedFields,
};
pub use options::{CallObserver, ClientOptions};
pub use org::{AccessGrant, ApiUsage, OrgClient, ReadPriority, UpsertOutcome};
pub use secret::{MIN_RSA_BITS, RsaSigningKey, SecretString, parse_private_key};
pub use soap::{FileProperties, MAX_COMPONENTS};
pub use url_policy::{validate_allow_entry, validate_url};

/// The process-wide part of the client: one HTTP connection pool and the options, from which a
/// client per org is made. Which orgs exist, and their clients, the controller's registry keeps.
pub struct Salesforce {
    http: reqwest::Client,
    opts: Arc<ClientOptions>,
}

impl fmt::Debug for Salesforce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Salesforce")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Salesforce {
    pub fn new(opts: ClientOptions) -> Result<Self, SalesforceError> {
        for entry in &opts.allow_hosts {
            validate_allow_entry(entry)?;
        }
        let http = transport::build_http_client(&opts)?;
        Ok(Salesforce {
            http,
            opts: Arc::new(opts),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// A new client for the org `key` (`namespace/name`, for logs and metrics): its own token,
    /// budget and batcher, sharing the process's connection pool.
    pub fn client(&self, key: &str, conn: OrgConnection) -> OrgClient {
        OrgClient::new(key.to_string(), conn, self.http.clone(), self.opts.clone())
    }
}
