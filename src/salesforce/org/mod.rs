//! The client for one org, split by concern. [`OrgClient`] is here with its construction and small
//! accessors; its operations are in one file per subject (`connected_app`, `identity_provider`,
//! `external_client_app`, `idp_metadata`, `limits`). They all call through [`call::Caller`]: the
//! org's budget (`budget`), token session (`session`) and answer classification (`classify`);
//! connected-app reads and saves are batched by `coalesce` (queues in `batch`).
//!
//! Dependencies point one way: operations → `coalesce` → `call` → `classify` → `session` →
//! `endpoint`, with `budget` and `batch` as leaves. Nothing in `org/` uses this file but the
//! operations, so they can grow without a cycle.

mod batch;
mod budget;
mod call;
mod classify;
mod coalesce;
mod connected_app;
mod endpoint;
mod external_client_app;
mod grant;
mod identity_provider;
mod idp_metadata;
mod limits;
mod session;
mod setup_entity_access;

use std::sync::Arc;

use tokio::sync::Semaphore;

pub use budget::{ApiUsage, ReadPriority};
pub use coalesce::UpsertOutcome;
pub use grant::AccessGrant;

use crate::salesforce::auth::Identity;
use crate::salesforce::connection::OrgConnection;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::options::ClientOptions;
use call::Caller;
use coalesce::Coalescer;
use endpoint::Endpoint;

/// IdP metadata downloads in flight per org. They are not API calls (no permit), but unbounded
/// they follow the reconcile concurrency: dozens of connections to one My Domain, each kept open
/// by the pool (and its buffers in memory). Not fewer than 10: reconciles waiting here hold their
/// slots, and with 6 the reads of a refresh tick no longer filled batches of 10 (measured: 205
/// instead of 200 reads per 2 intervals at N = 1,000).
const METADATA_DOWNLOADS_PER_ORG: usize = 10;

/// The client for one org. Cheap to share: hold it in an `Arc` (the registry does).
pub struct OrgClient {
    caller: Arc<Caller>,
    /// Queues of connected-app reads and saves.
    batches: Arc<Coalescer>,
    /// Slots for IdP metadata downloads ([`METADATA_DOWNLOADS_PER_ORG`]).
    downloads: Semaphore,
}

impl OrgClient {
    pub(crate) fn new(
        key: String,
        conn: OrgConnection,
        http: reqwest::Client,
        opts: Arc<ClientOptions>,
    ) -> Self {
        let endpoint = Arc::new(Endpoint {
            key,
            conn,
            http,
            opts,
        });
        let caller = Arc::new(Caller::new(endpoint));
        OrgClient {
            batches: Arc::new(Coalescer::new(caller.clone())),
            caller,
            downloads: Semaphore::new(METADATA_DOWNLOADS_PER_ORG),
        }
    }

    pub fn key(&self) -> &str {
        &self.caller.endpoint.key
    }

    pub fn connection(&self) -> &OrgConnection {
        &self.caller.endpoint.conn
    }

    /// Returns the cached token's identity, minting a token if there is none or it is too old.
    pub async fn authenticate(&self) -> Result<Identity, SalesforceError> {
        self.caller.budget.check_paused("token")?;
        let (_, _, identity) = self.caller.session.token().await?;
        Ok(identity)
    }

    /// Calls this client lets run at once right now: the org's `maxConcurrentCalls`, or 1 for a
    /// while after Salesforce reported its concurrent-request limit.
    pub fn effective_concurrency(&self) -> u32 {
        self.caller.budget.effective_concurrency()
    }

    /// Last seen daily API usage.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.caller.budget.usage()
    }
}

impl std::fmt::Debug for OrgClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgClient")
            .field("key", &self.caller.endpoint.key)
            .field("instance_url", &self.connection().instance_url.as_str())
            .finish_non_exhaustive()
    }
}
