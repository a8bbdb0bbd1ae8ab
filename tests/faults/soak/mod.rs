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

use crate::common::e2e::{
    AppOpts, ORG_SECRET, Operator, OperatorOpts, OrgSeed, Sim, acme_org, app_manifest, secret,
};
use crate::common::sim::WRITE_OPERATIONS;
use crate::common::{cluster, sim};

mod invariants;

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
