//! What both controllers share: the Kubernetes client and watch caches, the per-org registry, the
//! indexes, the quiet-period memos, retry state, and where Events and metrics go.

use std::sync::Arc;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};

use super::app::memo::Memos;
use super::backoff::Backoff;
use super::index::{AppIndex, ConfigMapCache};
use super::refresh_queue::RefreshQueue;
use super::registry::OrgRegistry;
use crate::api::{SalesforceOrg, SsoConnectedApp};
use crate::events::{EventSpec, Recorder};
use crate::metrics::{Metrics, ResourceLabels};

/// The watch caches.
pub struct Stores {
    pub orgs: Store<SalesforceOrg>,
    pub apps: Store<SsoConnectedApp>,
}

/// Per-object retry state: `fast` for failures a retry can fix, `slow` for those that wait for
/// a person (creation blocked, conflicts).
pub struct Retry {
    pub fast: Backoff,
    pub slow: Backoff,
}

impl Retry {
    pub fn reset(&self, key: &str) {
        self.fast.reset(key);
        self.slow.reset(key);
    }
}

pub struct Context {
    /// This cluster's name in ownership markers (`--cluster-name`, or the kube-system uid).
    pub cluster: String,
    pub client: Client,
    pub stores: Stores,
    pub registry: OrgRegistry,
    pub index: AppIndex,
    pub config_maps: ConfigMapCache,
    pub memos: Memos,
    pub retry: Retry,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// How often every app's metadata is downloaded even when nothing it depends on moved.
    pub metadata_sweep: std::time::Duration,
    /// Apps and orgs to reconcile now (the controllers' `reconcile_on` streams).
    pub wake: Wake,
    /// When each app is next due of its own accord (woken through `wake`).
    pub refreshes: RefreshQueue,
}

/// Senders into the controllers' `reconcile_on` streams.
pub struct Wake {
    pub apps: UnboundedSender<ObjectRef<SsoConnectedApp>>,
    pub orgs: UnboundedSender<ObjectRef<SalesforceOrg>>,
}

impl Wake {
    /// Reconciles the object with key `namespace/name` now.
    pub fn send<K>(sender: &UnboundedSender<ObjectRef<K>>, key: &str)
    where
        K: kube::Resource<DynamicType = ()>,
    {
        Self::try_send(sender, key);
    }

    /// As [`Wake::send`]; false once the controller has stopped (the stream is closed).
    pub fn try_send<K>(sender: &UnboundedSender<ObjectRef<K>>, key: &str) -> bool
    where
        K: kube::Resource<DynamicType = ()>,
    {
        match key.split_once('/') {
            Some((ns, name)) => sender
                .unbounded_send(ObjectRef::new(name).within(ns))
                .is_ok(),
            None => !sender.is_closed(),
        }
    }
}

/// The labels of `obj`'s per-resource metric series.
pub fn resource_labels(kind: &'static str, obj: &impl ResourceExt) -> ResourceLabels {
    ResourceLabels {
        kind,
        namespace: obj.namespace().unwrap_or_default().into(),
        name: obj.name_any().into(),
    }
}

impl Context {
    /// Publishes an Event about `obj`; a failure is logged, never fatal.
    pub async fn publish_event(&self, obj: &impl Resource<DynamicType = ()>, event: &EventSpec) {
        if let Err(e) = self
            .recorder
            .publish(
                &obj.object_ref(&()),
                event.warning,
                &event.reason,
                event.action,
                event.note.clone(),
            )
            .await
        {
            tracing::warn!(error = %e, reason = %event.reason, "could not publish Event");
        }
    }
}
