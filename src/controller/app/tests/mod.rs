//! Reconcile decisions, through the stages exactly as the controller runs them, against an
//! in-memory org (`controller::fixtures`): no cluster, no simulator process.

mod access;
mod app;
mod cleanup;
mod download;
mod identity_provider;
mod metadata;
mod rotation;
mod stages_status;

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;

use super::inputs::Inputs;
use super::outcomes::Outcomes;
use super::pipeline;
use super::publish::{Keys, PublishOutcome, Publisher, final_metadata, plan};
use super::rollout::Restarter;
use super::status::compute_status;
use crate::api::SsoConnectedApp;
use crate::api::app::RolloutTarget;
use crate::api::conditions;
use crate::controller::fixtures::{CLUSTER, FakeOrg};
use crate::controller::registry::OrgHandle;
use crate::controller::rotation::OrgIdpView;
use crate::events::EventSpec;
use crate::metadata_configmap;
use crate::salesforce::IdpMetadata;

/// Takes what would be published (and which workloads would be restarted) and says it was.
#[derive(Default)]
struct RecordingPublisher {
    published: Mutex<Vec<ConfigMap>>,
    restarted: Mutex<Vec<(String, String)>>,
    /// Restarting a workload of this name fails (as a missing one does).
    missing_workload: Option<String>,
}

impl Restarter for RecordingPublisher {
    async fn restart(
        &self,
        _namespace: &str,
        target: &RolloutTarget,
        sha256: &str,
    ) -> Result<(), crate::error::Error> {
        if self.missing_workload.as_deref() == Some(target.name.as_str()) {
            return Err(crate::error::Error::RestartWorkload {
                kind: "Deployment",
                namespace: "team-a".into(),
                name: target.name.clone(),
                source: kube::Error::Api(
                    kube::core::Status::failure("not found", "NotFound")
                        .with_code(404)
                        .boxed(),
                ),
            });
        }
        self.restarted
            .lock()
            .unwrap()
            .push((target.name.clone(), sha256.to_string()));
        Ok(())
    }
}

impl Publisher for RecordingPublisher {
    async fn publish(
        &self,
        input: &Inputs<'_>,
        metadata: &IdpMetadata,
        keys: &Keys<'_>,
    ) -> PublishOutcome {
        let metadata = match final_metadata(metadata, keys) {
            Ok(m) => m,
            Err(e) => return PublishOutcome::Failed(*e),
        };
        let (cm, status, new_content) = plan(input, &metadata, keys);
        let slim = Arc::new(metadata_configmap::Published::of(&cm));
        self.published.lock().unwrap().push(cm);
        PublishOutcome::Published {
            config_map: slim,
            wrote: true,
            status,
            new_content,
        }
    }
}

/// An org and the resources' view of it, as one test sees them.
struct World {
    org: OrgHandle<FakeOrg>,
    publisher: RecordingPublisher,
    now: jiff::Timestamp,
}

/// What one reconcile did.
struct Round {
    outcomes: Outcomes,
    events: Vec<EventSpec>,
}

impl World {
    fn new(org: FakeOrg) -> Self {
        World {
            org: OrgHandle::new("team-a/acme", org),
            publisher: RecordingPublisher::default(),
            now: "2027-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// Runs the stages for `app` and writes the computed status into it, as the next reconcile
    /// would find it.
    async fn reconcile(&self, app: &mut SsoConnectedApp) -> Round {
        self.reconcile_with_org_choice(app, None).await
    }

    /// As [`World::reconcile`], with the `SalesforceOrg` choosing the IdP certificate.
    async fn reconcile_with_org_choice(
        &self,
        app: &mut SsoConnectedApp,
        org_idp: Option<OrgIdpView>,
    ) -> Round {
        self.reconcile_with(app, org_idp, None).await
    }

    /// As [`World::reconcile_with_org_choice`], with what the memo remembers of the last download.
    async fn reconcile_with(
        &self,
        app: &mut SsoConnectedApp,
        org_idp: Option<OrgIdpView>,
        previous: Option<super::download::LastPublish>,
    ) -> Round {
        let mut input = Inputs::new(app, CLUSTER, self.now);
        input.org_idp = org_idp;
        input.previous = previous;
        let outcomes = pipeline::run(&self.org, &self.publisher, &input).await;
        let (status, events) = compute_status(&input, &outcomes);
        app.status = Some(status);
        Round { outcomes, events }
    }

    fn published(&self) -> usize {
        self.publisher.published.lock().unwrap().len()
    }
}

/// `(status, reason, message)` of condition `t`.
fn cond(app: &SsoConnectedApp, t: &str) -> (String, String, String) {
    let c = app
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, t))
        .unwrap_or_else(|| panic!("no condition {t}"));
    (
        c.status.to_string(),
        c.reason.to_string(),
        c.message.to_string(),
    )
}

/// Status and reason of condition `t`.
fn state(app: &SsoConnectedApp, t: &str) -> (String, String) {
    let (s, r, _) = cond(app, t);
    (s, r)
}

fn t(s: &str) -> (String, String) {
    let (a, b) = s.split_once(' ').unwrap();
    (a.to_string(), b.to_string())
}

/// The org `acme` choosing `certificate`, no rotation under way.
fn org_chooses(certificate: &str) -> Option<OrgIdpView> {
    Some(OrgIdpView {
        org: "acme".into(),
        current: certificate.into(),
        allowed: vec![certificate.into()],
        extra: None,
    })
}

fn reasons_of(events: &[EventSpec]) -> Vec<&str> {
    events.iter().map(|e| e.reason.as_str()).collect()
}
