//! What a candidate decides from the Lease it read, without I/O: when the record last changed as
//! seen on its own clock, and whether it may take the Lease now.
//!
//! The timestamps in the Lease (`renewTime`, `acquireTime`) are written by other pods' clocks and
//! are never compared with this one: they only make a renewal visible as a change of the record.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

/// The holder named by a record, `None` when nobody holds it (released, or never taken).
pub fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// The last state of the Lease this candidate read, and when (on its own monotonic clock) it
/// first saw that state. `None` in `spec` stands for "the Lease does not exist".
#[derive(Debug, Default)]
pub struct Observer {
    seen: Option<(Option<LeaseSpec>, Instant)>,
}

impl Observer {
    /// Records a read that returned `current` at `now`; returns when this exact record was first
    /// seen: `now` if it differs from the previous read (or there was none).
    pub fn observe(&mut self, current: Option<&LeaseSpec>, now: Instant) -> Instant {
        match &self.seen {
            Some((spec, since)) if spec.as_ref() == current => *since,
            _ => {
                self.seen = Some((current.cloned(), now));
                now
            }
        }
    }
}

/// What a candidate does after a read.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write the Lease with this candidate as holder (a conflict means someone else was faster).
    Take,
    /// Another holder's record may still be renewed; read again at the latest at `until`.
    Wait { until: Instant },
}

/// Whether a candidate that first saw `current` at `first_seen` may take the Lease at `now`.
///
/// - nobody holds it (released by a leader that had stopped): at once;
/// - another holder: once the record has stayed unchanged for its lease duration (the longer of
///   the record's `leaseDurationSeconds` and `own_lease`), measured from `first_seen`;
/// - no Lease at all: likewise after `own_lease`, since a deleted Lease says nothing about
///   whether its last holder has stopped;
/// - this candidate itself: at once (it renews).
pub fn decide(
    current: Option<&LeaseSpec>,
    first_seen: Instant,
    now: Instant,
    me: &str,
    own_lease: Duration,
) -> Decision {
    let wait = match current {
        None => own_lease,
        Some(spec) => match holder(spec) {
            None => return Decision::Take,
            Some(h) if h == me => return Decision::Take,
            Some(_) => record_lease(spec).max(own_lease),
        },
    };
    let until = first_seen + wait;
    if now >= until {
        Decision::Take
    } else {
        Decision::Wait { until }
    }
}

/// The record's `leaseDurationSeconds` (zero when absent or negative).
fn record_lease(spec: &LeaseSpec) -> Duration {
    Duration::from_secs(
        spec.lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
    )
}

/// The record that makes `me` the holder: a new acquisition (acquire time now, one more
/// transition) unless `me` already held `previous`.
pub fn taken(
    previous: Option<&LeaseSpec>,
    me: &str,
    lease_seconds: i32,
    now: MicroTime,
) -> LeaseSpec {
    let previous = previous.cloned().unwrap_or_default();
    let mine = holder(&previous) == Some(me);
    let transitions = match previous.lease_transitions {
        // A new Lease (or one nobody ever counted): the first holder.
        None => 0,
        Some(t) if mine => t,
        Some(t) => t.saturating_add(1),
    };
    LeaseSpec {
        holder_identity: Some(me.to_string()),
        lease_duration_seconds: Some(lease_seconds),
        acquire_time: if mine {
            previous.acquire_time.clone()
        } else {
            Some(now.clone())
        },
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..previous
    }
}

/// The record a leader writes when it stops after a clean shutdown: nobody holds it, so a
/// standby takes over at once.
pub fn released(previous: &LeaseSpec) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        renew_time: None,
        acquire_time: None,
        ..previous.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn spec(holder: Option<&str>, renew_secs: i64, lease: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(lease),
            renew_time: Some(MicroTime(jiff::Timestamp::from_second(renew_secs).unwrap())),
            lease_transitions: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn the_observation_time_moves_only_when_the_record_changes() {
        let t0 = Instant::now();
        let mut o = Observer::default();
        let a = spec(Some("x"), 100, 15);
        assert_eq!(o.observe(Some(&a), t0), t0);
        assert_eq!(o.observe(Some(&a), t0 + LEASE), t0);
        let renewed = spec(Some("x"), 102, 15);
        let t1 = t0 + LEASE + Duration::from_secs(1);
        assert_eq!(o.observe(Some(&renewed), t1), t1);
        assert_eq!(o.observe(None, t1 + LEASE), t1 + LEASE, "deleted");
        assert_eq!(o.observe(None, t1 + LEASE * 2), t1 + LEASE);
    }

    #[test]
    fn another_holder_is_waited_out_for_a_lease_duration_from_first_sight() {
        let t0 = Instant::now();
        let s = spec(Some("x"), 0, 15);
        assert_eq!(
            decide(
                Some(&s),
                t0,
                t0 + LEASE - Duration::from_millis(1),
                "me",
                LEASE
            ),
            Decision::Wait { until: t0 + LEASE }
        );
        assert_eq!(
            decide(Some(&s), t0, t0 + LEASE, "me", LEASE),
            Decision::Take
        );
        // The record's longer duration wins; a shorter one does not shorten ours.
        let long = spec(Some("x"), 0, 60);
        assert_eq!(
            decide(Some(&long), t0, t0 + LEASE, "me", LEASE),
            Decision::Wait {
                until: t0 + Duration::from_secs(60)
            }
        );
        let short = spec(Some("x"), 0, 1);
        assert_eq!(
            decide(Some(&short), t0, t0 + Duration::from_secs(2), "me", LEASE),
            Decision::Wait { until: t0 + LEASE }
        );
    }

    #[test]
    fn released_own_and_missing_leases() {
        let t0 = Instant::now();
        assert_eq!(
            decide(Some(&spec(None, 0, 15)), t0, t0, "me", LEASE),
            Decision::Take
        );
        assert_eq!(
            decide(Some(&spec(Some(""), 0, 15)), t0, t0, "me", LEASE),
            Decision::Take
        );
        assert_eq!(
            decide(Some(&spec(Some("me"), 0, 15)), t0, t0, "me", LEASE),
            Decision::Take
        );
        assert_eq!(
            decide(None, t0, t0, "me", LEASE),
            Decision::Wait { until: t0 + LEASE }
        );
    }

    #[test]
    fn taking_counts_transitions_and_keeps_the_acquire_time_on_renewal() {
        let now = MicroTime(jiff::Timestamp::from_second(500).unwrap());
        let fresh = taken(None, "me", 15, now.clone());
        assert_eq!(fresh.lease_transitions, Some(0));
        assert_eq!(fresh.acquire_time, Some(now.clone()));
        let other = spec(Some("x"), 100, 15);
        let t = taken(Some(&other), "me", 15, now.clone());
        assert_eq!(t.lease_transitions, Some(3));
        assert_eq!(t.holder_identity.as_deref(), Some("me"));
        let later = MicroTime(jiff::Timestamp::from_second(502).unwrap());
        let r = taken(Some(&t), "me", 15, later.clone());
        assert_eq!(r.lease_transitions, Some(3));
        assert_eq!(r.acquire_time, Some(now));
        assert_eq!(r.renew_time, Some(later));
        let rel = released(&r);
        assert_eq!(holder(&rel), None);
        assert_eq!(rel.lease_transitions, Some(3));
    }
}
