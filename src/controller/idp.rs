//! One org-level view of the Identity Provider (settings plus the signing certificate's
//! fingerprint), shared by every app of the org and refreshed at most once per refresh interval:
//! N apps cost one IdentityProviderSettings read, not N. Reads are single-flight per org.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::salesforce::{OrgClient, ReadPriority, SalesforceError};

#[derive(Clone, Debug)]
pub struct IdpSnapshot {
    pub enabled: bool,
    pub certificate: Option<String>,
    /// SHA-256 fingerprint (colon hex) of the IdP certificate, when the org returns its content.
    pub fingerprint: Option<String>,
    pub fetched: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<IdpSnapshot>>>;

#[derive(Default)]
pub struct IdpCache {
    slots: Mutex<HashMap<String, Slot>>,
}

/// Colon-separated upper-case hex SHA-256 of a PEM certificate's DER, as IdP metadata parsing
/// reports it.
pub fn pem_fingerprint(pem: &[u8]) -> Option<String> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let digest = Sha256::digest(&p.contents);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

impl IdpCache {
    fn slot(&self, key: &str) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// The last snapshot, without waiting or calling Salesforce.
    pub fn peek(&self, key: &str) -> Option<IdpSnapshot> {
        self.slot(key).try_lock().ok().and_then(|g| g.clone())
    }

    /// A snapshot no older than `max_age`, reading the org if needed (one reader per org at a time;
    /// the others wait and share its result).
    pub async fn get(
        &self,
        key: &str,
        client: &OrgClient,
        max_age: Duration,
        priority: ReadPriority,
    ) -> Result<IdpSnapshot, SalesforceError> {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(s) = guard.as_ref()
            && s.fetched.elapsed() < max_age
        {
            return Ok(s.clone());
        }
        let settings = client.read_identity_provider_with(priority).await?;
        let (enabled, certificate) = match settings {
            Some(s) => (
                s.enable_identity_provider,
                Some(s.certificate_name).filter(|c| !c.is_empty()),
            ),
            None => (false, None),
        };
        let fingerprint = match (&certificate, enabled) {
            (Some(name), true) => client
                .read_certificate_with(name, priority)
                .await?
                .and_then(|c| c.content)
                .and_then(|pem| pem_fingerprint(&pem)),
            _ => None,
        };
        let snap = IdpSnapshot {
            enabled,
            certificate,
            fingerprint,
            fetched: Instant::now(),
        };
        *guard = Some(snap.clone());
        Ok(snap)
    }

    /// Records what a successful write made true, so the next reader need not read it back.
    pub async fn set(&self, key: &str, snap: IdpSnapshot) {
        *self.slot(key).lock().await = Some(snap);
    }

    /// Forgets the snapshot, e.g. when metadata shows a certificate the snapshot does not know.
    pub async fn invalidate(&self, key: &str) {
        *self.slot(key).lock().await = None;
    }
}
