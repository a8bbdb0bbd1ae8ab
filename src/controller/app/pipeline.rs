//! The stages that talk to Salesforce, in order: identity provider → app → access → metadata →
//! publish → certificate, then the rollout of workloads that read the metadata at start. Each takes explicit inputs and returns a typed outcome; a stage that
//! fails or must wait stops the ones after it. Generic over the org and the publisher, so the
//! unit tests run exactly this with an in-memory org.

use super::access;
use super::certificate;
use super::identity_provider;
use super::inputs::Inputs;
use super::metadata::{self, MetadataOutcome};
use super::outcomes::Outcomes;
use super::publish::{Keys, PublishOutcome, Publisher};
use super::rollout::{self, Restarter};
use super::salesforce_app::{self, AppOutcome};
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;

pub async fn run(
    org: &OrgHandle<impl OrgApi>,
    publisher: &(impl Publisher + Restarter),
    input: &Inputs<'_>,
) -> Outcomes {
    let mut out = Outcomes::default();
    let idp = identity_provider::ensure(org, input).await;
    let snapshot = idp.snapshot().cloned();
    out.identity_provider = Some(idp);
    let Some(snapshot) = snapshot else {
        return out;
    };

    let app = salesforce_app::ensure(org, input).await;
    let app_ok = app.succeeded();
    let app_in_sync = matches!(app, AppOutcome::InSync);
    if app_ok {
        out.access = Some(access::ensure(org, input, &app).await);
    }
    out.app = Some(app);
    if !app_ok || out.access.as_ref().is_some_and(|a| a.failure().is_some()) {
        return out;
    }

    out.metadata = Some(metadata::fetch(org, input, snapshot, app_in_sync).await);
    if let Some(MetadataOutcome::Unchanged(previous)) = &out.metadata {
        out.certificate = Some(certificate::validity(previous.not_after, input.now));
        out.rollout = rollout::run(publisher, input, &previous.status).await;
        out.publish = Some(PublishOutcome::Published {
            config_map: previous.config_map.clone(),
            wrote: false,
            status: previous.status.clone(),
            new_content: false,
        });
        return out;
    }
    let Some(MetadataOutcome::Fetched {
        metadata,
        certificate,
        extra,
        ..
    }) = &out.metadata
    else {
        return out;
    };
    let keys = Keys {
        current: certificate,
        second: extra.as_ref().map(|(c, role)| (c, *role)),
    };
    let published = publisher.publish(input, metadata, &keys).await;
    if let PublishOutcome::Published { status, .. } = &published {
        out.certificate = Some(certificate::validity(certificate.not_after, input.now));
        out.rollout = rollout::run(publisher, input, status).await;
    }
    out.publish = Some(published);
    out
}
