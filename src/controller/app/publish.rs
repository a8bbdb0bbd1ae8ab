//! Stage: the ConfigMap telephony pods mount, written only when it differs from what the cluster
//! holds (compare before write), keeping the published bytes when Salesforce's download-time
//! `validUntil` is all that moved, and removing what this resource published under an earlier name.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use tracing::{info, warn};

use super::inputs::Inputs;
use crate::api::MANAGER;
use crate::api::app::MetadataStatus;
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::context::Context;
use crate::controller::rotation::KeyRole;
use crate::error::Error;
use crate::events::EventSpec;
use crate::metadata_configmap::{self, CachedConfigMap, Published};
use crate::salesforce::{CertInfo, IdpMetadata};

#[derive(Debug)]
pub enum PublishOutcome {
    Published {
        /// What was published (where, content digest, owners).
        config_map: Arc<Published>,
        /// Whether this reconcile wrote it (it was missing or different).
        wrote: bool,
        status: MetadataStatus,
        /// The content is new (not what `status.metadata` already described).
        new_content: bool,
    },
    /// The ConfigMap exists and this resource does not control it: left untouched.
    Foreign {
        name: String,
        controller: String,
    },
    Failed(Error),
}

/// The signing keys to publish: the current one, and a planned rotation's second one.
#[derive(Clone, Copy, Debug)]
pub struct Keys<'a> {
    pub current: &'a CertInfo,
    pub second: Option<(&'a CertInfo, KeyRole)>,
}

/// Where the metadata goes: the cluster, or a recorder in unit tests.
pub trait Publisher: Send + Sync {
    fn publish(
        &self,
        input: &Inputs<'_>,
        metadata: &IdpMetadata,
        keys: &Keys<'_>,
    ) -> impl Future<Output = PublishOutcome> + Send;
}

/// The metadata to publish: as served, plus a rotation's second signing key.
pub fn final_metadata(metadata: &IdpMetadata, keys: &Keys<'_>) -> Result<IdpMetadata, Box<Error>> {
    let xml = match keys.second {
        Some((c, _)) => {
            metadata_configmap::with_second_signing_key(&metadata.xml, c).map_err(|e| {
                Box::new(Error::FetchIdpMetadata(
                    crate::salesforce::SalesforceError::protocol(
                        "fetchIdpMetadata",
                        format!("cannot add the rotation's second key: {e}"),
                    ),
                ))
            })?
        }
        None => metadata.xml.clone(),
    };
    Ok(IdpMetadata {
        xml,
        ..metadata.clone()
    })
}

/// What publishing `metadata` for this resource amounts to: the ConfigMap, `status.metadata`,
/// and whether the content is new (then `publishedAt` moves).
pub fn plan(
    input: &Inputs<'_>,
    metadata: &IdpMetadata,
    keys: &Keys<'_>,
) -> (ConfigMap, MetadataStatus, bool) {
    let app = input.app;
    let cm = metadata_configmap::build(
        app,
        metadata,
        keys.current,
        keys.second.map(|(c, role)| (c, role.config_map_key())),
    );
    let sha = metadata_configmap::sha256_hex(metadata.xml.as_bytes());
    let previous = app.status.as_ref().and_then(|s| s.metadata.as_ref());
    let (status, new_content) =
        metadata_status(previous, &app.config_map_name(), sha, Time(input.now));
    (cm, status, new_content)
}

/// `status.metadata` for content `sha` in ConfigMap `name`: `publishedAt` moves only when the
/// content or the ConfigMap changes. Returns whether it did.
fn metadata_status(
    previous: Option<&MetadataStatus>,
    name: &str,
    sha: String,
    now: Time,
) -> (MetadataStatus, bool) {
    let (published_at, new_content) = match previous {
        Some(m) if m.sha256 == sha && m.config_map_name == name => (m.published_at.clone(), false),
        _ => (now, true),
    };
    let status = MetadataStatus {
        config_map_name: name.into(),
        sha256: sha.into(),
        published_at,
    };
    (status, new_content)
}

impl Publisher for Context {
    async fn publish(
        &self,
        input: &Inputs<'_>,
        metadata: &IdpMetadata,
        keys: &Keys<'_>,
    ) -> PublishOutcome {
        let app = input.app;
        let cm_name = app.config_map_name();
        let ns = &input.namespace;
        // Keep the published bytes when only Salesforce's download-time validUntil moved.
        let metadata = match final_metadata(metadata, keys) {
            Ok(m) => m,
            Err(e) => return PublishOutcome::Failed(*e),
        };
        let cached = self.config_maps.get(ns, &cm_name);
        let moved = cached
            .as_ref()
            .and_then(|c| c.only_valid_until_moved(&metadata.xml));
        // What the status says was published is what the ConfigMap holds: keep both, no read.
        if let (Some(sha), Some(c), Some(previous)) = (&moved, &cached, published_status(app))
            && &previous.sha256 == sha
            && previous.config_map_name == cm_name
            && foreign_controller(c, app.uid().as_deref().unwrap_or_default()).is_none()
        {
            return PublishOutcome::Published {
                config_map: Arc::new(Published::cached(ns, &cm_name, c)),
                wrote: false,
                status: previous.clone(),
                new_content: false,
            };
        }
        let kept = match moved {
            Some(sha) => published_metadata(self, ns, &cm_name, &sha).await,
            None => None,
        };
        let metadata = match kept {
            Some(xml) => IdpMetadata { xml, ..metadata },
            None => metadata,
        };
        let (cm, status, new_content) = plan(input, &metadata, keys);
        let uid = app.uid().unwrap_or_default();
        let (config_map, wrote) = match ensure_config_map(self, &cm, &uid).await {
            Ok(Ensured::Done(cm, wrote)) => (cm, wrote),
            Ok(Ensured::Foreign(controller)) => {
                return PublishOutcome::Foreign {
                    name: cm_name,
                    controller,
                };
            }
            Err(e) => return PublishOutcome::Failed(e),
        };
        if let Err(e) = remove_stale_config_maps(self, input, &cm_name).await {
            warn!(error = %e, "could not remove a ConfigMap published under a previous name");
        }
        PublishOutcome::Published {
            config_map,
            wrote,
            status,
            new_content,
        }
    }
}

fn published_status(app: &crate::api::SsoConnectedApp) -> Option<&MetadataStatus> {
    app.status.as_ref()?.metadata.as_ref()
}

/// The published `metadata.xml` whose SHA-256 is `sha`, read from the API server (the watch
/// cache keeps only digests; only when the status does not say what was published); `None` if it
/// no longer holds those bytes.
async fn published_metadata(ctx: &Context, ns: &str, name: &str, sha: &str) -> Option<String> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    api.get_opt(name)
        .await
        .ok()
        .flatten()?
        .data?
        .remove("metadata.xml")
        .filter(|x| metadata_configmap::sha256_hex(x.as_bytes()) == sha)
}

/// Who controls `cm` instead of the resource with `uid`, if anyone else does: publishing goes only
/// into a ConfigMap that does not exist yet or that this resource already controls.
pub fn foreign_controller(cm: &CachedConfigMap, uid: &str) -> Option<String> {
    match cm.controller() {
        Some(o) if o.uid == uid => None,
        Some(o) => Some(format!("{} {}", o.kind, o.name)),
        None => Some("nothing the operator manages (it was not created by this resource)".into()),
    }
}

enum Ensured {
    /// Published, and whether it was written.
    Done(Arc<Published>, bool),
    /// Someone else's ConfigMap: left as it is.
    Foreign(String),
}

/// Publishes `cm` unless the watch cache shows it already up to date. A ConfigMap the cache does
/// not know is created (POST, which never replaces one); one that exists is written only when this
/// resource controls it. Returns the record of what was published.
async fn ensure_config_map(ctx: &Context, cm: &ConfigMap, uid: &str) -> Result<Ensured, Error> {
    let ns = cm.namespace().unwrap_or_default();
    let name = cm.name_any();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let failed = |source| Error::ApplyConfigMap {
        namespace: ns.clone(),
        name: name.clone(),
        source,
    };
    let published = Arc::new(Published::of(cm));
    let cached = ctx.config_maps.get(&ns, &name);
    let existing = match cached {
        Some(c) => c,
        None => {
            let pp = PostParams {
                field_manager: Some(MANAGER.into()),
                ..Default::default()
            };
            match api.create(&pp, cm).await {
                Ok(_) => {
                    ctx.metrics.count_write("configmap");
                    return Ok(Ensured::Done(published, true));
                }
                // There after all: someone else's (not labelled, so not cached), or cache lag.
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    match api.get_opt(&name).await.map_err(failed)? {
                        Some(c) => Arc::new(CachedConfigMap::of(&c)),
                        None => return Err(failed(kube::Error::Api(s))),
                    }
                }
                Err(e) => return Err(failed(e)),
            }
        }
    };
    if let Some(controller) = foreign_controller(&existing, uid) {
        return Ok(Ensured::Foreign(controller));
    }
    // Compare before write: the cache already holds what would be applied.
    if published.matches(&existing) {
        return Ok(Ensured::Done(published, false));
    }
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(cm),
    )
    .await
    .map_err(failed)?;
    ctx.metrics.count_write("configmap");
    Ok(Ensured::Done(published, true))
}

/// Deletes ConfigMaps this resource published under an earlier `publish.configMapName`.
async fn remove_stale_config_maps(
    ctx: &Context,
    input: &Inputs<'_>,
    current: &str,
) -> Result<(), kube::Error> {
    let uid = input.app.uid().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &input.namespace);
    for name in ctx.config_maps.controlled_by(&input.namespace, &uid) {
        if name == current {
            continue;
        }
        api.delete(&name, &Default::default()).await?;
        ctx.metrics.count_write("configmap");
        info!(configmap = %name, "removed ConfigMap published under a previous name");
    }
    Ok(())
}

impl PublishOutcome {
    /// The `MetadataPublished` condition.
    pub fn condition(&self) -> Desired {
        let t = types::METADATA_PUBLISHED;
        match self {
            PublishOutcome::Published { status, .. } => Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!(
                    "IdP metadata published to ConfigMap {}",
                    status.config_map_name
                ),
            ),
            PublishOutcome::Foreign { name, controller } => Desired::new(
                t,
                false,
                reasons::CONFLICT,
                format!(
                    "ConfigMap {name} exists and is controlled by {controller}, not this resource; it was left untouched: choose another publish.configMapName"
                ),
            ),
            PublishOutcome::Failed(e) => e.condition(t),
        }
    }

    pub fn events(&self) -> Vec<EventSpec> {
        match self {
            PublishOutcome::Published {
                status,
                new_content: true,
                ..
            } => vec![EventSpec::normal(
                "MetadataPublished",
                "PublishMetadata",
                format!(
                    "published IdP metadata (sha256 {}) to ConfigMap {}",
                    &status.sha256[..12.min(status.sha256.len())],
                    status.config_map_name
                ),
            )],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn cm(controller: Option<(&str, &str)>) -> CachedConfigMap {
        let mut c = ConfigMap::default();
        c.metadata.owner_references = controller.map(|(kind, uid)| {
            vec![OwnerReference {
                kind: kind.into(),
                name: "owner".into(),
                uid: uid.into(),
                controller: Some(true),
                ..Default::default()
            }]
        });
        CachedConfigMap::of(&c)
    }

    #[test]
    fn only_a_configmap_this_resource_controls_is_written() {
        assert_eq!(
            foreign_controller(&cm(Some(("SsoConnectedApp", "me"))), "me"),
            None
        );
        assert_eq!(
            foreign_controller(&cm(Some(("SsoConnectedApp", "other"))), "me").as_deref(),
            Some("SsoConnectedApp owner")
        );
        assert!(foreign_controller(&cm(Some(("Deployment", "me-not"))), "me").is_some());
        assert!(
            foreign_controller(&cm(None), "me").is_some(),
            "a ConfigMap made by hand is not taken over"
        );
    }
}
