//! Indexes kept up to date from the watch events, so questions about other resources cost work in
//! proportion to the answer, not to the number of resources: who else claims an app name, which
//! apps use an org, which ConfigMaps a resource controls. A relist (`Init` … `InitDone`) builds fresh tables and swaps them in at the end, as
//! the reflector does with its store, so objects deleted while the watch was down disappear.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::runtime::watcher::Event;

use crate::api::SsoConnectedApp;
use crate::api::app::AppType;
use crate::api::conditions::{self, types};
use crate::api::shared_str::SharedStr;
use crate::controller::backoff::RefreshSlot;
use crate::metadata_configmap::CachedConfigMap;

/// `namespace/name` of an `SsoConnectedApp`.
pub type AppKey = String;
/// `namespace/name` of the `SalesforceOrg` an app refers to.
pub type OrgRef = String;

/// Tables that follow a watch: live ones, and fresh ones while a relist is under way.
#[derive(Default)]
struct Relisted<T> {
    live: T,
    relisting: Option<T>,
    /// The watch delivered its first complete list.
    synced: bool,
}

/// An index over one kind of watched object.
#[derive(Default)]
pub struct Index<T> {
    tables: Mutex<Relisted<T>>,
}

/// The indexes over `SsoConnectedApp`s.
pub type AppIndex = Index<AppTables>;
/// The ConfigMaps the operator watches (those labelled as its own): what it keeps of each, and
/// which each resource controls.
pub type ConfigMapCache = Index<ConfigMapTables>;

impl<T: Default + Tables> Index<T> {
    /// Follows one watch event.
    pub fn apply(&self, ev: &Event<T::Object>) {
        let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        match ev {
            Event::Apply(o) => t.live.upsert(o),
            Event::Delete(o) => t.live.remove(o),
            Event::Init => t.relisting = Some(T::default()),
            Event::InitApply(o) => t.relisting.get_or_insert_with(T::default).upsert(o),
            Event::InitDone => {
                if let Some(fresh) = t.relisting.take() {
                    t.live = fresh;
                }
                t.synced = true;
            }
        }
    }

    /// Whether the watch has delivered its first complete list.
    pub fn synced(&self) -> bool {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).synced
    }

    fn live(&self) -> impl std::ops::Deref<Target = T> + '_ {
        struct Live<'a, T>(std::sync::MutexGuard<'a, Relisted<T>>);
        impl<T> std::ops::Deref for Live<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0.live
            }
        }
        Live(self.tables.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub trait Tables {
    type Object;
    fn upsert(&mut self, o: &Self::Object);
    fn remove(&mut self, o: &Self::Object);
}

/// A ConfigMap's key as the tables hold it: one allocation, shared by the tables that list it.
type SharedKey = arcstr::ArcStr;

/// What the conflict checks need to know of one app.
#[derive(Clone, Debug)]
struct Facts {
    /// Shared with the ConfigMap cache's owner references.
    uid: SharedStr,
    /// Shared with the org's other apps.
    org: SharedStr,
    type_: AppType,
    /// The lower-cased API name, shared with the by-name table's key.
    name: SharedStr,
    /// Earlier ranks win an app name: the resource already holding it, then the older (the
    /// [`Rank`] without the key, which the tables hold).
    holds: bool,
    created: Option<jiff::Timestamp>,
    deleting: bool,
}

impl Facts {
    fn ranks_before(&self, key: &str, rank: &Rank) -> bool {
        (!self.holds, self.created, key) < (rank.0, rank.1, rank.2.as_str())
    }
}

/// (does not hold the app, creation time, key): smaller wins. Timestamps have whole seconds, so
/// the key breaks ties.
pub type Rank = (bool, Option<jiff::Timestamp>, AppKey);

/// The rank of `app` in a contest for its app name.
pub fn rank(app: &SsoConnectedApp) -> Rank {
    let holds = app.status.as_ref().is_some_and(|s| {
        conditions::find(&s.conditions, types::APP_READY).is_some_and(|c| c.status == "True")
    });
    (!holds, app.creation_timestamp().map(|t| t.0), key_of(app))
}

/// `namespace/name` of an app.
pub fn key_of(app: &SsoConnectedApp) -> AppKey {
    format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any())
}

/// `namespace/name` of the org an app refers to.
pub fn org_ref_of(app: &SsoConnectedApp) -> OrgRef {
    format!(
        "{}/{}",
        app.namespace().unwrap_or_default(),
        app.spec.org_ref.name
    )
}

fn name_key(type_: AppType, api_name: &str) -> (AppType, SharedStr) {
    (type_, api_name.to_ascii_lowercase().into())
}

#[derive(Default)]
pub struct AppTables {
    /// Keys are shared text: one allocation per app, for every table here and the app's memo.
    apps: HashMap<SharedStr, Facts>,
    /// By kind and lower-cased API name.
    by_name: HashMap<(AppType, SharedStr), SmallSet<SharedStr>>,
    by_org: HashMap<SharedStr, BTreeSet<SharedStr>>,
}

/// A sorted set kept in a `Vec`: the sets under an app name or a ConfigMap owner hold one
/// element almost always, and a `BTreeSet` allocates a whole node (over 500 bytes) for it.
#[derive(Default)]
struct SmallSet<V>(Vec<V>);

impl<V: Ord> SmallSet<V> {
    fn insert(&mut self, v: V) {
        if let Err(at) = self.0.binary_search(&v) {
            self.0.insert(at, v);
        }
    }

    fn remove(&mut self, v: &V) {
        if let Ok(at) = self.0.binary_search(v) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> std::slice::Iter<'_, V> {
        self.0.iter()
    }
}

/// Removes an element from the set under `k` (`remove` says whether the set is left empty), and
/// the set when it is.
fn unlink<K: std::hash::Hash + Eq, S>(
    map: &mut HashMap<K, S>,
    k: &K,
    remove: impl FnOnce(&mut S) -> bool,
) {
    if map.get_mut(k).is_some_and(remove) {
        map.remove(k);
    }
}

impl Tables for AppTables {
    type Object = SsoConnectedApp;

    fn upsert(&mut self, app: &SsoConnectedApp) {
        self.remove(app);
        let key = SharedStr::from(key_of(app));
        let (not_held, created, _) = rank(app);
        let facts = Facts {
            uid: app.uid().unwrap_or_default().into(),
            org: org_ref_of(app).into(),
            type_: app.spec.app.type_,
            name: name_key(app.spec.app.type_, &app.spec.app.api_name).1,
            holds: !not_held,
            created,
            deleting: app.metadata.deletion_timestamp.is_some(),
        };
        self.by_name
            .entry((facts.type_, facts.name.clone()))
            .or_default()
            .insert(key.clone());
        self.by_org
            .entry(facts.org.clone())
            .or_default()
            .insert(key.clone());
        self.apps.insert(key, facts);
    }

    fn remove(&mut self, app: &SsoConnectedApp) {
        let Some((key, f)) = self.apps.remove_entry(key_of(app).as_str()) else {
            return;
        };
        unlink(&mut self.by_name, &(f.type_, f.name.clone()), |s| {
            s.remove(&key);
            s.is_empty()
        });
        unlink(&mut self.by_org, &f.org, |s| {
            s.remove(&key);
            s.is_empty()
        });
    }
}

impl Index<AppTables> {
    /// `app`'s place in the refresh of org `org` (its apps in key order; see
    /// [`RefreshSlot`]). Counting the keys before it is linear in the org's apps, a few
    /// microseconds per refresh at 1,000; an unknown app gets the first slot.
    pub fn refresh_slot(&self, org: &str, app: &str) -> RefreshSlot {
        let tables = self.live();
        let before = (Bound::Unbounded, Bound::Excluded(app));
        let position = tables
            .by_org
            .get(org)
            .map_or(0, |set| set.range::<str, _>(before).count());
        RefreshSlot::of(position)
    }

    /// The apps that refer to org `org`.
    pub fn apps_of_org(&self, org: &str) -> Vec<AppKey> {
        self.live()
            .by_org
            .get(org)
            .map(|s| s.iter().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    /// Another live resource of the same real org that claims `app`'s app (API names are unique
    /// regardless of case) and ranks before it. `identity` maps an org reference to the real org
    /// it has authenticated to; resources whose org has not take no part.
    pub fn earlier_claimant(
        &self,
        app: &SsoConnectedApp,
        identity: impl Fn(&str) -> Option<String>,
    ) -> Option<AppKey> {
        let mine = identity(&org_ref_of(app))?;
        let t = self.live();
        let candidates = t
            .by_name
            .get(&name_key(app.spec.app.type_, &app.spec.app.api_name))?;
        let (uid, my_rank) = (app.uid().unwrap_or_default(), rank(app));
        candidates
            .iter()
            .filter_map(|k| t.apps.get(k).map(|f| (k, f)))
            .filter(|(k, f)| f.uid != uid && !f.deleting && f.ranks_before(k, &my_rank))
            .filter(|(_, f)| identity(&f.org).as_deref() == Some(mine.as_str()))
            .map(|(k, _)| k.to_string())
            .min()
    }
}

#[derive(Default)]
pub struct ConfigMapTables {
    /// Controller owner uid → `namespace/name` of the ConfigMaps it controls.
    by_owner: HashMap<SharedStr, SmallSet<SharedKey>>,
    /// What the operator keeps of each ConfigMap it watches (digests and owners), by
    /// `namespace/name`.
    cached: HashMap<SharedKey, Arc<CachedConfigMap>>,
}

/// `namespace/name` of a ConfigMap (neither may hold a `/`).
fn config_map_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl Tables for ConfigMapTables {
    type Object = ConfigMap;

    fn upsert(&mut self, cm: &ConfigMap) {
        self.remove(cm);
        let id: SharedKey =
            config_map_key(&cm.namespace().unwrap_or_default(), &cm.name_any()).into();
        let cached = CachedConfigMap::of(cm);
        if let Some(owner) = cached.controller() {
            self.by_owner
                .entry(owner.uid.clone())
                .or_default()
                .insert(id.clone());
        }
        self.cached.insert(id, Arc::new(cached));
    }

    fn remove(&mut self, cm: &ConfigMap) {
        let id = config_map_key(&cm.namespace().unwrap_or_default(), &cm.name_any());
        let Some((id, cached)) = self.cached.remove_entry(id.as_str()) else {
            return;
        };
        if let Some(owner) = cached.controller() {
            unlink(&mut self.by_owner, &owner.uid, |s| {
                s.remove(&id);
                s.is_empty()
            });
        }
    }
}

impl Index<ConfigMapTables> {
    /// Names of the ConfigMaps in `namespace` whose controller is the object with `uid`.
    pub fn controlled_by(&self, namespace: &str, uid: &str) -> Vec<String> {
        self.live()
            .by_owner
            .get(uid)
            .into_iter()
            .flat_map(SmallSet::iter)
            .filter_map(|key| key.split_once('/'))
            .filter(|(ns, _)| *ns == namespace)
            .map(|(_, name)| name.to_string())
            .collect()
    }

    /// What the cache holds of ConfigMap `namespace/name` (only those labelled as the
    /// operator's are watched).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<CachedConfigMap>> {
        self.live()
            .cached
            .get(config_map_key(namespace, name).as_str())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fixtures::{app_named, ready};

    fn identity(org: &str) -> Option<String> {
        Some(org.to_string())
    }

    #[test]
    fn the_app_already_holding_a_name_wins_then_the_older() {
        let index = AppIndex::default();
        let old = app_named("team-a", "old", "Voice_SSO", "2026-01-01T00:00:00Z");
        let holder = ready(app_named(
            "team-a",
            "holder",
            "Voice_SSO",
            "2026-02-01T00:00:00Z",
        ));
        let young = app_named("team-a", "young", "Voice_SSO", "2026-03-01T00:00:00Z");
        for a in [&old, &holder, &young] {
            index.apply(&Event::Apply(a.clone()));
        }
        assert_eq!(index.earlier_claimant(&holder, identity), None);
        assert_eq!(
            index.earlier_claimant(&old, identity).as_deref(),
            Some("team-a/holder")
        );
        assert_eq!(
            index.earlier_claimant(&young, identity).as_deref(),
            Some("team-a/holder")
        );
        index.apply(&Event::Delete(holder.clone()));
        assert_eq!(
            index.earlier_claimant(&young, identity).as_deref(),
            Some("team-a/old")
        );
        assert_eq!(index.earlier_claimant(&old, identity), None);
    }

    #[test]
    fn claims_count_only_within_one_real_org() {
        let index = AppIndex::default();
        let mut other = app_named("team-b", "b", "Voice_SSO", "2026-01-01T00:00:00Z");
        other.spec.org_ref.name = "globex".into();
        let mine = app_named("team-a", "a", "Voice_SSO", "2026-02-01T00:00:00Z");
        index.apply(&Event::Apply(other));
        assert_eq!(index.earlier_claimant(&mine, identity), None);
        // Two org references authenticated to the same real org see each other.
        let same = |_: &str| Some("00D000000000001".to_string());
        assert_eq!(
            index.earlier_claimant(&mine, same).as_deref(),
            Some("team-b/b")
        );
        // An org that has not authenticated takes no part (a squatter naming the same My Domain
        // without credentials blocks nobody), and neither does a resource whose own org has not.
        let only_mine = |org: &str| (org == "team-a/acme").then(|| "00D000000000001".to_string());
        assert_eq!(index.earlier_claimant(&mine, only_mine), None);
        assert_eq!(index.earlier_claimant(&mine, |_: &str| None), None);
    }

    #[test]
    fn app_names_are_claimed_regardless_of_case() {
        let index = AppIndex::default();
        let holder = ready(app_named(
            "team-a",
            "holder",
            "Telephony_SSO",
            "2026-02-01T00:00:00Z",
        ));
        index.apply(&Event::Apply(holder));
        let shouting = app_named("team-b", "b", "TELEPHONY_SSO", "2026-01-01T00:00:00Z");
        let same = |_: &str| Some("00D000000000001".to_string());
        assert_eq!(
            index.earlier_claimant(&shouting, same).as_deref(),
            Some("team-a/holder")
        );
    }

    #[test]
    fn refresh_slots_follow_the_apps_of_one_org_in_key_order() {
        let index = AppIndex::default();
        for i in 0..25 {
            let name = format!("a{i:02}");
            index.apply(&Event::Apply(app_named(
                "ns",
                &name,
                &name,
                "2026-01-01T00:00:00Z",
            )));
        }
        let org = org_ref_of(&app_named("ns", "x", "X", "2026-01-01T00:00:00Z"));
        let slot = |app: &str| index.refresh_slot(&org, app);
        assert_eq!(slot("ns/a00"), RefreshSlot { group: 0 });
        assert_eq!(slot("ns/a09"), RefreshSlot { group: 0 });
        assert_eq!(slot("ns/a10"), RefreshSlot { group: 1 });
        assert_eq!(slot("ns/a24"), RefreshSlot { group: 2 });
        assert_eq!(
            index.refresh_slot("ns/other", "ns/a00"),
            RefreshSlot { group: 0 }
        );
    }

    #[test]
    fn a_relist_drops_what_was_deleted_while_the_watch_was_down() {
        let index = AppIndex::default();
        let a = app_named("ns", "a", "A", "2026-01-01T00:00:00Z");
        let b = app_named("ns", "b", "B", "2026-01-01T00:00:00Z");
        index.apply(&Event::Apply(a.clone()));
        index.apply(&Event::Apply(b.clone()));
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(b));
        // Until the relist is done, the old tables answer.
        assert_eq!(index.apps_of_org("ns/acme").len(), 2);
        index.apply(&Event::InitDone);
        assert_eq!(index.apps_of_org("ns/acme"), vec!["ns/b".to_string()]);
    }

    #[test]
    fn configmaps_are_indexed_by_their_controller() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        let owners = ConfigMapCache::default();
        let cm = |name: &str, uid: &str| {
            let mut c = ConfigMap::default();
            c.metadata.name = Some(name.into());
            c.metadata.namespace = Some("ns".into());
            c.metadata.owner_references = Some(vec![OwnerReference {
                uid: uid.into(),
                controller: Some(true),
                ..Default::default()
            }]);
            c
        };
        owners.apply(&Event::Apply(cm("old-name", "u1")));
        owners.apply(&Event::Apply(cm("new-name", "u1")));
        owners.apply(&Event::Apply(cm("theirs", "u2")));
        let mut mine = owners.controlled_by("ns", "u1");
        mine.sort();
        assert_eq!(mine, vec!["new-name", "old-name"]);
        owners.apply(&Event::Delete(cm("old-name", "u1")));
        assert_eq!(owners.controlled_by("ns", "u1"), vec!["new-name"]);
        assert!(owners.controlled_by("other", "u1").is_empty());
    }
}
