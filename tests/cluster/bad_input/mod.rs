//! The bad-input catalogue (limits-faults-security.md §6.5), one table-driven test per subject:
//! the org's URLs, the org's credentials (`org.rs`), the app's spec and the IdP certificate
//! (`app.rs`), hostile IdP metadata (`metadata.rs`). What admission refuses is `admission/`.
//!
//! Every case expects a specific condition reason (and message substring), and that Salesforce
//! was not written for that case's app. A subject's cases share one namespace, simulated org and
//! operator: they are applied all at once and waited for together (each until it holds or
//! [`WAIT`] passes), so the operator meets them concurrently, as it would a namespace of broken
//! objects.
//!
//! "No Salesforce write" is checked per case as the number of write calls (create, update,
//! upsert, delete) naming the case's app in `/__sim/calls`, counted from just before the case was
//! applied: 0, except where Salesforce itself must see the content to refuse it (unknown profile or
//! permission set: one refused upsert, nothing created, not retried). Hostile metadata cases start
//! from a Ready app: no *extra* write, and the ConfigMap keeps its last good content.

mod app;
mod metadata;
mod org;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::cluster;
use crate::common::e2e::{self, AppOpts, Env, app_manifest};

const WAIT: Duration = Duration::from_secs(60);

pub enum Expect {
    /// The case's own `SalesforceOrg` gets `Ready=False` with this reason and message substring;
    /// its app reports `OrgNotReady`.
    Org(&'static str, &'static str),
    /// The case's app gets condition `type=False` with this reason and message substring.
    App(&'static str, &'static str, &'static str),
    /// Hostile IdP metadata for an app that was Ready: `MetadataPublished=False`, reason
    /// `MetadataInvalid`, this in the message; the ConfigMap is unchanged.
    Metadata(&'static str),
}

pub struct Case {
    pub name: String,
    /// What is applied (one or more documents).
    pub yaml: String,
    pub app: String,
    pub api_name: String,
    pub org: String,
    pub expect: Expect,
    /// Write calls allowed for the app (see the module doc).
    pub writes: usize,
}

/// An app `name` of org `org` with API name `api`, from the standard manifest (deletion
/// `Orphan`: a case's app is never deleted in Salesforce).
pub fn app_yaml(name: &str, api: &str, org: &str) -> String {
    app_manifest(&AppOpts {
        name,
        api_name: api,
        org,
        deletion: "Orphan",
        ..Default::default()
    })
}

/// Checks one case once: `Ok(())` when it holds, `Err(why)` while it does not (yet).
async fn check(env: &Env, case: &Case) -> Result<(), String> {
    let holds = |c: &Option<e2e::Cond>, reason: &str, needle: &str| {
        c.as_ref()
            .is_some_and(|c| c.0 == "False" && c.1 == reason && c.2.contains(needle))
    };
    let (type_, reason, needle) = match &case.expect {
        Expect::Org(reason, needle) => {
            let (org, _) = env
                .org_ready(&case.org)
                .await
                .ok_or("org has no Ready condition")?;
            if !holds(&Some(org.clone()), reason, needle) {
                return Err(format!("org Ready={} {}: {}", org.0, org.1, org.2));
            }
            // The app says OrgNotReady: with the org's reason when the org could not even be
            // built (URL, Secret, key), with Salesforce's refusal when the token request failed.
            ("Ready", "OrgNotReady", "")
        }
        Expect::App(type_, reason, needle) => (*type_, *reason, *needle),
        Expect::Metadata(needle) => ("MetadataPublished", "MetadataInvalid", *needle),
    };
    let c = env.condition(&case.app, type_).await;
    if holds(&c, reason, needle) {
        Ok(())
    } else {
        Err(format!("{type_}: {c:?}"))
    }
}

/// Write calls so far naming each case's app.
pub async fn writes_by_app(env: &Env, cases: &[Case]) -> BTreeMap<String, usize> {
    let mut writes = BTreeMap::new();
    for case in cases {
        let n = env.sim.writes_of(&case.api_name).await.len();
        writes.insert(case.api_name.clone(), n);
    }
    writes
}

/// Applies every case; each must be accepted. Returns what failed.
pub fn apply_all(env: &Env, cases: &[Case]) -> Vec<String> {
    let refused = cases.iter().filter_map(|case| {
        let e = cluster::apply_yaml(&env.ns, &case.yaml).err()?;
        Some(format!("[{}] refused: {e}", case.name))
    });
    refused.collect()
}

/// Waits for every case at once, each until it holds or [`WAIT`] passed (checked every 500 ms).
/// Returns what failed.
pub async fn settle(env: &Env, cases: &[Case]) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut pending: Vec<(&Case, String)> = cases.iter().map(|c| (c, String::new())).collect();
    loop {
        let mut still = Vec::new();
        for (case, _) in pending {
            if let Err(why) = check(env, case).await {
                still.push((case, why));
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    pending
        .iter()
        .map(|(case, why)| format!("[{}] not reached within {WAIT:?}: {why}", case.name))
        .collect()
}

/// Once the retries of the failing cases had a chance to run: no Salesforce write for any case's
/// app beyond `before` and what it was allowed, and an app allowed a (refused) write was not
/// created. Returns what failed.
pub async fn check_writes(
    env: &Env,
    cases: &[Case],
    before: &BTreeMap<String, usize>,
) -> Vec<String> {
    // Not required: the counts below are what matters, whenever the operator settles.
    let idle = || async { env.operator.idle("ssoconnectedapp").await.then_some(()) };
    cluster::poll_until(Duration::from_secs(20), idle).await;
    let mut failures = Vec::new();
    for case in cases {
        let now = env.sim.writes_of(&case.api_name).await.len();
        let before = before[&case.api_name];
        if now > before + case.writes {
            failures.push(format!(
                "[{}] {} Salesforce write(s) for {} (allowed {})",
                case.name,
                now - before,
                case.api_name,
                case.writes
            ));
        }
        if case.writes > 0 && env.sim.app(&case.api_name).await.is_some() {
            failures.push(format!("[{}] {} was created", case.name, case.api_name));
        }
    }
    failures
}

/// Applies `cases` to `env`, waits for all, checks the writes, and fails with every case that
/// did not hold.
pub async fn run(env: &Env, cases: &[Case]) {
    let before = writes_by_app(env, cases).await;
    let mut failures = apply_all(env, cases);
    failures.extend(settle(env, cases).await);
    failures.extend(check_writes(env, cases, &before).await);
    assert_no_failures(env, cases.len(), &failures);
}

/// Fails with every failed case and the operator's log tail.
pub fn assert_no_failures(env: &Env, cases: usize, failures: &[String]) {
    eprintln!("{cases} cases checked, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}\n\noperator log tail:\n{}",
        failures.len(),
        failures.join("\n"),
        e2e::tail(&env.operator.logs(), 20)
    );
}
