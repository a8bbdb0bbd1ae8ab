//! The status (and the Events) one reconcile leads to, as a pure function of the previous status
//! and the stages' outcomes: conditions per stage, the kstatus aggregates (`Ready`, `Stalled`,
//! `Reconciling`), and `lastTransitionTime` moving only when a condition flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::certificate;
use super::identity_provider::IdpOutcome;
use super::inputs::Inputs;
use super::metadata::{MetadataOutcome, MetadataSource};
use super::outcomes::Outcomes;
use super::publish::PublishOutcome;
use crate::api::app::{CertificateStatus, IdentityProviderStatus, SsoConnectedAppStatus, SsoUrls};
use crate::api::conditions::{self, Desired, Progress, reasons, types};
use crate::api::shared_str::SharedStr;
use crate::events::EventSpec;

/// The conditions that make up `Ready`.
const STAGES: [&str; 4] = [
    types::IDENTITY_PROVIDER_READY,
    types::APP_READY,
    types::ACCESS_GRANTED,
    types::METADATA_PUBLISHED,
];

/// The new status and the Events to publish once it is written.
pub fn compute_status(
    input: &Inputs<'_>,
    outcomes: &Outcomes,
) -> (SsoConnectedAppStatus, Vec<EventSpec>) {
    let app = input.app;
    let old = app.status.clone().unwrap_or_default();
    let (mut conds, mut events) = stage_conditions(input, outcomes);
    aggregate(&mut conds, outcomes.progress());
    let generation = app.metadata.generation;
    let mut conditions = conditions::merge(&old.conditions, &conds, generation, Time(input.now));
    if input.spec.publish.rollout.is_empty() {
        conditions.retain(|c| c.type_ != types::WORKLOADS_ROLLED_OUT);
    }
    let ready = last(&conds, types::READY).is_some_and(|c| c.status);
    let mut drift = outcomes.app.as_ref().map(|a| a.drift()).unwrap_or_default();
    // Keep the drift report of the last check until a later full check replaces it.
    if drift.is_empty() && !ready {
        drift = old.drift.clone();
    }
    let new = SsoConnectedAppStatus {
        observed_generation: generation,
        conditions,
        app: outcomes
            .app
            .as_ref()
            .and_then(|a| a.app_status(input))
            .or(old.app.clone()),
        identity_provider: identity_provider_status(input, outcomes)
            .or(old.identity_provider.clone()),
        metadata: match &outcomes.publish {
            Some(PublishOutcome::Published { status, .. }) => Some(status.clone()),
            _ => old.metadata.clone(),
        },
        rollout: match &outcomes.rollout {
            Some(r) => r.status(old.rollout.as_ref()).cloned(),
            // Not configured (any more): forget, so setting it again starts from a baseline.
            None if input.spec.publish.rollout.is_empty() => None,
            None => old.rollout.clone(),
        },
        drift,
    };
    events.extend(status_events(&old.conditions, &new.conditions));
    (new, events)
}

/// Each stage's condition (in stage order) and the Events for what the stages did.
fn stage_conditions(input: &Inputs<'_>, o: &Outcomes) -> (Vec<Desired>, Vec<EventSpec>) {
    let want = input.wanted_certificate();
    let (mut conds, mut events) = (Vec::new(), Vec::new());
    conds.extend(o.gate.as_ref().map(|g| g.condition()));
    conds.extend(o.claim.as_ref().map(|c| c.condition(input.app)));
    if let Some(idp) = &o.identity_provider {
        conds.push(idp.condition(want));
        if let IdpOutcome::Ready {
            enabled_now: true,
            snapshot,
        } = idp
        {
            events.push(EventSpec::normal(
                "IdentityProviderEnabled",
                "ConfigureIdentityProvider",
                format!(
                    "enabled the org's Identity Provider with certificate {}",
                    snapshot.certificate.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(app) = &o.app {
        conds.extend(app.conditions(input));
        events.extend(app.events(input));
    }
    conds.extend(o.access.as_ref().map(|a| a.condition(input)));
    conds.extend(o.metadata.as_ref().and_then(MetadataOutcome::condition));
    if let Some(p) = &o.publish {
        let mut c = p.condition();
        let source = match &o.metadata {
            Some(MetadataOutcome::Fetched { source, .. }) => Some(*source),
            Some(MetadataOutcome::Unchanged(last)) => Some(last.download.source),
            _ => None,
        };
        if matches!(p, PublishOutcome::Published { .. }) && source == Some(MetadataSource::Org) {
            c.message.push_str(
                " (the org-level metadata /.well-known/samlidp.xml: this org serves no metadata of the app's own)",
            );
        }
        conds.push(c);
        events.extend(p.events());
    }
    if let Some(r) = &o.rollout {
        conds.push(r.condition());
        events.extend(r.events());
    }
    conds.extend(
        o.certificate
            .as_ref()
            .map(|v| v.condition(&certificate::advice(input.org_idp.as_ref()))),
    );
    (conds, events)
}

fn last<'a>(conds: &'a [Desired], t: &str) -> Option<&'a Desired> {
    conds.iter().rev().find(|c| c.type_ == t)
}

/// Adds `Ready` (unless a stage set it), `Stalled` and `Reconciling` (`progress` is where the
/// outcomes leave the resource unless it is ready).
fn aggregate(conds: &mut Vec<Desired>, progress: Progress) {
    if last(conds, types::READY).is_none() {
        let first_bad = conds
            .iter()
            .find(|c| {
                !c.status
                    && (STAGES.contains(&c.type_)
                        || (c.type_ == types::CERTIFICATE_VALID && c.reason == reasons::EXPIRED))
            })
            .cloned();
        let all_ok = STAGES
            .iter()
            .all(|t| last(conds, t).is_some_and(|c| c.status));
        let ready = match first_bad {
            Some(c) => Desired::new(types::READY, false, c.reason, c.message),
            None if all_ok => {
                let msg = match last(conds, types::CERTIFICATE_VALID).map(|c| c.status) {
                    Some(false) => {
                        "in sync with Salesforce; the IdP certificate needs attention (see CertificateValid)"
                    }
                    _ => "in sync with Salesforce; IdP metadata published",
                };
                Desired::new(types::READY, true, reasons::SYNCED, msg)
            }
            None => Desired::new(types::READY, false, reasons::PROGRESSING, "reconciling"),
        };
        conds.push(ready);
    }
    let (ready, ready_reason) = last(conds, types::READY)
        .map(|c| (c.status, c.reason))
        .unwrap_or((false, reasons::PROGRESSING));
    let now = match progress {
        _ if ready => Progress::Ready,
        Progress::Ready => Progress::Reconciling,
        p => p,
    };
    conds.extend(conditions::progress(now, ready_reason));
}

/// `status.identityProvider` from the metadata just published.
fn identity_provider_status(input: &Inputs<'_>, o: &Outcomes) -> Option<IdentityProviderStatus> {
    let Some(PublishOutcome::Published { .. }) = &o.publish else {
        return None;
    };
    let Some(MetadataOutcome::Fetched {
        metadata,
        certificate,
        idp,
        ..
    }) = &o.metadata
    else {
        return None;
    };
    Some(IdentityProviderStatus {
        entity_id: metadata.entity_id.as_str().into(),
        sso_urls: SsoUrls {
            post: metadata.sso_post.as_deref().map(SharedStr::from),
            redirect: metadata.sso_redirect.as_deref().map(SharedStr::from),
        },
        certificate: CertificateStatus {
            name: idp
                .certificate
                .as_deref()
                .or_else(|| input.wanted_certificate())
                .unwrap_or_default()
                .into(),
            not_after: Time(certificate.not_after),
            sha256_fingerprint: certificate.sha256_fingerprint.as_str().into(),
        },
    })
}

/// Events the status change itself is worth: certificate trouble when it starts (not only a
/// condition), and readiness when it flips.
fn status_events(
    old: &[crate::api::conditions::Condition],
    new: &[crate::api::conditions::Condition],
) -> Vec<EventSpec> {
    let mut events = Vec::new();
    if let Some(c) = conditions::find(new, types::CERTIFICATE_VALID)
        && c.status == "False"
        && conditions::find(old, types::CERTIFICATE_VALID).is_none_or(|o| o.reason != c.reason)
    {
        events.push(EventSpec::warning(
            &c.reason,
            "CheckCertificate",
            c.message.clone(),
        ));
    }
    let was_ready = conditions::find(old, types::READY).map(|c| c.status == "True");
    if let Some(c) = conditions::find(new, types::READY) {
        let ready = c.status == "True";
        if was_ready != Some(ready) {
            let event = if ready {
                EventSpec::normal
            } else {
                EventSpec::warning
            };
            events.push(event(&c.reason, "Reconcile", c.message.clone()));
        }
    }
    events
}
