//! The lifecycle under every reality variant (issue 15, Build item 3; the variants are the table
//! "Reality variants" in docs/simulator.md). For each variant one environment holds a connected
//! app and an External Client App; each is created, updated, given a profile and has it taken
//! away again, sees the IdP certificate rotated (regenerated key), is changed in Setup (drift),
//! and is deleted. In every variant each app either converges or reports the specific condition
//! the variant calls for, and after convergence the operator writes nothing while the org sees
//! three refresh checks of each app. The variants run concurrently (one operator and simulated
//! org each), and a failure names its variant.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::cluster;
use crate::common::e2e::{AppOpts, Env, Flavor, OrgSeed, app_manifest};

const SHORT: Duration = Duration::from_secs(60);
/// Three refresh intervals of 1m (±10% jitter), with room for a slow machine.
const THREE_REFRESHES: Duration = Duration::from_secs(300);
const ACS2: &str = "https://sso.vendor.example/saml/acs2";
const ONE: &str = "{profiles: [Contact Center Agent], permissionSets: [Voice_Agent]}";
const TWO: &str =
    "{profiles: [Contact Center Agent, System Administrator], permissionSets: [Voice_Agent]}";
/// Operations that change the org: Metadata API writes, deploys, and grant revocations.
const WRITES: [&str; 6] = [
    "createMetadata",
    "updateMetadata",
    "upsertMetadata",
    "deleteMetadata",
    "deploy",
    "sobjectDelete",
];

struct Variant {
    name: &'static str,
    /// `POST /__sim/realism` body (edition included).
    realism: Value,
    creation_allowed: bool,
}

impl Variant {
    /// The label the org reports for its switches (`default` when none is off its default;
    /// the edition is not a switch).
    fn label(&self) -> &'static str {
        if self.name.starts_with("edition=") || self.name == "creationBlocked=perComponent" {
            "default"
        } else {
            self.name
        }
    }

    /// External Client App policies readable by `retrieve` only: their drift cannot be seen.
    fn policies_unread(&self) -> bool {
        self.name == "ecaPolicyReads=retrieveOnly"
    }
}

fn variants() -> Vec<Variant> {
    let v = |name, realism, creation_allowed| Variant {
        name,
        realism,
        creation_allowed,
    };
    vec![
        v("default", json!({}), true),
        v("edition=production", json!({"edition": "production"}), true),
        v("edition=sandbox", json!({"edition": "sandbox"}), true),
        v("ecaAccessReads=ids", json!({"ecaAccessReads": "ids"}), true),
        v(
            "ecaAccessWrites=replacing",
            json!({"ecaAccessWrites": "replacing"}),
            true,
        ),
        v(
            "ecaMetadata=notFound",
            json!({"ecaMetadata": "notFound"}),
            true,
        ),
        v(
            "defaultsInReads=omitted",
            json!({"defaultsInReads": "omitted"}),
            true,
        ),
        v(
            "nameMatching=caseSensitive",
            json!({"nameMatching": "caseSensitive"}),
            true,
        ),
        v(
            "ecaPolicyReads=retrieveOnly",
            json!({"ecaPolicyReads": "retrieveOnly"}),
            true,
        ),
        v(
            "creationBlocked=perComponent",
            json!({"creationBlocked": "perComponent"}),
            false,
        ),
        v(
            "creationBlocked=fault",
            json!({"creationBlocked": "fault"}),
            false,
        ),
        v(
            "consumerKeyEcho=accepted",
            json!({"consumerKeyEcho": "accepted"}),
            true,
        ),
        v(
            "metadataValidUntil=wholeDays",
            json!({"metadataValidUntil": "wholeDays"}),
            true,
        ),
    ]
}

fn opts(f: Flavor) -> AppOpts<'static> {
    let (name, api_name) = match f {
        Flavor::Connected => ("ca", "Matrix_CA"),
        Flavor::External => ("eca", "Matrix_ECA"),
    };
    AppOpts {
        name,
        api_name,
        app_type: f.app_type(),
        refresh: "1m",
        access: ONE,
        ..Default::default()
    }
}

/// The profiles the org grants app `f` (sorted).
async fn profiles(env: &Env, f: Flavor) -> Vec<String> {
    let mut p: Vec<String> = f
        .saml(&env.sim, opts(f).api_name)
        .await
        .and_then(|s| s["profiles"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    p.sort();
    p
}

async fn acs(env: &Env, f: Flavor) -> Option<String> {
    f.saml(&env.sim, opts(f).api_name)
        .await
        .and_then(|s| s["acsUrl"].as_str().map(str::to_string))
}

async fn writes(env: &Env) -> u64 {
    let c = env.sim.calls().await;
    WRITES
        .iter()
        .map(|op| c["counts"][op].as_u64().unwrap_or(0))
        .sum()
}

/// Reads of app `name` itself (one per check) since the last reset.
async fn reads_of(env: &Env, name: &str) -> usize {
    env.sim
        .log()
        .await
        .iter()
        .filter(|e| e["operation"] == "readMetadata" && crate::common::sim::names(e, name))
        .count()
}

/// Create, update, access added and removed: the app converges at each step.
async fn create_update_access(env: &Env, f: Flavor) {
    let o = opts(f);
    env.apply(&app_manifest(&o));
    env.wait_ready(o.name, SHORT).await;
    env.apply(&app_manifest(&AppOpts {
        acs_url: ACS2,
        ..opts(f)
    }));
    cluster::wait_for(SHORT, "acsUrl updated", || async {
        acs(env, f).await.as_deref() == Some(ACS2)
    })
    .await;
    env.wait_ready_at(o.name, 2, SHORT).await;
    env.apply(&app_manifest(&AppOpts {
        acs_url: ACS2,
        access: TWO,
        ..opts(f)
    }));
    cluster::wait_for(SHORT, "profile granted", || async {
        profiles(env, f).await == ["Contact Center Agent", "System Administrator"]
    })
    .await;
    env.wait_ready_at(o.name, 3, SHORT).await;
    env.apply(&app_manifest(&AppOpts {
        acs_url: ACS2,
        access: ONE,
        ..opts(f)
    }));
    cluster::wait_for(SHORT, "profile revoked", || async {
        profiles(env, f).await == ["Contact Center Agent"]
    })
    .await;
    env.wait_ready_at(o.name, 4, SHORT).await;
}

/// An admin changes the ACS URL in Setup; the next check restores it.
async fn drift(env: &Env, f: Flavor) {
    let o = opts(f);
    env.sim
        .control(
            "/__sim/mutate",
            f.mutate_acs(o.api_name, "https://admin-edit.example/acs"),
        )
        .await;
    env.annotate_sync(o.name, "drift");
    cluster::wait_for(SHORT, "drift reverted", || async {
        acs(env, f).await.as_deref() == Some(ACS2)
    })
    .await;
}

/// The whole lifecycle of one variant; `Err` says what did not hold.
async fn run(v: Variant) {
    let env = Env::start(
        "matrix",
        OrgSeed {
            creation_allowed: v.creation_allowed,
            ..Default::default()
        },
    )
    .await;
    let answer = env.sim.control("/__sim/realism", v.realism.clone()).await;
    // The org reports the variant it runs.
    assert_eq!(answer["label"], v.label(), "{answer}");

    // Connected app: converges, or where creation is blocked reports exactly that.
    let ca = opts(Flavor::Connected);
    if v.creation_allowed {
        create_update_access(&env, Flavor::Connected).await;
    } else {
        env.apply(&app_manifest(&ca));
        env.wait_condition(
            ca.name,
            "AppReady",
            "False",
            Some("ConnectedAppCreationBlocked"),
            SHORT,
        )
        .await;
    }
    create_update_access(&env, Flavor::External).await;

    // The IdP certificate gets a new key: both apps publish it.
    env.sim
        .control(
            "/__sim/certificates",
            json!({"name": "SelfSignedCert_IdP", "setAsIdpCertificate": true}),
        )
        .await;
    let pem = env.sim.certificate("SelfSignedCert_IdP").await["pem"]
        .as_str()
        .unwrap()
        .trim()
        .to_string();
    let flavors: Vec<Flavor> = if v.creation_allowed {
        vec![Flavor::Connected, Flavor::External]
    } else {
        vec![Flavor::External]
    };
    for f in &flavors {
        let o = opts(*f);
        env.annotate_sync(o.name, "rotate");
        let cm = format!("{}-idp-metadata", o.name);
        cluster::wait_for(SHORT, "rotated certificate published", || async {
            env.config_map(&cm)
                .await
                .is_some_and(|d| d["certificate.pem"].trim() == pem)
        })
        .await;
    }
    for f in &flavors {
        if *f == Flavor::External && v.policies_unread() {
            // Not correctable here, and status says so rather than claiming a check.
            let (s, _, m) = env
                .condition(opts(*f).name, "AppReady")
                .await
                .expect("AppReady");
            assert!(s == "True" && m.contains("not checked for drift"), "{m}");
            continue;
        }
        drift(&env, *f).await;
        env.wait_ready(opts(*f).name, SHORT).await;
    }

    assert_no_write_over_three_refreshes(&env, &flavors).await;

    // Delete: the apps leave the org.
    for f in &flavors {
        let o = opts(*f);
        env.delete_app(o.name).await;
        env.wait_deleted(o.name, SHORT).await;
        assert!(
            !f.exists(&env.sim, o.api_name).await,
            "{} still in the org",
            o.api_name
        );
    }
    if !v.creation_allowed {
        env.delete_app(ca.name).await;
        env.wait_deleted(ca.name, SHORT).await;
    }
}

/// Converged: three refresh checks of each app, and not one write.
async fn assert_no_write_over_three_refreshes(env: &Env, flavors: &[Flavor]) {
    env.wait_idle(SHORT).await;
    env.sim.reset_calls().await;
    for f in flavors {
        let name = opts(*f).api_name;
        cluster::wait_for(THREE_REFRESHES, "three refresh checks", || async {
            reads_of(env, name).await >= 3
        })
        .await;
    }
    let log: Vec<Value> = env
        .sim
        .log()
        .await
        .into_iter()
        .filter(|e| WRITES.contains(&e["operation"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(writes(env).await, 0, "writes after convergence: {log:?}");
}

/// Variants at once: each has its own org (key generation at start) and operator, and a
/// machine with two cores starves TLS handshakes beyond about four (`SSO_MATRIX_PARALLEL`).
fn parallel() -> usize {
    std::env::var("SSO_MATRIX_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .max(1)
}

/// `SSO_MATRIX_VARIANTS=a,b`: only these variants (by name), e.g. to look at one.
fn selected(v: &Variant) -> bool {
    std::env::var("SSO_MATRIX_VARIANTS")
        .map(|s| s.split(',').any(|n| n.trim() == v.name))
        .unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn k8s_every_reality_variant_converges_or_reports_and_never_loops() {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel()));
    let tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)> = variants()
        .into_iter()
        .filter(selected)
        .map(|v| {
            let slots = slots.clone();
            let name = v.name;
            let task = tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.expect("semaphore");
                run(v).await
            });
            (name, task)
        })
        .collect();
    assert!(!tasks.is_empty(), "SSO_MATRIX_VARIANTS selects no variant");
    let mut failed = Vec::new();
    for (name, t) in tasks {
        if let Err(e) = t.await {
            let why = e
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_default();
            failed.push(format!("variant {name}: {why}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
