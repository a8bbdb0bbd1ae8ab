//! The randomized fault soak (issue 16, item 9): `make soak`, never part of `make test` or
//! `make test-faults` (the test is `#[ignore]`d). Bounded by `SOAK_DURATION` (default `10m`; any
//! `refreshInterval`-style duration), reproducible with `SOAK_SEED` (printed at the start and in
//! every failure).
//!
//! On a private control plane: three teams' namespaces, each with its own `SalesforceOrg` of one
//! simulated org and a ConfigMap no resource owns; two operator replicas watching every namespace
//! and competing for one Lease. At random: apps created, changed and deleted (API names from one
//! small pool in several cases, so teams collide; some publish into the foreign or a shared
//! ConfigMap; deletion `Delete` or `Orphan`), Salesforce faults injected (5xx, resets, SOAP
//! faults, latency, revoked sessions), a replica SIGKILLed, the API server restarted. A replica
//! that exits (killed, or stopped after losing the Lease) is started again, as its Deployment
//! would. Garbage collection of ConfigMaps whose owner is gone is done here (no
//! controller-manager).
//!
//! Invariants, throughout and at the end:
//! - no app owned by two resources: live resources with `AppReady=True` name distinct apps;
//! - no app written by a resource that does not own it: an app's marker (uid) never changes
//!   while the app exists;
//! - no foreign ConfigMap touched (its resourceVersion never changes);
//! - at the end, after faults stop and everything settles: every Ready resource's ConfigMap is
//!   byte for byte what the org serves for its app, and its app carries its marker; every app
//!   with a marker belongs to a live resource or to one deleted with `Orphan` (a `Delete` took its
//!   app with it);
//! - no Salesforce write while not leader: each write (from the replicas' logs) lies inside its
//!   replica's leadership term and outside every other replica's term.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sso_operator::api::SsoConnectedApp;

use crate::common::cluster;
use crate::common::e2e::{
    AppOpts, ORG_SECRET, Operator, OperatorOpts, OrgSeed, Sim, acme_org, app_manifest, secret,
};
use crate::common::sim::WRITE_OPERATIONS;

const TEAMS: [&str; 3] = ["soak-red", "soak-green", "soak-blue"];
/// Resource names per team.
const NAMES: [&str; 5] = ["voice", "chat", "video", "desk", "fax"];
/// API names: a pool shared by the teams, some differing only in case, so teams collide.
const API_NAMES: [&str; 10] = [
    "Voice_SSO",
    "voice_sso",
    "Chat_SSO",
    "CHAT_SSO",
    "Video_SSO",
    "Desk_SSO",
    "Fax_SSO",
    "Pager_SSO",
    "Queue_SSO",
    "Survey_SSO",
];
const FOREIGN_CM: &str = "foreign-settings";
const SHARED_CM: &str = "shared-idp";
const SETTLE: Duration = Duration::from_secs(240);

/// One operator process and what the leadership check needs of it.
struct Incarnation {
    operator: Operator,
    log: PathBuf,
    /// When the test killed it, or saw it gone.
    ended: Option<jiff::Timestamp>,
}

struct Replica {
    now: Incarnation,
    past: Vec<Incarnation>,
}

struct Soak {
    seed: u64,
    rng: StdRng,
    sim: Sim,
    client: kube::Client,
    namespaces: Vec<String>,
    lease_ns: String,
    opts: OperatorOpts,
    replicas: Vec<Replica>,
    counts: BTreeMap<&'static str, u64>,
    /// `namespace/name` of live resources and their deletion policy.
    live: HashMap<String, (&'static str, &'static str)>,
    /// uids of resources deleted with `Orphan`.
    orphaned: HashSet<String>,
    /// Lower-cased app name -> marker uid, while the app exists.
    markers: HashMap<String, String>,
    seen_seq: u64,
    foreign_versions: HashMap<String, String>,
}

impl Soak {
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!(
            "soak failed (SOAK_SEED={}): {what}\ncounts: {:?}",
            self.seed, self.counts
        )
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    fn start_replica(&self) -> Incarnation {
        let operator = Operator::start(
            &self.lease_ns,
            Some(&self.sim),
            self.sim.dir.path(),
            &self.opts,
        );
        Incarnation {
            log: operator.log.clone(),
            operator,
            ended: None,
        }
    }

    /// Starts again every replica whose process has exited (as its Deployment would).
    fn supervise(&mut self) {
        for i in 0..self.replicas.len() {
            if self.replicas[i].now.operator.exit_status().is_some() {
                self.count("replica exits seen (restarted)");
                let fresh = self.start_replica();
                let r = &mut self.replicas[i];
                let mut old = std::mem::replace(&mut r.now, fresh);
                old.ended = Some(jiff::Timestamp::now());
                r.past.push(old);
            }
        }
    }

    fn kill_replica(&mut self) {
        let i = self.rng.random_range(0..self.replicas.len());
        self.replicas[i].now.operator.kill();
        let ended = jiff::Timestamp::now();
        let fresh = self.start_replica();
        let r = &mut self.replicas[i];
        let mut old = std::mem::replace(&mut r.now, fresh);
        old.ended = Some(ended);
        r.past.push(old);
        self.count("fault: replica SIGKILLed");
    }

    fn restart_apiserver(&mut self) {
        super::apiserver::apiserver("stop");
        super::apiserver::apiserver("start");
        self.count("fault: API server restarted");
    }

    async fn salesforce_fault(&mut self) {
        let soap = "/services/Soap";
        let n = self.rng.random_range(1..=5);
        let rules = [
            json!({"pathPrefix": soap, "status": 503, "body": "Service Unavailable", "count": n}),
            json!({"pathPrefix": soap, "reset": true, "count": n}),
            json!({"pathPrefix": soap, "soapFault": {"code": "sf:UNKNOWN_EXCEPTION", "message": "UNKNOWN_EXCEPTION: An unexpected error occurred"}, "count": n}),
            json!({"operation": "upsertMetadata", "latencyMs": 3000, "count": 1}),
            json!({"operation": "idpMetadata", "status": 503, "body": "Service Unavailable", "count": n}),
            json!({"operation": "token", "status": 503, "body": "Service Unavailable", "count": n}),
        ];
        if self.rng.random_bool(0.15) {
            self.sim.revoke_sessions().await;
            self.count("fault: sessions revoked");
            return;
        }
        let rule = rules[self.rng.random_range(0..rules.len())].clone();
        self.sim.fault(rule).await;
        self.count("fault: Salesforce rule");
    }

    /// Creates, changes or deletes one app of one team.
    fn app_operation(&mut self) {
        let ns = self.namespaces[self.rng.random_range(0..self.namespaces.len())].clone();
        let name = NAMES[self.rng.random_range(0..NAMES.len())];
        let key = format!("{ns}/{name}");
        if let Some(&(api_name, deletion)) = self.live.get(&key) {
            if self.rng.random_bool(0.4) {
                let uid = self.uid(&ns, name);
                let out = cluster::kubectl(&["-n", &ns, "delete", "sca", name, "--wait=false"]);
                if out.status.success() {
                    self.live.remove(&key);
                    if deletion == "Orphan" {
                        self.orphaned.extend(uid);
                    }
                    self.count("op: delete");
                } else {
                    self.count("op: refused (API server away)");
                }
            } else {
                let acs = format!(
                    "https://{name}.{}.example/acs",
                    self.rng.random_range(0..1000)
                );
                let yaml = self.manifest(name, api_name, deletion, &acs);
                let ok = cluster::apply_yaml(&ns, &yaml).is_ok();
                self.count(if ok {
                    "op: change"
                } else {
                    "op: refused (API server away)"
                });
            }
        } else {
            let api_name = API_NAMES[self.rng.random_range(0..API_NAMES.len())];
            let deletion = if self.rng.random_bool(0.8) {
                "Delete"
            } else {
                "Orphan"
            };
            let yaml = self.manifest(
                name,
                api_name,
                deletion,
                &format!("https://{name}.example/acs"),
            );
            match cluster::apply_yaml(&ns, &yaml) {
                Ok(_) => {
                    self.live.insert(key, (api_name, deletion));
                    self.count("op: create");
                }
                // Still being deleted (finalizer), or the API server away.
                Err(_) => self.count("op: refused (deleting or API server away)"),
            }
        }
    }

    fn manifest(&mut self, name: &str, api_name: &str, deletion: &str, acs: &str) -> String {
        let yaml = app_manifest(&AppOpts {
            name,
            api_name,
            deletion,
            acs_url: acs,
            ..Default::default()
        });
        let cm = match self.rng.random_range(0..10) {
            0 => Some(FOREIGN_CM),
            1 => Some(SHARED_CM),
            _ => None,
        };
        match cm {
            Some(cm) => yaml.replace(
                "publish: {refreshInterval: 1h}",
                &format!("publish: {{refreshInterval: 1h, configMapName: {cm}}}"),
            ),
            None => yaml,
        }
    }

    fn uid(&self, ns: &str, name: &str) -> Option<String> {
        let out = cluster::kubectl(&[
            "-n",
            ns,
            "get",
            "sca",
            name,
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        let uid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !uid.is_empty()).then_some(uid)
    }

    async fn apps(&self) -> Option<Vec<SsoConnectedApp>> {
        let mut all = Vec::new();
        for ns in &self.namespaces {
            let api: Api<SsoConnectedApp> = Api::namespaced(self.client.clone(), ns);
            all.extend(api.list(&ListParams::default()).await.ok()?.items);
        }
        Some(all)
    }

    /// The invariants that hold at every moment. Skipped while the API server is away.
    async fn check(&mut self) {
        self.check_markers().await;
        let Some(apps) = self.apps().await else {
            return;
        };
        let mut owners: HashMap<String, String> = HashMap::new();
        for a in apps
            .iter()
            .filter(|a| a.metadata.deletion_timestamp.is_none())
        {
            let ready = a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "AppReady" && c.status == "True")
            });
            if !ready {
                continue;
            }
            let who = format!(
                "{}/{}",
                a.metadata.namespace.as_deref().unwrap_or(""),
                a.metadata.name.as_deref().unwrap_or("")
            );
            if let Some(other) =
                owners.insert(a.spec.app.api_name.to_ascii_lowercase(), who.clone())
            {
                self.fail(format!(
                    "app {} owned by two resources: {other} and {who}",
                    a.spec.app.api_name
                ));
            }
        }
        for ns in self.namespaces.clone() {
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), &ns);
            let Ok(cm) = cms.get(FOREIGN_CM).await else {
                continue;
            };
            let rv = cm.metadata.resource_version.unwrap_or_default();
            if self.foreign_versions[&ns] != rv {
                self.fail(format!(
                    "the foreign ConfigMap {ns}/{FOREIGN_CM} was written: {:?}",
                    cm.data
                ));
            }
        }
        self.collect_garbage(&apps).await;
    }

    /// An app's marker never changes while it exists (a delete in the org's call log ends it).
    async fn check_markers(&mut self) {
        let calls = self.sim.calls().await;
        for e in calls["log"].as_array().into_iter().flatten() {
            let seq = e["seq"].as_u64().unwrap_or(0);
            if seq <= self.seen_seq {
                continue;
            }
            self.seen_seq = seq;
            if e["operation"] == "deleteMetadata" {
                for n in e["fullNames"].as_array().into_iter().flatten() {
                    self.markers
                        .remove(&n.as_str().unwrap_or("").to_ascii_lowercase());
                }
            }
        }
        let state = self.sim.state().await;
        let apps = state["connectedApps"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let present: HashSet<String> = apps.keys().map(|k| k.to_ascii_lowercase()).collect();
        self.markers.retain(|k, _| present.contains(k));
        for (name, app) in apps {
            let Some(uid) = marker_uid(&app) else {
                continue;
            };
            match self.markers.get(&name.to_ascii_lowercase()) {
                Some(before) if *before != uid => self.fail(format!(
                    "app {name} was marked for uid {before}, then written with uid {uid} without being deleted; the org's apps: {:?}",
                    state["connectedApps"].as_object().map(|a| a.iter().map(|(n, v)| (n.clone(), marker_uid(v))).collect::<Vec<_>>())
                )),
                _ => {
                    self.markers.insert(name.to_ascii_lowercase(), uid);
                }
            }
        }
    }

    /// What the garbage collector would do: ConfigMaps whose controller is gone go too.
    async fn collect_garbage(&self, apps: &[SsoConnectedApp]) {
        let uids: HashSet<&str> = apps
            .iter()
            .filter_map(|a| a.metadata.uid.as_deref())
            .collect();
        for ns in &self.namespaces {
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
            let Ok(list) = cms.list(&ListParams::default()).await else {
                return;
            };
            for cm in list.items {
                let orphan = cm.metadata.owner_references.iter().flatten().any(|o| {
                    o.controller == Some(true)
                        && o.kind == "SsoConnectedApp"
                        && !uids.contains(o.uid.as_str())
                });
                if orphan {
                    let name = cm.metadata.name.unwrap_or_default();
                    let _ = cms.delete(&name, &DeleteParams::default()).await;
                }
            }
        }
    }

    /// Faults off, every replica up, every live resource asked for a full check; waits until
    /// deletions are done and every live resource observed its generation and is Ready or in
    /// Conflict. Then the end invariants.
    async fn settle_and_check(&mut self) {
        self.sim.clear_faults().await;
        self.supervise();
        let deadline = Instant::now() + SETTLE;
        for (i, key) in self.live.keys().enumerate() {
            let (ns, name) = key.split_once('/').expect("ns/name");
            let _ = cluster::kubectl(&[
                "-n",
                ns,
                "annotate",
                "--overwrite",
                "sca",
                name,
                &format!("sso-operator.dev/sync-requested=soak-end-{i}"),
            ]);
        }
        let mut pending = Vec::new();
        while Instant::now() < deadline {
            self.supervise();
            if let Some(apps) = self.apps().await {
                self.collect_garbage(&apps).await;
                pending = apps
                    .iter()
                    .filter(|a| !settled(a))
                    .map(|a| {
                        format!(
                            "{}/{}: {:?}",
                            a.metadata.namespace.as_deref().unwrap_or(""),
                            a.metadata.name.as_deref().unwrap_or(""),
                            a.status.as_ref().map(|s| s
                                .conditions
                                .iter()
                                .map(|c| format!("{} {} {}", c.type_, c.status, c.reason))
                                .collect::<Vec<_>>())
                        )
                    })
                    .collect();
                if pending.is_empty() {
                    break;
                }
            }
            // Poll interval of this wait (bounded by SETTLE above).
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !pending.is_empty() {
            self.fail(format!("not settled within {SETTLE:?}: {pending:#?}"));
        }
        self.check().await;
        self.check_end_state().await;
        self.check_leadership();
    }

    /// At the end: every Ready resource's app is marked for it and its ConfigMap equals what the
    /// org serves; every app left in the org belongs to a live resource or one deleted with Orphan.
    async fn check_end_state(&mut self) {
        let apps = self
            .apps()
            .await
            .unwrap_or_else(|| self.fail("cannot list apps at the end"));
        let state = self.sim.state().await;
        let org_apps = state["connectedApps"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut live_uids = HashSet::new();
        for a in &apps {
            let uid = a.metadata.uid.clone().unwrap_or_default();
            live_uids.insert(uid.clone());
            let ready = a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            });
            if !ready {
                continue;
            }
            self.count("end: Ready resources checked");
            let api_name = &a.spec.app.api_name;
            let ns = a.metadata.namespace.clone().unwrap_or_default();
            let name = a.metadata.name.clone().unwrap_or_default();
            match org_apps.get(api_name).and_then(marker_uid) {
                Some(m) if m == uid => {}
                other => self.fail(format!(
                    "{ns}/{name} is Ready but app {api_name} is marked {other:?}, not {uid}"
                )),
            }
            let cm_name = a
                .spec
                .publish
                .config_map_name
                .clone()
                .unwrap_or_else(|| format!("{name}-idp-metadata"));
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), &ns);
            let data = cms
                .get(&cm_name)
                .await
                .ok()
                .and_then(|c| c.data)
                .unwrap_or_default();
            let (code, served) = self
                .sim
                .get(&format!("/.well-known/samlidp/{api_name}.xml"))
                .await;
            if code != 200 || data.get("metadata.xml") != Some(&served) {
                self.fail(format!("ConfigMap {ns}/{cm_name} is not what the org serves for {api_name} (HTTP {code})"));
            }
        }
        for (name, app) in &org_apps {
            let Some(uid) = marker_uid(app) else { continue };
            if !live_uids.contains(&uid) && !self.orphaned.contains(&uid) {
                self.fail(format!("app {name} is left in the org, marked for {uid}: neither live nor deleted with Orphan"));
            }
            if self.orphaned.contains(&uid) {
                self.count("end: orphaned apps kept");
            }
        }
    }

    /// Every Salesforce write a replica logged lies inside its own leadership term and outside
    /// every other replica's.
    fn check_leadership(&mut self) {
        let now = jiff::Timestamp::now();
        let mut terms = Vec::new();
        let mut writes = Vec::new();
        let all: Vec<&Incarnation> = self
            .replicas
            .iter()
            .flat_map(|r| r.past.iter().chain([&r.now]))
            .collect();
        for (i, inc) in all.iter().enumerate() {
            let text = strip_ansi(&std::fs::read_to_string(&inc.log).unwrap_or_default());
            let (term, w) = leadership(&text, inc.ended.unwrap_or(now));
            if let Some(t) = term {
                terms.push((i, t));
            }
            writes.extend(w.into_iter().map(|w| (i, w)));
        }
        for &(i, (start, end, ref op)) in &writes {
            let own = terms.iter().find(|(j, _)| *j == i).map(|(_, t)| *t);
            let inside = own.is_some_and(|(s, e)| s <= start && start <= e);
            if !inside {
                self.fail(format!(
                    "process {i} wrote ({op} at {start}) outside its leadership term {own:?}"
                ));
            }
            for &(j, (s, e)) in &terms {
                if j != i && start <= e && s <= end {
                    self.fail(format!("process {i} wrote ({op}, {start}..{end}) during process {j}'s term {s}..{e}"));
                }
            }
        }
        self.counts.insert(
            "end: writes checked against leadership terms",
            writes.len() as u64,
        );
        self.counts
            .insert("end: leadership terms", terms.len() as u64);
    }
}

/// Done: observed its generation and Ready, or waiting for a person (Conflict).
fn settled(a: &SsoConnectedApp) -> bool {
    if a.metadata.deletion_timestamp.is_some() {
        return false;
    }
    a.status.as_ref().is_some_and(|s| {
        s.observed_generation == a.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && (c.status == "True" || c.reason == "Conflict"))
    })
}

/// The uid in an app's ownership marker.
fn marker_uid(app: &Value) -> Option<String> {
    let d = app["description"].as_str()?;
    let line = d
        .lines()
        .rfind(|l| l.starts_with("Managed by sso-operator: "))?;
    let rest = &line[line.find("(uid ")? + 5..];
    Some(rest[..rest.find([',', ')'])?].to_string())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

type Term = (jiff::Timestamp, jiff::Timestamp);

/// One process's leadership term (acquired .. the first sign of its end, or `ended`) and its
/// Salesforce writes (sent .. answered, with the operation).
fn leadership(
    log: &str,
    ended: jiff::Timestamp,
) -> (
    Option<Term>,
    Vec<(jiff::Timestamp, jiff::Timestamp, String)>,
) {
    let ts = |l: &str| {
        l.split_whitespace()
            .next()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let mut start = None;
    let mut end = ended;
    let mut writes = Vec::new();
    for line in log.lines() {
        let Some(t) = ts(line) else { continue };
        if line.contains("acquired the leader Lease") {
            start = Some(t);
        } else if [
            "could not renew the leader Lease",
            "the leader Lease was taken over",
            "lost the leader Lease",
            "released the leader Lease",
        ]
        .iter()
        .any(|m| line.contains(m))
        {
            end = end.min(t);
        } else if line.contains("salesforce call") {
            let op = line
                .split("operation=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            if WRITE_OPERATIONS.contains(&op) {
                let ms: i64 = line
                    .split("elapsed_ms=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let sent = t
                    .checked_sub(jiff::SignedDuration::from_millis(ms))
                    .unwrap_or(t);
                writes.push((sent, t, op.to_string()));
            }
        }
    }
    (start.map(|s| (s, end)), writes)
}

fn soak_duration() -> Duration {
    let raw = std::env::var("SOAK_DURATION").unwrap_or_else(|_| "10m".into());
    sso_operator::api::app::parse_duration(&raw)
        .unwrap_or_else(|| panic!("SOAK_DURATION={raw}: a duration such as 10m or 90s"))
}

/// One namespace per team, each with the org, its Secret and a foreign ConfigMap (and that
/// ConfigMap's resourceVersion, which must never move).
async fn team_namespaces(
    client: &kube::Client,
    sim: &Sim,
) -> (Vec<String>, HashMap<String, String>) {
    let mut namespaces = Vec::new();
    let mut foreign_versions = HashMap::new();
    for team in TEAMS {
        let ns = cluster::fresh_namespace(team).await;
        cluster::apply_yaml(&ns, &secret(ORG_SECRET, &[("tls.key", &sim.key.key_pem)]))
            .expect("Secret");
        cluster::apply_yaml(&ns, &acme_org(&sim.url)).expect("org");
        let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": FOREIGN_CM}, "data": {"owner": team}});
        cluster::apply_yaml(&ns, &foreign.to_string()).expect("foreign ConfigMap");
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let rv = cms
            .get(FOREIGN_CM)
            .await
            .expect("foreign ConfigMap")
            .metadata
            .resource_version;
        foreign_versions.insert(ns.clone(), rv.unwrap_or_default());
        namespaces.push(ns);
    }
    (namespaces, foreign_versions)
}

#[tokio::test]
#[ignore = "the soak: make soak (SOAK_DURATION, SOAK_SEED)"]
async fn k8s_soak_many_teams_under_faults() {
    let _private = cluster::use_private_cluster();
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .map(|s| s.parse().expect("SOAK_SEED: a number"))
        .unwrap_or_else(rand::random);
    let duration = soak_duration();
    eprintln!("soak: SOAK_SEED={seed} SOAK_DURATION={duration:?}");
    cluster::install_crds().await;
    let sim = OrgSeed::default().start();
    let client = cluster::client().await;
    let (namespaces, foreign_versions) = team_namespaces(&client, &sim).await;
    let lease_ns = cluster::fresh_namespace("soak-lease").await;
    let opts = OperatorOpts::args(&[
        "--leader-election",
        "--leader-election-namespace",
        &lease_ns,
        "--leader-election-lease-seconds",
        "6",
        "--leader-election-renew-deadline-seconds",
        "4",
        "--leader-election-retry-period-seconds",
        "1",
    ])
    .all_namespaces();
    let mut soak = Soak {
        seed,
        rng: StdRng::seed_from_u64(seed),
        sim,
        client,
        namespaces,
        lease_ns,
        opts,
        replicas: Vec::new(),
        counts: BTreeMap::new(),
        live: HashMap::new(),
        orphaned: HashSet::new(),
        markers: HashMap::new(),
        seen_seq: 0,
        foreign_versions,
    };
    for _ in 0..2 {
        let now = soak.start_replica();
        soak.replicas.push(Replica {
            now,
            past: Vec::new(),
        });
    }

    let started = Instant::now();
    let mut step = 0u64;
    while started.elapsed() < duration {
        step += 1;
        soak.supervise();
        match soak.rng.random_range(0..100) {
            0..78 => soak.app_operation(),
            78..95 => soak.salesforce_fault().await,
            95..98 => soak.kill_replica(),
            _ => soak.restart_apiserver(),
        }
        if step.is_multiple_of(5) {
            soak.check().await;
        }
        // The soak's pace: the next random operation in 0.2-1.5 s (not a wait for a condition).
        let pause = soak.rng.random_range(200..1500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    soak.counts.insert("steps", step);
    soak.settle_and_check().await;
    let sim_writes = soak.sim.writes().await;
    soak.counts
        .insert("Salesforce writes (org's count)", sim_writes);
    let total = soak.sim.total_calls().await;
    soak.counts.insert("Salesforce calls (org's count)", total);
    eprintln!(
        "soak passed (SOAK_SEED={seed}, {:?}): {:#?}",
        started.elapsed(),
        soak.counts
    );
    for r in &mut soak.replicas {
        r.now.operator.terminate();
    }
}

#[test]
fn the_leadership_check_reads_terms_and_writes_from_a_log() {
    let log = "\
2026-01-01T00:00:01Z  INFO standing by: another replica holds the leader Lease
2026-01-01T00:00:05.5Z  INFO acquired the leader Lease
2026-01-01T00:00:06Z DEBUG salesforce call org=a/acme operation=\"readMetadata\" count=1 outcome=\"ok\" elapsed_ms=3
2026-01-01T00:00:07Z DEBUG salesforce call org=a/acme operation=\"upsertMetadata\" count=1 outcome=\"ok\" elapsed_ms=250
2026-01-01T00:00:09Z ERROR could not renew the leader Lease within the renew deadline
2026-01-01T00:00:09.1Z ERROR lost the leader Lease: controllers stopped
";
    let ended: jiff::Timestamp = "2026-01-01T00:00:30Z".parse().unwrap();
    let (term, writes) = leadership(&strip_ansi(log), ended);
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(
        term,
        Some((t("2026-01-01T00:00:05.5Z"), t("2026-01-01T00:00:09Z")))
    );
    assert_eq!(
        writes,
        vec![(
            t("2026-01-01T00:00:06.75Z"),
            t("2026-01-01T00:00:07Z"),
            "upsertMetadata".to_string()
        )]
    );
    assert_eq!(strip_ansi("\u{1b}[2mx\u{1b}[0m y"), "x y");
}

#[test]
fn the_marker_uid_is_read_from_the_last_marker_line() {
    let app = json!({"description": "SSO\nManaged by sso-operator: ns/voice (uid 1234-ab, cluster prod)"});
    assert_eq!(marker_uid(&app).as_deref(), Some("1234-ab"));
    let old = json!({"description": "Managed by sso-operator: ns/voice (uid 99)"});
    assert_eq!(marker_uid(&old).as_deref(), Some("99"));
    assert_eq!(marker_uid(&json!({"description": "by hand"})), None);
}
