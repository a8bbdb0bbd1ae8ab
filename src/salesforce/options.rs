//! Process-wide client settings (from operator flags) and the hook that reports each call to the
//! metrics.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Receives one event per Salesforce call, for metrics. `operation` and `outcome` come from small
/// fixed sets (`readMetadata`, `upsertMetadata`, `token`, ...; `ok` or an [`ErrorKind`](super::ErrorKind) name), so
/// they are safe as label values.
pub trait CallObserver: Send + Sync {
    fn on_call(&self, operation: &'static str, outcome: &'static str, seconds: f64);
}

/// Process-wide settings, from operator flags.
#[derive(Clone)]
pub struct ClientOptions {
    /// Extra `host` or `host:port` entries (`--allow-host`); see [`validate_url`](super::validate_url).
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
    /// tick). Short: a user's change reads its app among the refresh tick's reads.
    pub coalesce_window_busy: Duration,
    /// The same for creates, longer: resources applied one by one arrive a few a second per org,
    /// and nobody's change waits behind a create.
    pub coalesce_window_create: Duration,
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
            // Long enough to fill a call at 5 arrivals a second; a burst that stops ends it early.
            coalesce_window_create: Duration::from_secs(2),
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
            .field("coalesce_window_create", &self.coalesce_window_create)
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
