//! When the app's IdP metadata must be downloaded again, and when what was published last time
//! still stands. The document Salesforce serves for an app is a function of the org's Identity
//! Provider (certificate, entity id, My Domain), the app (its id and SAML settings) and, during a
//! planned rotation, the second key the operator adds. The operator sees all of these at each
//! refresh without downloading: the IdP snapshot (read once per org per interval), the app read
//! (it matched this generation's spec, nothing written), the `SalesforceOrg` (uid, generation,
//! rotation view) and the ConfigMap in the watch cache. When none moved since the last download,
//! the last publish stands and the download is skipped.
//!
//! Blind spots, covered by a slow sweep that downloads every app's metadata anyway (once per
//! `--metadata-sweep-hours`, each app at its own offset so no interval spikes) and by every
//! start-up: a My Domain renamed in Salesforce without a change of the `SalesforceOrg`; a change
//! Salesforce makes to the document's form (new endpoints, bindings, attributes); an app deleted
//! and recreated by hand between two reads with identical settings (new id, same read).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::metadata_configmap::Published;

use crate::api::app::MetadataStatus;
use crate::controller::idp_cache::IdpSnapshot;
use crate::controller::rotation::OrgIdpView;

/// Where the metadata came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSource {
    /// The app's own document, `/.well-known/samlidp/<app>.xml`.
    App,
    /// The org's document, `/.well-known/samlidp.xml`: an External Client App whose own document
    /// the org does not serve (Salesforce documents the per-app URL only for connected apps).
    Org,
}

/// The inputs of one download, and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// Digest of the inputs the operator can see (see [`inputs_key`]).
    pub key: u64,
    pub at: jiff::Timestamp,
    /// Which document it was (the status says so as long as it stands).
    pub source: MetadataSource,
}

/// What the last download published, as the next reconcile may reuse it.
#[derive(Clone, Debug)]
pub struct LastPublish {
    pub download: Download,
    /// The published ConfigMap (checked intact in the watch cache before reuse).
    pub config_map: Arc<Published>,
    pub status: MetadataStatus,
    /// The signing certificate's end of validity (the `CertificateValid` check goes on).
    pub not_after: jiff::Timestamp,
}

/// A digest of what decides the document besides this generation of the resource (compared
/// separately): the Identity Provider's certificate and its fingerprint, and the org's choice of
/// keys (a rotation's phase and second key).
pub fn inputs_key(idp: &IdpSnapshot, org_idp: Option<&OrgIdpView>) -> u64 {
    let mut h = DefaultHasher::new();
    idp.enabled.hash(&mut h);
    idp.certificate.hash(&mut h);
    idp.fingerprint.hash(&mut h);
    if let Some(v) = org_idp {
        v.current.hash(&mut h);
        v.allowed.hash(&mut h);
        v.extra
            .as_ref()
            .map(|(name, role)| (name, format!("{role:?}")))
            .hash(&mut h);
    }
    h.finish()
}

/// Whether the sweep wants a fresh download of the app `app_key`, last downloaded at `last`:
/// each app's sweep falls at its own offset within `period`, so the downloads of a sweep are
/// spread evenly over it.
pub fn sweep_due(
    app_key: &str,
    last: jiff::Timestamp,
    now: jiff::Timestamp,
    period: Duration,
) -> bool {
    let period = period.as_secs().max(1) as i64;
    let mut h = DefaultHasher::new();
    app_key.hash(&mut h);
    let offset = (h.finish() % period as u64) as i64;
    // The start of the latest sweep slot of this app at or before `now`.
    let slot = |t: jiff::Timestamp| (t.as_second() - offset).div_euclid(period);
    slot(now) > slot(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn each_app_is_swept_once_a_day_at_its_own_time() {
        let start = ts("2027-01-01T00:00:00Z");
        // Over two days of 60 s refreshes, each app is due exactly twice (once per day).
        for app in ["team-a/one", "team-b/two", "team-c/three"] {
            let mut last = start;
            let mut due = 0;
            for minute in 1..=2 * 24 * 60 {
                let now = start + jiff::SignedDuration::from_mins(minute);
                if sweep_due(app, last, now, DAY) {
                    due += 1;
                    last = now;
                }
            }
            assert_eq!(due, 2, "{app}");
        }
    }

    #[test]
    fn the_sweep_is_spread_over_the_day() {
        // 1,000 apps downloaded at midnight: at most a few are due in any one minute.
        let start = ts("2027-01-01T00:00:00Z");
        let mut per_hour = [0u32; 24];
        for i in 0..1000 {
            let app = format!("ns/app-{i}");
            let first_due = (1..=24 * 60)
                .find(|m| {
                    sweep_due(
                        &app,
                        start,
                        start + jiff::SignedDuration::from_mins(*m),
                        DAY,
                    )
                })
                .expect("due within the day");
            per_hour[(first_due - 1) as usize / 60] += 1;
        }
        assert!(
            per_hour.iter().all(|n| (20..=70).contains(n)),
            "roughly 1000/24 per hour: {per_hour:?}"
        );
    }

    #[test]
    fn the_key_moves_with_the_certificate_and_a_rotation_phase() {
        let idp = |c: &str| IdpSnapshot {
            enabled: true,
            certificate: Some(c.into()),
            fingerprint: Some(format!("fp-{c}")),
            fetched: std::time::Instant::now(),
            epoch: 0,
        };
        assert_eq!(inputs_key(&idp("A"), None), inputs_key(&idp("A"), None));
        assert_ne!(inputs_key(&idp("A"), None), inputs_key(&idp("B"), None));
        let view = |extra: Option<(String, crate::controller::rotation::KeyRole)>| OrgIdpView {
            org: "acme".into(),
            current: "A".into(),
            allowed: vec!["A".into(), "B".into()],
            extra,
        };
        let announced = view(Some((
            "B".into(),
            crate::controller::rotation::KeyRole::Next,
        )));
        assert_ne!(
            inputs_key(&idp("A"), Some(&view(None))),
            inputs_key(&idp("A"), Some(&announced))
        );
    }
}
