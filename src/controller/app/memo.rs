//! The quiet period after a reconcile that talked to Salesforce: until it ends, reconciles of the
//! same generation (triggered by the operator's own status or ConfigMap writes, or by org status
//! updates) make no Salesforce call, as long as the cluster still holds the published ConfigMap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use tracing::info;

use super::download::{self, Download};
use crate::api::conditions::{self, types};
use crate::api::shared_str::SharedStr;
use crate::api::{RECLAIM_ANNOTATION, SYNC_ANNOTATION, SalesforceOrg, SsoConnectedApp};
use crate::controller::idp_cache::IdpSnapshot;
use crate::controller::index::ConfigMapCache;
use crate::controller::rotation;
use crate::metadata_configmap::Published;

/// How long after its own ConfigMap write the operator blames a mismatch on the watch cache.
const CACHE_LAG: Duration = Duration::from_secs(10);

/// The org's uid and generation, the last flip of its Ready condition, its IdP choice (with the
/// phase of a rotation) and how often its IdP was seen to change: a changed or newly healthy org,
/// a rotation moving on, or a certificate renewed in Setup ends the quiet period. Kept as
/// digests: every app's memo holds one, and the org's own strings (uid, certificate names) would
/// cost a few hundred bytes per app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgVersion {
    /// uid and generation.
    spec: u64,
    ready_flip: u64,
    idp: u64,
    /// [`IdpCache::epoch`](crate::controller::idp_cache::IdpCache::epoch) of the org's handle.
    pub idp_epoch: u64,
}

impl OrgVersion {
    pub fn of(org: &SalesforceOrg, idp_epoch: u64) -> Self {
        let ready_flip = org
            .status
            .as_ref()
            .and_then(|s| conditions::find(&s.conditions, types::READY))
            .map(|c| (c.status.as_str(), c.last_transition_time.0));
        OrgVersion {
            spec: digest((org.uid(), org.metadata.generation)),
            ready_flip: digest(ready_flip),
            idp: digest(rotation::view(org)),
            idp_epoch,
        }
    }
}

impl OrgVersion {
    /// This version with the IdP epoch of `snapshot`, the one a reconcile decided on (a wake for
    /// a change it already handled, e.g. its own enabling of the IdP, then finds it quiet).
    pub fn seen(self, snapshot: Option<&IdpSnapshot>) -> Self {
        OrgVersion {
            idp_epoch: snapshot.map_or(self.idp_epoch, |s| s.epoch.max(self.idp_epoch)),
            ..self
        }
    }
}

/// A digest for comparisons within this process (std's hasher with its fixed keys).
fn digest(value: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// What the last reconcile that talked to Salesforce left behind.
pub struct Memo {
    pub generation: Option<i64>,
    pub org: OrgVersion,
    pub quiet_until: Instant,
    /// The last published ConfigMap (where, content digest, owners), to tell whether the
    /// cluster still holds what was published without a copy of it.
    pub config_map: Option<Arc<Published>>,
    /// When this operator last wrote that ConfigMap: until the cache has seen the write, a
    /// mismatch is the cache lagging, not someone editing it.
    pub written_at: Option<Instant>,
    /// The `sso-operator.dev/sync-requested` and `sso-operator.dev/reclaim` annotation values
    /// this memo was made under; a new value of either asks for a full check now.
    pub sync_token: Option<String>,
    /// The last attempt waits for a person (blocked creation, conflict, refused content): an org
    /// turning healthy does not change that, so only a changed org spec ends the quiet period.
    pub stalled: bool,
    /// The last metadata download that was published, and its inputs.
    pub download: Option<Download>,
}

/// The annotations that ask for a full check when they change: `sync-requested`, and `reclaim`
/// (a conflict with a predecessor's app is stalled, so without it setting the annotation would
/// wait for the next refresh).
pub fn sync_token(app: &SsoConnectedApp) -> Option<String> {
    let a = app.annotations();
    match (a.get(SYNC_ANNOTATION), a.get(RECLAIM_ANNOTATION)) {
        (None, None) => None,
        (sync, None) => sync.cloned(),
        (sync, Some(reclaim)) => Some(format!(
            "{}; reclaim={reclaim}",
            sync.map_or("", String::as_str)
        )),
    }
}

#[derive(Default)]
pub struct Memos {
    /// By app key, shared text (the app index holds the same).
    map: Mutex<HashMap<SharedStr, Memo>>,
}

impl Memos {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SharedStr, Memo>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, key: &str, memo: Memo) {
        self.lock().insert(key.into(), memo);
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// What remains of the quiet period `key`'s last reconcile chose.
    pub fn remaining(&self, key: &str) -> Option<Duration> {
        self.lock()
            .get(key)
            .map(|m| m.quiet_until.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// The last published ConfigMap and when it was written, kept when a run publishes nothing.
    pub fn last_published(&self, key: &str) -> (Option<Arc<Published>>, Option<Instant>) {
        self.lock()
            .get(key)
            .map(|m| (m.config_map.clone(), m.written_at))
            .unwrap_or_default()
    }

    /// The last download, if what it published may stand: same generation, org and sync request,
    /// the cluster still holds the published ConfigMap, and this app's sweep is not due.
    pub fn last_download(
        &self,
        app: &SsoConnectedApp,
        key: &str,
        org: &OrgVersion,
        config_maps: &ConfigMapCache,
        sweep: (jiff::Timestamp, Duration),
    ) -> Option<(Download, Arc<Published>)> {
        let (download, published) = {
            let memos = self.lock();
            let m = memos.get(key)?;
            // A sync request asks for a full check against Salesforce, download included.
            if m.generation != app.metadata.generation
                || m.org.spec != org.spec
                || m.sync_token != sync_token(app)
            {
                return None;
            }
            (m.download.clone()?, m.config_map.clone()?)
        };
        let (now, period) = sweep;
        if download::sweep_due(key, download.at, now, period) {
            return None;
        }
        let cached = config_maps.get(&published.namespace, &published.name)?;
        published.matches(&cached).then_some((download, published))
    }

    /// Within the quiet period of the same generation: wait, without calling Salesforce, as long
    /// as the cluster still holds the published ConfigMap (someone may have edited or deleted it:
    /// then a full check republishes it).
    pub fn hit(
        &self,
        app: &SsoConnectedApp,
        key: &str,
        org: &OrgVersion,
        config_maps: &ConfigMapCache,
    ) -> Option<Hit> {
        let (remaining, cm, written_at) = {
            let memos = self.lock();
            let m = memos.get(key)?;
            let remaining = m.quiet_until.saturating_duration_since(Instant::now());
            if m.generation != app.metadata.generation
                || m.org.spec != org.spec
                || (!m.stalled && m.org.ready_flip != org.ready_flip)
                || m.org.idp != org.idp
                || m.org.idp_epoch != org.idp_epoch
                || m.sync_token != sync_token(app)
                || remaining.is_zero()
            {
                return None;
            }
            (remaining, m.config_map.clone(), m.written_at)
        };
        if let Some(published) = cm {
            let cached = config_maps.get(&published.namespace, &published.name);
            if !cached.is_some_and(|c| published.matches(&c)) {
                if written_at.is_some_and(|t| t.elapsed() < CACHE_LAG) {
                    return Some(Hit::CacheLag);
                }
                info!(configmap = %published.name, "the published ConfigMap was changed or deleted; republishing");
                return None;
            }
        }
        Some(Hit::Quiet(remaining))
    }
}

/// A reconcile within the quiet period: what to do instead of a full check.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    /// Nothing to do for this long.
    Quiet(Duration),
    /// The watch cache has not yet seen this operator's own ConfigMap write: look again shortly.
    CacheLag,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::org::{OrgIdentityProvider, SalesforceOrgStatus};
    use crate::controller::fixtures::test_app;
    use crate::controller::rotation::{Step, plan};

    #[test]
    fn a_rotation_moving_on_ends_the_quiet_period_though_the_org_spec_did_not_change() {
        let mut org = crate::controller::fixtures::org_rotating("Cert_2026", "Cert_2027");
        let app = test_app();
        let store = ConfigMapCache::default();
        let memos = Memos::default();
        memos.record(
            "team-a/telephony",
            Memo {
                generation: app.metadata.generation,
                org: OrgVersion::of(&org, 0),
                quiet_until: Instant::now() + Duration::from_secs(3600),
                config_map: None,
                written_at: None,
                sync_token: None,
                stalled: false,
                download: None,
            },
        );
        let hit = |org: &SalesforceOrg| {
            memos
                .hit(&app, "team-a/telephony", &OrgVersion::of(org, 0), &store)
                .is_some()
        };
        assert!(hit(&org), "nothing changed: quiet");
        assert!(
            memos
                .hit(&app, "team-a/telephony", &OrgVersion::of(&org, 1), &store)
                .is_none(),
            "the IdP was seen to change (a certificate renewed in Setup): check now"
        );

        let spec = org.spec.identity_provider.clone().unwrap();
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let Step::Announce(announced) = plan(&spec, None, now, false) else {
            panic!("a rotation not yet recorded is announced")
        };
        org.status = Some(SalesforceOrgStatus {
            identity_provider: Some(OrgIdentityProvider {
                enabled: true,
                certificate: Some("Cert_2026".into()),
                entity_id: None,
                rotation: Some(announced),
            }),
            ..Default::default()
        });
        assert!(
            !hit(&org),
            "announced: every app republishes now, with both keys"
        );
    }

    #[test]
    fn a_reconcile_that_saw_an_idp_change_records_it() {
        let org = crate::controller::fixtures::org_rotating("Cert_2026", "Cert_2027");
        let snapshot = IdpSnapshot {
            enabled: true,
            certificate: Some("Cert_2026".into()),
            fingerprint: None,
            fetched: Instant::now(),
            epoch: 1,
        };
        let before = OrgVersion::of(&org, 0);
        assert_eq!(before.seen(Some(&snapshot)), OrgVersion::of(&org, 1));
        assert_eq!(before.seen(None), before, "no snapshot: as before");
        assert_eq!(
            OrgVersion::of(&org, 2).seen(Some(&snapshot)).idp_epoch,
            2,
            "never back"
        );
    }

    fn annotated(pairs: &[(&str, &str)]) -> SsoConnectedApp {
        let mut app = test_app();
        app.metadata.annotations = Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        app
    }

    #[test]
    fn setting_the_reclaim_annotation_changes_the_token() {
        let plain = sync_token(&annotated(&[]));
        let reclaim = sync_token(&annotated(&[(RECLAIM_ANNOTATION, "true")]));
        assert_eq!(plain, None);
        assert_ne!(reclaim, plain);
        let sync = sync_token(&annotated(&[(SYNC_ANNOTATION, "1")]));
        assert_eq!(sync.as_deref(), Some("1"));
        let both = sync_token(&annotated(&[
            (SYNC_ANNOTATION, "1"),
            (RECLAIM_ANNOTATION, "true"),
        ]));
        assert_ne!(both, sync);
    }
}
