//! One org-level view of the Identity Provider (settings plus the signing certificate's
//! fingerprint), shared by every app of the org and refreshed at most once per refresh interval:
//! N apps cost one IdentityProviderSettings read, not N. Reads are single-flight per org.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::salesforce::{IdentityProviderSettings, OrgClient, ReadPriority, SalesforceError};

/// What [`IdpCache::ensure`] found or did.
pub enum Ensured {
    /// Already enabled with the wanted certificate.
    Already(IdpSnapshot),
    /// This call enabled it.
    Enabled(IdpSnapshot),
    /// Not as wanted, and `write` was false (ObserveOnly).
    Observed(IdpSnapshot),
    /// The wanted certificate does not exist in the org; nothing was written.
    CertificateMissing,
}

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
        fresh_or_load(&mut guard, client, max_age, priority).await
    }

    /// Makes sure the org's Identity Provider is enabled with certificate `want` (when `write`),
    /// holding the org's slot throughout, so that apps reconciling together make one write, not
    /// one each.
    pub async fn ensure(
        &self,
        key: &str,
        client: &OrgClient,
        want: &str,
        max_age: Duration,
        priority: ReadPriority,
        write: bool,
    ) -> Result<Ensured, SalesforceError> {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        let snap = fresh_or_load(&mut guard, client, max_age, priority).await?;
        if snap.enabled && snap.certificate.as_deref() == Some(want) {
            return Ok(Ensured::Already(snap));
        }
        if !write {
            return Ok(Ensured::Observed(snap));
        }
        let Some(cert) = client.read_certificate(want).await? else {
            return Ok(Ensured::CertificateMissing);
        };
        let settings = IdentityProviderSettings {
            certificate_name: want.to_string(),
            enable_identity_provider: true,
        };
        client.upsert_identity_provider(&settings).await?;
        let snap = IdpSnapshot {
            enabled: true,
            certificate: Some(want.to_string()),
            fingerprint: cert.content.as_deref().and_then(pem_fingerprint),
            fetched: Instant::now(),
        };
        *guard = Some(snap.clone());
        Ok(Ensured::Enabled(snap))
    }

    /// Forgets the snapshot, e.g. when metadata shows a certificate the snapshot does not know.
    pub async fn invalidate(&self, key: &str) {
        *self.slot(key).lock().await = None;
    }
}

async fn fresh_or_load(
    slot: &mut Option<IdpSnapshot>,
    client: &OrgClient,
    max_age: Duration,
    priority: ReadPriority,
) -> Result<IdpSnapshot, SalesforceError> {
    if let Some(s) = slot.as_ref()
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
    *slot = Some(snap.clone());
    Ok(snap)
}
