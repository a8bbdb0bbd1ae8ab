//! The Salesforce client: OAuth (JWT bearer, client credentials), the Metadata API over SOAP for
//! `ConnectedApp`, `IdentityProviderSettings` and `Certificate`, IdP metadata, one budget per org,
//! request coalescing, and hardened I/O.
//!
//! The reconciler holds one [`Salesforce`] registry and asks it for an [`OrgClient`] per
//! `SalesforceOrg` (key `"namespace/name"`). Every resource that uses the same org shares that
//! client, so they share one token, one in-flight cap, one view of the daily allocation and one
//! batcher.

mod auth;
mod batch;
mod eca;
mod error;
mod idp;
mod model;
mod org;
mod secret;
mod soap;
mod transport;
mod url_policy;
mod xml;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use eca::{
    DeployMessage, DeployOutcome, DeployStatus, ECA_MIN_API_VERSION, ExternalClientAppBundle,
    ExternalClientApplication, ExtlClntAppConfigurablePolicies, ExtlClntAppDistState,
    ExtlClntAppManagedType, ExtlClntAppNameIdFormatType, ExtlClntAppSamlAttribute,
    ExtlClntAppSamlBindingType, ExtlClntAppSamlConfigurablePolicies, ExtlClntAppSamlEncryptType,
    ExtlClntAppSamlSignAlgoType, ExtlClntAppSamlSubjectType, ExtlClntAppStartPage,
};
pub use error::{ComponentError, DeployProblem, ErrorKind, SalesforceError};
pub use idp::{BINDING_POST, BINDING_REDIRECT, CertInfo, IdpMetadata, parse_idp_metadata};
pub use model::{
    CONNECTED_APP_ORDER, CertificateMetadata, ConnectedApp, ConnectedAppSamlConfig, FileProperties,
    IDENTITY_PROVIDER_FULL_NAME, IdentityProviderSettings, SamlEncryptionType, SamlIdpSloBinding,
    SamlNameIdFormatType, SamlSigningAlgoType, SamlSubjectType, UnmanagedFields,
};
pub use org::OrgClient;
pub use secret::{MIN_RSA_BITS, RsaSigningKey, SecretString, parse_private_key};
pub use url_policy::{validate_allow_entry, validate_url};

/// Receives one event per Salesforce call, for metrics. `operation` and `outcome` come from small
/// fixed sets (`readMetadata`, `upsertMetadata`, `token`, ...; `ok` or an [`ErrorKind`] name), so
/// they are safe as label values.
pub trait CallObserver: Send + Sync {
    fn on_call(&self, operation: &'static str, outcome: &'static str, seconds: f64);
}

/// Process-wide settings, from operator flags.
#[derive(Clone)]
pub struct ClientOptions {
    /// Extra `host` or `host:port` entries (`--allow-host`); see [`validate_url`].
    pub allow_hosts: Vec<String>,
    /// PEM bundle (`--salesforce-ca-file`). When set it is the **only** trust root: meant for the
    /// simulator or a TLS-intercepting proxy whose CA must be trusted instead of the system's.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Batch concurrent reads/upserts of one type into one call (default true).
    pub coalescing: bool,
    /// Deadline for one HTTP exchange, body included.
    pub call_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long the batcher waits for company before sending a partial batch.
    pub coalesce_window: Duration,
    /// The longer wait for reads while they keep arriving for the org (a converge, a refresh
    /// tick).
    pub coalesce_window_busy: Duration,
    /// Tokens carry no expiry; re-mint after this age even if Salesforce still accepts them.
    pub token_max_age: Duration,
    /// Org-wide pause after the daily allocation ran out.
    pub quota_backoff: Duration,
    /// Cap on a SOAP/REST response body (IdP metadata has its own 1 MiB cap).
    pub max_response_bytes: usize,
    /// First wait before `checkDeployStatus`; grows by half each poll up to `deploy_poll_max`.
    pub deploy_poll_initial: Duration,
    pub deploy_poll_max: Duration,
    /// How long a deploy may run before the client gives up polling (`DeployTimeout`).
    pub deploy_timeout: Duration,
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            allow_hosts: Vec::new(),
            extra_ca_pem: None,
            coalescing: true,
            // Well below the platform's 10-minute limit (limits-faults-security.md §6.4).
            call_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            coalesce_window: Duration::from_millis(5),
            coalesce_window_busy: Duration::from_millis(500),
            // Org session timeouts go down to 15 min, commonly 2 h; 30 min is a safe middle, and an
            // INVALID_SESSION_ID re-mints anyway.
            token_max_age: Duration::from_secs(30 * 60),
            quota_backoff: Duration::from_secs(30 * 60),
            max_response_bytes: 10 * 1024 * 1024,
            deploy_poll_initial: Duration::from_millis(500),
            deploy_poll_max: Duration::from_secs(5),
            deploy_timeout: Duration::from_secs(300),
            observer: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("allow_hosts", &self.allow_hosts)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(|p| p.len()))
            .field("coalescing", &self.coalescing)
            .field("call_timeout", &self.call_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("coalesce_window", &self.coalesce_window)
            .field("coalesce_window_busy", &self.coalesce_window_busy)
            .field("token_max_age", &self.token_max_age)
            .field("quota_backoff", &self.quota_backoff)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("deploy_poll_initial", &self.deploy_poll_initial)
            .field("deploy_poll_max", &self.deploy_poll_max)
            .field("deploy_timeout", &self.deploy_timeout)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// How the operator authenticates to one org.
#[derive(Clone, Debug)]
pub enum Credentials {
    JwtBearer {
        client_id: String,
        username: String,
        private_key_pem: SecretString,
    },
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Credentials {
    fn same_as(&self, other: &Credentials) -> bool {
        match (self, other) {
            (
                Credentials::JwtBearer {
                    client_id: a,
                    username: b,
                    private_key_pem: c,
                },
                Credentials::JwtBearer {
                    client_id: x,
                    username: y,
                    private_key_pem: z,
                },
            ) => a == x && b == y && c.ct_eq(z),
            (
                Credentials::ClientCredentials {
                    client_id: a,
                    client_secret: b,
                },
                Credentials::ClientCredentials {
                    client_id: x,
                    client_secret: y,
                },
            ) => a == x && b.ct_eq(y),
            _ => false,
        }
    }

    pub fn flow(&self) -> &'static str {
        match self {
            Credentials::JwtBearer { .. } => "jwt-bearer",
            Credentials::ClientCredentials { .. } => "client-credentials",
        }
    }
}

/// Everything needed to talk to one org, built by the reconciler from a `SalesforceOrg` and its
/// Secret.
#[derive(Clone, Debug)]
pub struct OrgConnection {
    /// My Domain; all API calls and IdP metadata fetches go here.
    pub instance_url: url::Url,
    /// Token endpoint host for JWT bearer; client credentials use `instance_url`.
    pub login_url: url::Url,
    pub audience: String,
    /// e.g. `"63.0"`.
    pub api_version: String,
    pub credentials: Credentials,
    pub max_concurrent_calls: u32,
    pub reserve_percent: u32,
}

impl OrgConnection {
    /// Whether `other` connects the same way (same URLs, budget and credentials), so a client
    /// built for one serves the other.
    pub fn same_as(&self, other: &OrgConnection) -> bool {
        self.instance_url == other.instance_url
            && self.login_url == other.login_url
            && self.audience == other.audience
            && self.api_version == other.api_version
            && self.max_concurrent_calls == other.max_concurrent_calls
            && self.reserve_percent == other.reserve_percent
            && self.credentials.same_as(&other.credentials)
    }
}

/// Who the token belongs to, from the token response's `id` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub org_id: String,
    pub user_id: String,
}

/// Daily API usage as last seen (`Sforce-Limit-Info`, `LimitInfoHeader` or `/limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub limit: u64,
    pub observed_at: jiff::Timestamp,
}

impl ApiUsage {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub created: bool,
}

/// Whether a read may be held back to protect the org's remaining allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPriority {
    /// Needed to make progress (create/update/delete decisions).
    #[default]
    Required,
    /// Drift checks, limit refreshes: fail fast with `Quota` when below the reserve.
    Optional,
}

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
