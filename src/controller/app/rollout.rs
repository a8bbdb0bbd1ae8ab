//! Stage: restart the workloads of `publish.rollout` when the published metadata changes, for
//! pods that read it only at start. The pod template gets the metadata's digest as an annotation
//! (what `kubectl rollout restart` does with a timestamp), so the workload controller replaces the
//! pods once; a digest already rolled out is never applied again, so a refresh that publishes the
//! same bytes restarts nothing. Debounced: the content must stay unchanged for
//! `publish.rolloutDelay` first, so a burst of changes restarts once. The first publish (or the
//! first one after `publish.rollout` is set) only records a baseline: those pods start with it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{Patch, PatchParams};
use tracing::info;

use super::inputs::Inputs;
use crate::api::app::{MetadataStatus, RolloutStatus, RolloutTarget, WorkloadKind, parse_duration};
use crate::api::conditions::{Desired, reasons, types};
use crate::api::shared_str::SharedStr;
use crate::api::{MANAGER, ROLLOUT_ANNOTATION};
use crate::controller::context::Context;
use crate::error::Error;
use crate::events::EventSpec;

/// The delay when `publish.rolloutDelay` cannot be read (the CRD admits only what parses).
const DEFAULT_DELAY: Duration = Duration::from_secs(30);

/// What the stage decided, before doing it.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// `publish.rollout` is empty.
    NotConfigured,
    /// Nothing rolled out yet: remember this content, restart nothing.
    Baseline,
    /// The workloads already carry this content.
    UpToDate,
    /// New content, still inside `publish.rolloutDelay`: look again after this long.
    Wait(Duration),
    /// New content, settled: restart the workloads.
    Restart,
}

/// Decides from the content just published and what was rolled out before.
pub fn plan(
    targets: &[RolloutTarget],
    published: &MetadataStatus,
    last: Option<&RolloutStatus>,
    delay: Duration,
    now: jiff::Timestamp,
) -> Plan {
    if targets.is_empty() {
        return Plan::NotConfigured;
    }
    let Some(last) = last else {
        return Plan::Baseline;
    };
    if last.sha256 == published.sha256 {
        return Plan::UpToDate;
    }
    let settled_at = published.published_at.0 + delay;
    match settled_at.duration_since(now).unsigned_abs() {
        wait if now < settled_at && !wait.is_zero() => Plan::Wait(wait),
        _ => Plan::Restart,
    }
}

#[derive(Debug)]
pub enum RolloutOutcome {
    /// The workloads carry (or were started with) `status.sha256`.
    Current {
        status: RolloutStatus,
        /// This reconcile restarted these workloads (`Kind/name`).
        restarted: Vec<String>,
    },
    /// New content waits out the delay; the workloads keep the previous one.
    Pending { sha256: SharedStr, wait: Duration },
    /// A workload could not be restarted; the ones before it in the list were (they are
    /// restarted again, harmlessly, with the same digest on the retry).
    Failed(Error),
}

/// Where workloads are restarted: the cluster, or a recorder in unit tests.
pub trait Restarter: Send + Sync {
    /// Sets the rollout annotation on `target`'s pod template to `sha256`.
    fn restart(
        &self,
        namespace: &str,
        target: &RolloutTarget,
        sha256: &str,
    ) -> impl std::future::Future<Output = Result<(), Error>> + Send;
}

/// Runs the stage after a successful publish of `published`.
pub async fn run(
    restarter: &impl Restarter,
    input: &Inputs<'_>,
    published: &MetadataStatus,
) -> Option<RolloutOutcome> {
    let targets = &input.spec.publish.rollout;
    let last = input.app.status.as_ref().and_then(|s| s.rollout.as_ref());
    let delay = parse_duration(&input.spec.publish.rollout_delay).unwrap_or(DEFAULT_DELAY);
    let sha256 = published.sha256.clone();
    match plan(targets, published, last, delay, input.now) {
        Plan::NotConfigured => None,
        Plan::Baseline => Some(RolloutOutcome::Current {
            status: RolloutStatus {
                sha256,
                restarted_at: None,
            },
            restarted: vec![],
        }),
        Plan::UpToDate => Some(RolloutOutcome::Current {
            status: last.cloned()?,
            restarted: vec![],
        }),
        Plan::Wait(wait) => Some(RolloutOutcome::Pending { sha256, wait }),
        Plan::Restart => {
            let mut restarted = Vec::with_capacity(targets.len());
            for target in targets {
                if let Err(e) = restarter.restart(&input.namespace, target, &sha256).await {
                    return Some(RolloutOutcome::Failed(e));
                }
                restarted.push(format!("{}/{}", kind_name(target.kind), target.name));
            }
            Some(RolloutOutcome::Current {
                status: RolloutStatus {
                    sha256,
                    restarted_at: Some(Time(input.now)),
                },
                restarted,
            })
        }
    }
}

impl Restarter for Context {
    async fn restart(
        &self,
        namespace: &str,
        target: &RolloutTarget,
        sha256: &str,
    ) -> Result<(), Error> {
        // A merge patch, not an apply: it never creates a missing workload (404, reported), and
        // it needs only `patch`. The field is still recorded under the operator's manager.
        let patch = serde_json::json!({
            "spec": {"template": {"metadata": {"annotations": {ROLLOUT_ANNOTATION: sha256}}}}
        });
        let pp = PatchParams {
            field_manager: Some(MANAGER.into()),
            ..Default::default()
        };
        let c = self.client.clone();
        let patch = Patch::Merge(&patch);
        let name = target.name.as_str();
        let result = match target.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(c, namespace)
                .patch(name, &pp, &patch)
                .await
                .map(drop),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(c, namespace)
                .patch(name, &pp, &patch)
                .await
                .map(drop),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(c, namespace)
                .patch(name, &pp, &patch)
                .await
                .map(drop),
        };
        result.map_err(|source| Error::RestartWorkload {
            kind: kind_name(target.kind),
            namespace: namespace.to_string(),
            name: target.name.clone(),
            source,
        })?;
        self.metrics.count_write("workload");
        info!(kind = kind_name(target.kind), workload = %target.name, sha256 = %short(sha256), "restarted workload for new metadata");
        Ok(())
    }
}

pub fn kind_name(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
        WorkloadKind::DaemonSet => "DaemonSet",
    }
}

impl RolloutOutcome {
    /// The status to record: what the workloads now carry (unchanged while pending or failed).
    pub fn status<'a>(&'a self, previous: Option<&'a RolloutStatus>) -> Option<&'a RolloutStatus> {
        match self {
            RolloutOutcome::Current { status, .. } => Some(status),
            _ => previous,
        }
    }

    /// How soon the reconcile must come back to restart the workloads.
    pub fn wait(&self) -> Option<Duration> {
        match self {
            RolloutOutcome::Pending { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    pub fn condition(&self) -> Desired {
        let t = types::WORKLOADS_ROLLED_OUT;
        match self {
            RolloutOutcome::Current { status, .. } => Desired::new(
                t,
                true,
                reasons::ROLLED_OUT,
                match &status.restarted_at {
                    Some(at) => format!(
                        "workloads restarted at {} for metadata sha256 {}",
                        at.0,
                        short(&status.sha256)
                    ),
                    None => format!(
                        "workloads started with metadata sha256 {}; none restarted yet",
                        short(&status.sha256)
                    ),
                },
            ),
            RolloutOutcome::Pending { sha256, wait } => Desired::new(
                t,
                false,
                reasons::ROLLOUT_PENDING,
                format!(
                    "metadata sha256 {} published; workloads restart in {}s unless it changes again",
                    short(sha256),
                    wait.as_secs().max(1)
                ),
            ),
            RolloutOutcome::Failed(e) => e.condition(t),
        }
    }

    pub fn events(&self) -> Vec<EventSpec> {
        match self {
            RolloutOutcome::Current {
                status, restarted, ..
            } if !restarted.is_empty() => vec![EventSpec::normal(
                "RolledOut",
                "RestartWorkloads",
                format!(
                    "restarted {} for metadata sha256 {}",
                    restarted.join(", "),
                    short(&status.sha256)
                ),
            )],
            RolloutOutcome::Failed(e) => vec![EventSpec::warning(
                e.reason(),
                "RestartWorkloads",
                e.to_string(),
            )],
            _ => vec![],
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Vec<RolloutTarget> {
        vec![RolloutTarget {
            kind: WorkloadKind::Deployment,
            name: "softphone".into(),
        }]
    }

    fn published(sha: &str, at: &str) -> MetadataStatus {
        MetadataStatus {
            config_map_name: "cm".into(),
            sha256: sha.into(),
            published_at: Time(at.parse().unwrap()),
        }
    }

    fn rolled(sha: &str) -> RolloutStatus {
        RolloutStatus {
            sha256: sha.into(),
            restarted_at: None,
        }
    }

    const DELAY: Duration = Duration::from_secs(30);

    #[test]
    fn first_publish_is_a_baseline_and_the_same_content_is_never_rolled_out_twice() {
        let now: jiff::Timestamp = "2027-01-01T00:10:00Z".parse().unwrap();
        let p = published("aaa", "2027-01-01T00:00:00Z");
        assert_eq!(plan(&[], &p, None, DELAY, now), Plan::NotConfigured);
        assert_eq!(plan(&target(), &p, None, DELAY, now), Plan::Baseline);
        assert_eq!(
            plan(&target(), &p, Some(&rolled("aaa")), DELAY, now),
            Plan::UpToDate
        );
    }

    #[test]
    fn new_content_waits_for_the_delay_measured_from_its_last_change() {
        let p = published("bbb", "2027-01-01T00:00:00Z");
        let last = rolled("aaa");
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(
            plan(
                &target(),
                &p,
                Some(&last),
                DELAY,
                at("2027-01-01T00:00:10Z")
            ),
            Plan::Wait(Duration::from_secs(20))
        );
        assert_eq!(
            plan(
                &target(),
                &p,
                Some(&last),
                DELAY,
                at("2027-01-01T00:00:30Z")
            ),
            Plan::Restart
        );
        // Another change inside the window moved publishedAt: the wait starts over.
        let again = published("ccc", "2027-01-01T00:00:25Z");
        assert_eq!(
            plan(
                &target(),
                &again,
                Some(&last),
                DELAY,
                at("2027-01-01T00:00:30Z")
            ),
            Plan::Wait(Duration::from_secs(25))
        );
    }
}
