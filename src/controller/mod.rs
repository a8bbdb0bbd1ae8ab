//! The controllers. Where things live:
//! - [`runtime`]: the process (start-up checks, leader election, shutdown);
//! - [`watches`]: the two controllers, their watches and caches;
//! - [`context`]: what both controllers share; [`registry`]: everything kept per org
//!   ([`connection`], [`idp_cache`], [`listing`]); [`index`]: indexes over the watched objects;
//! - [`org`]: the `SalesforceOrg` reconcile; [`app`]: the `SsoConnectedApp` reconcile, as stages;
//! - [`org_api`]: the seam between reconcile decisions and Salesforce; [`desired`] and [`drift`]:
//!   the app the spec asks for and where the org's app differs;
//! - [`backoff`], [`status_patch`]: retry timing and status writes.

pub mod app;
pub mod backoff;
pub mod certificates;
pub mod connection;
pub mod context;
pub mod desired;
pub mod drift;
#[cfg(test)]
pub mod fixtures;
pub mod idp_cache;
pub mod index;
pub mod kinds;
pub mod listing;
pub mod org;
pub mod org_api;
pub mod refresh_queue;
pub mod registry;
pub mod rotation;
pub mod runtime;
pub mod status_patch;
pub mod watches;

pub use crate::api::{FINALIZER, MANAGER, RELEASE_ANNOTATION, SYNC_ANNOTATION};
pub use backoff::{Backoff, WatchBackoff};
pub use runtime::run;
