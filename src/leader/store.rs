//! Where the Lease is kept: the `coordination.k8s.io/v1` API ([`KubeLeaseStore`]), or a fake in
//! the unit tests. Every write names the `resourceVersion` it read, so of two candidates writing
//! after the same read only one succeeds.

use std::future::Future;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// A Lease as read: its spec and the `resourceVersion` a write must name.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub spec: LeaseSpec,
    pub version: String,
}

/// Why a read or write of the Lease failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else wrote (or created) the Lease since it was read.
    #[error("the Lease changed since it was read")]
    Conflict,
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// Only from the fake store of the tests.
    #[error("{0}")]
    Other(String),
}

/// Reads and writes one Lease.
pub trait LeaseStore: Send + Sync + 'static {
    /// The Lease, `None` if it does not exist. Must be a consistent read (not from a cache).
    fn get(&self) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send;
    /// Creates the Lease; [`StoreError::Conflict`] if it exists.
    fn create(&self, spec: LeaseSpec) -> impl Future<Output = Result<Stored, StoreError>> + Send;
    /// Replaces the Lease if it is still at `version`, else [`StoreError::Conflict`].
    fn replace(
        &self,
        version: &str,
        spec: LeaseSpec,
    ) -> impl Future<Output = Result<Stored, StoreError>> + Send;
}

/// The Lease `name` in `namespace` on the API server.
pub struct KubeLeaseStore {
    api: Api<Lease>,
    name: String,
}

impl KubeLeaseStore {
    pub fn new(client: Client, namespace: &str, name: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn stored(lease: Lease) -> Stored {
        Stored {
            version: lease.metadata.resource_version.unwrap_or_default(),
            spec: lease.spec.unwrap_or_default(),
        }
    }

    fn lease(&self, version: Option<&str>, spec: LeaseSpec) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: version.map(str::to_owned),
                ..Default::default()
            },
            spec: Some(spec),
        }
    }
}

fn conflict(e: kube::Error) -> StoreError {
    match e {
        kube::Error::Api(s) if s.code == 409 => StoreError::Conflict,
        e => StoreError::Kube(e),
    }
}

impl LeaseStore for KubeLeaseStore {
    async fn get(&self) -> Result<Option<Stored>, StoreError> {
        // A GET without resourceVersion is served from etcd (quorum read), never from the watch
        // cache, so a renewal that succeeded is seen by every later read.
        Ok(self.api.get_opt(&self.name).await?.map(Self::stored))
    }

    async fn create(&self, spec: LeaseSpec) -> Result<Stored, StoreError> {
        let lease = self.lease(None, spec);
        self.api
            .create(&PostParams::default(), &lease)
            .await
            .map(Self::stored)
            .map_err(conflict)
    }

    async fn replace(&self, version: &str, spec: LeaseSpec) -> Result<Stored, StoreError> {
        let lease = self.lease(Some(version), spec);
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(Self::stored)
            .map_err(conflict)
    }
}
