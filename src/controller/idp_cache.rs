//! One org's view of its Identity Provider (settings plus the signing certificate's fingerprint),
//! shared by every app of the org and refreshed at most once per refresh interval: N apps cost one
//! `IdentityProviderSettings` read, not N. Reads and the enabling write are single-flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::org_api::OrgApi;
use crate::salesforce::{ReadPriority, SalesforceError, pem_sha256_fingerprint};

/// What [`IdpCache::ensure`] found or did.
#[derive(Clone, Debug)]
pub enum Ensured {
    /// Already enabled with the wanted certificate.
    Already(IdpSnapshot),
    /// This call enabled it.
    Enabled(IdpSnapshot),
    /// Not as wanted, and writing was not allowed (ObserveOnly).
    Observed(IdpSnapshot),
    /// Enabled with another certificate, and switching it was not allowed.
    OtherCertificate(IdpSnapshot),
    /// The wanted certificate does not exist in the org; nothing was written.
    CertificateMissing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpSnapshot {
    pub enabled: bool,
    pub certificate: Option<String>,
    /// SHA-256 fingerprint (colon hex) of the IdP certificate, when the org returns its content.
    pub fingerprint: Option<String>,
    pub fetched: Instant,
    /// [`IdpCache::epoch`] as of this snapshot.
    pub epoch: u64,
}

/// The org's IdP snapshot behind an async lock: whoever holds it reads or writes for everyone.
#[derive(Default)]
pub struct IdpCache {
    slot: tokio::sync::Mutex<Option<IdpSnapshot>>,
    /// The IdP as last seen (enabled, certificate, fingerprint) and how often that changed.
    seen: std::sync::Mutex<(Option<Seen>, u64)>,
    /// The latest change the org's apps were woken for (see [`IdpCache::announce`]).
    announced: AtomicU64,
}

type Seen = (bool, Option<String>, Option<String>);

impl IdpCache {
    /// How many times the org's IdP was seen to change (certificate, its content, enabled). An
    /// app's quiet period ends when this moved since it began: apps refresh at different
    /// moments, and the first one to see a certificate renewed in Setup wakes the others.
    pub fn epoch(&self) -> u64 {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Whether the caller is the first to announce change `epoch` (so the org's apps are woken
    /// once per change, not once per app that saw it).
    pub fn announce(&self, epoch: u64) -> bool {
        self.announced.fetch_max(epoch, Ordering::SeqCst) < epoch
    }

    /// Counts `s` as seen (a change moves the epoch) and stamps it with the epoch.
    fn note(&self, s: &mut IdpSnapshot) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let same = seen
            .0
            .as_ref()
            .is_some_and(|(enabled, certificate, fingerprint)| {
                *enabled == s.enabled
                    && *certificate == s.certificate
                    && *fingerprint == s.fingerprint
            });
        if !same {
            if seen.0.is_some() {
                seen.1 += 1;
            }
            seen.0 = Some((s.enabled, s.certificate.clone(), s.fingerprint.clone()));
        }
        s.epoch = seen.1;
    }

    /// The last snapshot, without waiting or calling Salesforce.
    pub fn peek(&self) -> Option<IdpSnapshot> {
        self.slot.try_lock().ok().and_then(|g| g.clone())
    }

    /// A snapshot no older than `max_age`, reading the org if needed (one reader at a time; the
    /// others wait and share its result).
    pub async fn get(
        &self,
        api: &impl OrgApi,
        max_age: Duration,
        priority: ReadPriority,
    ) -> Result<IdpSnapshot, SalesforceError> {
        let mut guard = self.slot.lock().await;
        let mut snap = fresh_or_load(&mut guard, api, max_age, priority).await?;
        self.note(&mut snap);
        Ok(snap)
    }

    /// Makes sure the Identity Provider is enabled with certificate `want`, holding the slot
    /// throughout, so that apps reconciling together make one write, not one each. `write`: may
    /// enable an Identity Provider that is off; `switch`: may also change the certificate of one
    /// that is on (the org-wide choice, never an app's).
    pub async fn ensure(
        &self,
        api: &impl OrgApi,
        want: &str,
        max_age: Duration,
        priority: ReadPriority,
        write: bool,
        switch: bool,
    ) -> Result<Ensured, SalesforceError> {
        let mut guard = self.slot.lock().await;
        let mut snap = fresh_or_load(&mut guard, api, max_age, priority).await?;
        self.note(&mut snap);
        if snap.enabled && snap.certificate.as_deref() == Some(want) {
            return Ok(Ensured::Already(snap));
        }
        if !write {
            return Ok(Ensured::Observed(snap));
        }
        if snap.enabled && !switch {
            return Ok(Ensured::OtherCertificate(snap));
        }
        let Some(cert) = api.read_certificate(want, ReadPriority::Required).await? else {
            return Ok(Ensured::CertificateMissing);
        };
        api.enable_identity_provider(want).await?;
        let mut snap = IdpSnapshot {
            enabled: true,
            certificate: Some(want.to_string()),
            fingerprint: cert.content.as_deref().and_then(pem_sha256_fingerprint),
            fetched: Instant::now(),
            epoch: 0,
        };
        *guard = Some(snap.clone());
        self.note(&mut snap);
        Ok(Ensured::Enabled(snap))
    }

    /// Forgets the snapshot, e.g. when metadata shows a certificate the snapshot does not know.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

async fn fresh_or_load(
    slot: &mut Option<IdpSnapshot>,
    api: &impl OrgApi,
    max_age: Duration,
    priority: ReadPriority,
) -> Result<IdpSnapshot, SalesforceError> {
    if let Some(s) = slot.as_ref()
        && s.fetched.elapsed() < max_age
    {
        return Ok(s.clone());
    }
    let (enabled, certificate) = match api.read_identity_provider(priority).await? {
        Some(s) => (
            s.enable_identity_provider,
            Some(s.certificate_name).filter(|c| !c.is_empty()),
        ),
        None => (false, None),
    };
    let fingerprint = match (&certificate, enabled) {
        (Some(name), true) => api
            .read_certificate(name, priority)
            .await?
            .and_then(|c| c.content)
            .and_then(|pem| pem_sha256_fingerprint(&pem)),
        _ => None,
    };
    let snap = IdpSnapshot {
        enabled,
        certificate,
        fingerprint,
        fetched: Instant::now(),
        epoch: 0,
    };
    *slot = Some(snap.clone());
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(certificate: &str, fingerprint: &str) -> IdpSnapshot {
        IdpSnapshot {
            enabled: true,
            certificate: Some(certificate.into()),
            fingerprint: Some(fingerprint.into()),
            fetched: Instant::now(),
            epoch: 0,
        }
    }

    #[test]
    fn the_epoch_moves_when_the_idp_changes_and_each_change_is_announced_once() {
        let cache = IdpCache::default();
        cache.note(&mut snap("IdP", "AA"));
        assert_eq!(cache.epoch(), 0, "the first sight is no change");
        cache.note(&mut snap("IdP", "AA"));
        assert_eq!(cache.epoch(), 0);
        let mut renewed = snap("IdP", "BB");
        cache.note(&mut renewed);
        assert_eq!(cache.epoch(), 1, "same name, renewed content");
        assert_eq!(renewed.epoch, 1, "stamped with the epoch it made");
        assert!(cache.announce(1));
        assert!(!cache.announce(1), "once per change");
        cache.note(&mut snap("Other", "BB"));
        assert_eq!(cache.epoch(), 2);
        assert!(cache.announce(2));
    }
}
