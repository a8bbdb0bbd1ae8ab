//! One place for everything the operator keeps per `SalesforceOrg`: the client (with its token
//! session, budget and batcher), the Identity Provider snapshot, the connected-app listing, and the
//! facts it was built from. Every app of an org shares its [`OrgHandle`], so N apps cost one
//! token, one IdP read and one listing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::{Client, ResourceExt};

use super::certificates::CertificateCache;
use super::connection::connection;
use super::idp_cache::IdpCache;
use super::listing::Listing;
use crate::api::SalesforceOrg;
use crate::error::ConnectError;
use crate::salesforce::{OrgClient, Salesforce};

/// One org as the reconcile stages use it; `O` is the real client, or a fake in unit tests.
pub struct OrgHandle<O> {
    /// `namespace/name` of the `SalesforceOrg`.
    pub key: String,
    pub api: O,
    pub idp: IdpCache,
    pub listing: Listing,
    /// Other certificates of the org (a rotation's second key).
    pub certificates: CertificateCache,
    /// The org answered `readMetadata` of an External Client App's policies with nothing right
    /// after a deploy wrote them: they are readable only by `retrieve` here (an unsettled
    /// assumption, docs/simulator.md "Reality variants"), so their drift cannot be checked.
    pub eca_policies_unreadable: std::sync::atomic::AtomicBool,
}

impl<O> OrgHandle<O> {
    pub fn new(key: impl Into<String>, api: O) -> Self {
        OrgHandle {
            key: key.into(),
            api,
            idp: IdpCache::default(),
            listing: Listing::default(),
            certificates: CertificateCache::default(),
            eca_policies_unreadable: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// A connection attempt, kept for the org generation it was made from.
struct Entry {
    uid: String,
    generation: Option<i64>,
    built: Instant,
    result: Result<Arc<OrgHandle<OrgClient>>, ConnectError>,
}

/// The per-process registry of orgs.
pub struct OrgRegistry {
    kube: Client,
    salesforce: Salesforce,
    /// Successful connections are rebuilt after this (the Secret is re-read then, to catch a
    /// rotated key); failures after a few seconds (a Secret created meanwhile is noticed soon).
    refresh: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

/// How long a failed connection attempt is reused.
const FAILURE_TTL: Duration = Duration::from_secs(2);

impl OrgRegistry {
    pub fn new(kube: Client, salesforce: Salesforce, refresh: Duration) -> Self {
        OrgRegistry {
            kube,
            salesforce,
            refresh,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The handle for `org`, built from its spec and Secret when nothing fresh is cached. A
    /// rebuilt connection that is the same as before keeps the old handle (token, budget and
    /// caches survive); a changed one (new credentials, URL, budget) starts afresh.
    pub async fn connect(
        &self,
        org: &SalesforceOrg,
    ) -> Result<Arc<OrgHandle<OrgClient>>, ConnectError> {
        let key = org_key(org);
        let uid = org.uid().unwrap_or_default();
        let previous = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            // An org being deleted keeps its handle: its apps' cleanup needs it, and when a
            // namespace goes its Secret is gone already.
            if org.metadata.deletion_timestamp.is_some()
                && let Some(Entry { result: Ok(h), .. }) = entries.get(&key)
            {
                return Ok(h.clone());
            }
            match entries.get(&key) {
                Some(e) if e.uid == uid && e.generation == org.metadata.generation => {
                    let ttl = if e.result.is_ok() {
                        self.refresh
                    } else {
                        FAILURE_TTL
                    };
                    if e.built.elapsed() < ttl {
                        return e.result.clone();
                    }
                    e.result.as_ref().ok().cloned()
                }
                Some(e) => e.result.as_ref().ok().cloned(),
                None => None,
            }
        };
        let result = connection(&self.kube, org, self.salesforce.options())
            .await
            .map(|conn| match previous {
                Some(h) if h.api.connection().same_as(&conn) => h,
                _ => Arc::new(OrgHandle::new(&key, self.salesforce.client(&key, conn))),
            });
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key,
                Entry {
                    uid,
                    generation: org.metadata.generation,
                    built: Instant::now(),
                    result: result.clone(),
                },
            );
        result
    }

    /// The handle of a connected org, without connecting.
    pub fn get(&self, key: &str) -> Option<Arc<OrgHandle<OrgClient>>> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .and_then(|e| e.result.as_ref().ok().cloned())
    }

    /// Drops everything kept for an org that went away.
    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// How long a connection is reused, which is also how often orgs are re-checked.
    pub fn refresh(&self) -> Duration {
        self.refresh
    }
}

/// `namespace/name`, the key of an org's shared handle.
pub fn org_key(org: &SalesforceOrg) -> String {
    format!("{}/{}", org.namespace().unwrap_or_default(), org.name_any())
}
