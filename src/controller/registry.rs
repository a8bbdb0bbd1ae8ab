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
    /// Salesforce refused the credentials: the Secret is read again at the next connect.
    reread: bool,
}

/// The per-process registry of orgs.
pub struct OrgRegistry {
    kube: Client,
    salesforce: Salesforce,
    /// How often orgs are re-checked (see [`OrgRegistry::refresh`]).
    refresh: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Per org, held while its connection is built (see [`OrgRegistry::connect`]).
    building: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

enum Cached {
    Fresh(Result<Arc<OrgHandle<OrgClient>>, ConnectError>),
    /// Needs a build; the last good handle, if any.
    Stale(Option<Arc<OrgHandle<OrgClient>>>),
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
            building: Mutex::new(HashMap::new()),
        }
    }

    /// The handle for `org`, built from its spec and Secret when nothing fresh is cached. A
    /// good connection stays fresh until the org's spec changes or Salesforce refuses its
    /// credentials ([`OrgRegistry::reread_credentials`]), not on a timer: a steady org costs no
    /// Secret reads (the operator may not watch Secrets, see the chart's RBAC), and a rotated
    /// Secret is read when the old credentials stop working. A failed one is retried after a
    /// few seconds, so a Secret created or fixed meanwhile is noticed soon. A rebuilt connection that is the same as before keeps the old handle (token, budget and
    /// caches survive); a changed one (new credentials, URL, budget) starts afresh.
    ///
    /// One build per org at a time: the apps of an org that call this while its connection is
    /// being (re)built wait for that build, or keep using the previous handle if there is one,
    /// so a rebuild reads the Secret once, not once per app reconcile in flight.
    pub async fn connect(
        &self,
        org: &SalesforceOrg,
    ) -> Result<Arc<OrgHandle<OrgClient>>, ConnectError> {
        let key = org_key(org);
        let uid = org.uid().unwrap_or_default();
        let previous = match self.cached(org, &key, &uid) {
            Cached::Fresh(result) => return result,
            Cached::Stale(previous) => previous,
        };
        let build = self.build_lock(&key);
        let _building = match (build.try_lock(), previous) {
            (Ok(guard), _) => guard,
            // Someone else is rebuilding; the previous handle is good until they are done.
            (Err(_), Some(handle)) => return Ok(handle),
            (Err(_), None) => {
                let guard = build.lock().await;
                match self.cached(org, &key, &uid) {
                    Cached::Fresh(result) => return result,
                    Cached::Stale(_) => guard,
                }
            }
        };
        // Under the build lock: re-read what is cached, a build may have finished meanwhile.
        let previous = match self.cached(org, &key, &uid) {
            Cached::Fresh(result) => return result,
            Cached::Stale(previous) => previous,
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
                    reread: false,
                },
            );
        result
    }

    /// What is cached for `org`: a result still fresh for its uid and generation, or else the
    /// last good handle (if any) to rebuild from.
    fn cached(&self, org: &SalesforceOrg, key: &str, uid: &str) -> Cached {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(e) = entries.get(key) else {
            return Cached::Stale(None);
        };
        // An org being deleted keeps its handle: its apps' cleanup needs it, and when a
        // namespace goes its Secret is gone already.
        if org.metadata.deletion_timestamp.is_some()
            && let Ok(h) = &e.result
        {
            return Cached::Fresh(Ok(h.clone()));
        }
        let fresh = match &e.result {
            Ok(_) => !e.reread,
            Err(_) => e.built.elapsed() < FAILURE_TTL,
        };
        if e.uid == uid && e.generation == org.metadata.generation && fresh {
            return Cached::Fresh(e.result.clone());
        }
        Cached::Stale(e.result.as_ref().ok().cloned())
    }

    /// The lock that makes builds of one org's connection one at a time.
    fn build_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// The handle of a connected org, without connecting.
    pub fn get(&self, key: &str) -> Option<Arc<OrgHandle<OrgClient>>> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .and_then(|e| e.result.as_ref().ok().cloned())
    }

    /// Salesforce refused the org's credentials: the next connect reads its Secret again (a
    /// rotated key or client secret is picked up then; unchanged credentials keep the handle).
    pub fn reread_credentials(&self, key: &str) {
        if let Some(e) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
        {
            e.reread = true;
        }
    }

    /// Drops everything kept for an org that went away.
    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        self.building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// How often orgs are re-checked (authentication, API usage, Identity Provider).
    pub fn refresh(&self) -> Duration {
        self.refresh
    }
}

/// `namespace/name`, the key of an org's shared handle.
pub fn org_key(org: &SalesforceOrg) -> String {
    format!("{}/{}", org.namespace().unwrap_or_default(), org.name_any())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::salesforce::ClientOptions;

    /// A registry whose API server answers every request with the `cc` Secret, after a pause so
    /// that concurrent callers overlap; the count is the number of Secret reads.
    fn registry(refresh: Duration) -> (OrgRegistry, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let service = tower::service_fn(move |_req: http::Request<kube::client::Body>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                let secret = serde_json::json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "cc", "namespace": "team-a"},
                    "stringData": {}, "data": {"client-id": "aWQ=", "client-secret": "c2VjcmV0"}
                });
                let body = kube::client::Body::from(serde_json::to_vec(&secret).unwrap());
                Ok::<_, std::convert::Infallible>(http::Response::new(body))
            }
        });
        let kube = Client::new(service, "default");
        let salesforce = Salesforce::new(ClientOptions::default()).expect("a client");
        (OrgRegistry::new(kube, salesforce, refresh), reads)
    }

    fn org() -> SalesforceOrg {
        let mut org = crate::controller::fixtures::org_rotating("idp", "next");
        org.metadata.namespace = Some("team-a".into());
        org.metadata.uid = Some("u1".into());
        org.metadata.generation = Some(1);
        org
    }

    async fn connect_all(registry: &OrgRegistry, org: &SalesforceOrg, n: usize) {
        let calls = (0..n).map(|_| registry.connect(org));
        for result in futures::future::join_all(calls).await {
            result.expect("connected");
        }
    }

    #[tokio::test]
    async fn concurrent_connects_read_the_secret_once() {
        let (registry, reads) = registry(Duration::from_secs(300));
        let org = org();
        connect_all(&registry, &org, 50).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        connect_all(&registry, &org, 50).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1, "fresh: no read at all");
    }

    #[tokio::test]
    async fn refused_credentials_reread_the_secret_once_and_keep_the_handle() {
        let (registry, reads) = registry(Duration::ZERO);
        let org = org();
        let first = registry.connect(&org).await.expect("connected");
        connect_all(&registry, &org, 50).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1, "no timer: still fresh");
        registry.reread_credentials(&org_key(&org));
        connect_all(&registry, &org, 50).await;
        // One rebuild for the 50 (the others used the previous handle meanwhile).
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        let again = registry.connect(&org).await.expect("connected");
        assert!(Arc::ptr_eq(&first, &again), "same credentials: same handle");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "fresh again after the rebuild"
        );
    }

    #[tokio::test]
    async fn a_spec_change_rereads_the_secret() {
        let (registry, reads) = registry(Duration::from_secs(300));
        let mut org = org();
        registry.connect(&org).await.expect("connected");
        org.metadata.generation = Some(2);
        registry.connect(&org).await.expect("connected");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
