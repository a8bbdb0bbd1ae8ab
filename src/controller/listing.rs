//! Which connected apps an org has, from one `listMetadata` per org, so a new resource can create
//! its app without reading it first (on a first converge that saves one read per app). A stale
//! answer is safe both ways: an app created meanwhile makes the create fail (`createMetadata`
//! never overwrites) and the reconcile falls back to reading it; one deleted meanwhile is read,
//! found missing and created.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tracing::debug;

use super::org_api::OrgApi;
use crate::api::app::AppType;

/// A listing older than this is taken again.
const MAX_AGE: Duration = Duration::from_secs(300);
/// After a failed listing, callers read instead for this long (no listing storm).
const RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Slot {
    /// Lower-cased names (Salesforce API names are unique regardless of case) and when listed.
    listing: Option<(Instant, HashSet<String>)>,
    failed_at: Option<Instant>,
}

/// One org's connected-app listing behind an async lock: one call however many ask.
#[derive(Default)]
pub struct Listing {
    slot: tokio::sync::Mutex<Slot>,
}

impl Listing {
    /// Whether the org's listing (taken now if none is fresh) lacks `api_name`. `false` when no
    /// listing can be had: the caller then reads.
    pub async fn absent(&self, api: &impl OrgApi, api_name: &str) -> bool {
        let mut slot = self.slot.lock().await;
        let fresh = slot
            .listing
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < MAX_AGE);
        if !fresh {
            if slot.failed_at.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
                return false;
            }
            match api.list_apps(AppType::ConnectedApp).await {
                Ok(list) => {
                    let names = list.iter().map(|n| n.to_ascii_lowercase()).collect();
                    slot.listing = Some((Instant::now(), names));
                    slot.failed_at = None;
                }
                Err(e) => {
                    debug!(error = %e, "listing connected apps failed; reading instead");
                    slot.listing = None;
                    slot.failed_at = Some(Instant::now());
                    return false;
                }
            }
        }
        slot.listing
            .as_ref()
            .is_some_and(|(_, names)| !names.contains(&api_name.to_ascii_lowercase()))
    }
}
