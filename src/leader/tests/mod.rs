//! The election's decisions on tokio's paused clock against a fake Lease store ([`fake`]): when a
//! candidate takes the Lease, when a leader renews, when it gives up, and that a standby never
//! takes over before the old leader has stopped. No real time passes.

mod fake;
mod sim;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

use self::fake::{FakeStore, Net, View};
use crate::leader::{Elector, Leading, STOP_BUDGET, Timing};

const T: Timing = Timing::DEFAULT;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Lets `d` of virtual time pass. The clock is paused and auto-advances whenever every task
/// waits, so each timer on the way fires at its own instant and nothing really sleeps
/// (`tokio::time::advance` would jump over them all at once).
async fn pass(d: Duration) {
    tokio::time::sleep(d).await;
}

fn elector(store: &FakeStore, name: &str) -> (Elector<View>, fake::NetSwitch) {
    let (view, net) = store.view();
    (Elector::new(view, name, T), net)
}

/// Acquires in a task; returns the Leading and the instant acquire() returned.
async fn acquire(e: Elector<View>) -> (Leading<View>, Instant) {
    let l = e.acquire().await;
    (l, Instant::now())
}

/// A Lease held by `holder` whose record says `renew` (another pod's clock) and `seconds`.
fn held(holder: &str, renew: &str, seconds: i32) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(seconds),
        renew_time: Some(MicroTime(renew.parse().unwrap())),
        acquire_time: Some(MicroTime(renew.parse().unwrap())),
        lease_transitions: Some(3),
        ..Default::default()
    }
}

/// Runs `lost()` in a task and returns when it resolved.
fn lost_at(l: &Leading<View>) -> tokio::task::JoinHandle<Instant> {
    let lost = l.lost();
    tokio::spawn(async move {
        lost.await;
        Instant::now()
    })
}

#[tokio::test(start_paused = true)]
async fn a_missing_lease_is_created_after_one_lease_duration_of_local_observation() {
    let store = FakeStore::default();
    let (e, _) = elector(&store, "a");
    let t0 = Instant::now();
    let (l, at) = acquire(e).await;
    let waited = at - t0;
    assert!(waited >= T.lease_duration, "took it after {waited:?}");
    assert!(waited <= T.lease_duration + T.retry_period, "{waited:?}");
    assert!(l.is_leading());
    let spec = store.lease().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.lease_transitions, Some(0));
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_at_once_and_counts_a_transition() {
    let store = FakeStore::default();
    let mut spec = held("old", "2020-01-01T00:00:00Z", 15);
    spec.holder_identity = None;
    store.put(spec);
    let (e, _) = elector(&store, "b");
    let t0 = Instant::now();
    let (_l, at) = acquire(e).await;
    assert_eq!(at, t0, "no waiting for a released Lease");
    let spec = store.lease().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(4));
}

#[tokio::test(start_paused = true)]
async fn the_wall_clock_timestamps_in_the_record_are_ignored() {
    // Long expired and far in the future by the record's own timestamps: a standby waits a full
    // lease duration from its first read in both cases.
    for renew in ["2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"] {
        let store = FakeStore::default();
        store.put(held("other", renew, 15));
        let (e, _) = elector(&store, "b");
        let t0 = Instant::now();
        let (_l, at) = acquire(e).await;
        let waited = at - t0;
        assert!(
            waited >= T.lease_duration && waited <= T.lease_duration + T.retry_period,
            "renewTime {renew}: took over after {waited:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_longer_lease_duration_in_the_record_is_waited_out() {
    let store = FakeStore::default();
    store.put(held("other", "2020-01-01T00:00:00Z", 60));
    let (e, _) = elector(&store, "b");
    let t0 = Instant::now();
    let (_l, at) = acquire(e).await;
    assert!(at - t0 >= secs(60), "{:?}", at - t0);
}

#[tokio::test(start_paused = true)]
async fn a_standby_restarts_its_count_whenever_the_record_changes() {
    let store = FakeStore::default();
    let (e, _) = elector(&store, "b");
    let standby = tokio::spawn(acquire(e));
    // Another holder renews every 5 s for a minute: the standby must not take over meanwhile.
    let mut last_change = Instant::now();
    for i in 0..12 {
        store.put(held("other", &format!("2020-01-01T00:00:{i:02}Z"), 15));
        last_change = Instant::now();
        pass(secs(5)).await;
        assert!(!standby.is_finished(), "took over a renewed Lease at {i}");
    }
    let (_l, at) = standby.await.unwrap();
    let after = at - last_change;
    // It saw the last change at most one (jittered) retry period after it was made.
    assert!(after >= T.lease_duration, "{after:?}");
    assert!(
        after <= T.lease_duration + T.retry_period.mul_f64(1.2) + T.retry_period,
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_leader_renews_every_retry_period_and_stays_leader() {
    let store = FakeStore::default();
    let (e, _) = elector(&store, "a");
    let (l, _) = acquire(e).await;
    let lost = lost_at(&l);
    let before = store.writes().len();
    pass(secs(60)).await;
    let renewals = store.writes().len() - before;
    assert!((29..=31).contains(&renewals), "{renewals} renewals in 60 s");
    assert!(l.is_leading());
    assert!(!lost.is_finished());
    let spec = store.lease().unwrap();
    assert_eq!(
        spec.lease_transitions,
        Some(0),
        "renewals are no transitions"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cut_off_leader_stops_at_the_renew_deadline_of_its_last_renewal() {
    let store = FakeStore::default();
    let (e, net) = elector(&store, "a");
    let (l, _) = acquire(e).await;
    let lost = lost_at(&l);
    pass(secs(7)).await;
    net.set(Net::Cut);
    let last_renewal = store.writes().last().unwrap().0;
    let lost = lost.await.unwrap();
    // With zero latency the write is applied when it is sent: the deadline counts from there.
    assert_eq!(lost - last_renewal, T.renew_deadline);
    assert!(!l.is_leading());
}

#[tokio::test(start_paused = true)]
async fn a_hung_renewal_is_abandoned_after_its_own_timeout_and_retried() {
    let store = FakeStore::default();
    let (e, net) = elector(&store, "a");
    let (l, _) = acquire(e).await;
    let lost = lost_at(&l);
    pass(secs(1)).await;
    net.set(Net::Cut);
    // The renewal sent at +2 s hangs; its attempt timeout is half the renew deadline.
    pass(secs(3)).await;
    net.set(Net::UP);
    let writes = store.writes().len();
    pass(T.attempt_timeout() + T.retry_period).await;
    assert!(
        store.writes().len() > writes,
        "no renewal after the hung one"
    );
    pass(secs(30)).await;
    assert!(!lost.is_finished(), "lost the Lease over one hung request");
    assert!(l.is_leading());
}

#[tokio::test(start_paused = true)]
async fn failing_renewals_are_retried_until_the_deadline_then_the_leader_stops() {
    let store = FakeStore::default();
    let (e, net) = elector(&store, "a");
    let (l, _) = acquire(e).await;
    let lost = lost_at(&l);
    net.set(Net::Fail);
    let last_renewal = store.writes().last().unwrap().0;
    let lost = lost.await.unwrap();
    assert_eq!(lost - last_renewal, T.renew_deadline);
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_finds_another_holder_stops_at_once() {
    let store = FakeStore::default();
    let (e, _) = elector(&store, "a");
    let (l, _) = acquire(e).await;
    let lost = lost_at(&l);
    pass(secs(5)).await;
    store.put(held("intruder", "2020-01-01T00:00:00Z", 15));
    let taken = Instant::now();
    let lost = lost.await.unwrap();
    assert!(lost - taken <= T.retry_period, "{:?}", lost - taken);
    assert_eq!(
        store.lease().unwrap().holder_identity.as_deref(),
        Some("intruder"),
        "the leader must not write over another holder"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deleted_lease_stops_the_leader() {
    let store = FakeStore::default();
    let (a, _) = elector(&store, "a");
    let (l, _) = acquire(a).await;
    let lost = lost_at(&l);
    pass(secs(3)).await;
    store.delete();
    let gone = Instant::now();
    let lost = lost.await.unwrap();
    assert!(lost - gone <= T.retry_period, "{:?}", lost - gone);
    assert!(store.lease().is_none(), "the leader must not recreate it");
}

#[tokio::test(start_paused = true)]
async fn a_standby_takes_over_from_a_cut_off_leader_only_after_it_stopped() {
    let store = FakeStore::default();
    let (a, net_a) = elector(&store, "a");
    let (l, _) = acquire(a).await;
    let lost = lost_at(&l);
    let (b, _) = elector(&store, "b");
    let standby = tokio::spawn(acquire(b));
    pass(secs(30)).await;
    assert!(!standby.is_finished(), "took over from a live leader");
    net_a.set(Net::Cut);
    let last_renewal = store.writes().last().unwrap().0;
    let a_lost = lost.await.unwrap();
    let (_lb, b_at) = standby.await.unwrap();
    assert!(a_lost <= last_renewal + T.renew_deadline);
    assert!(
        a_lost + STOP_BUDGET < b_at,
        "a stopped at {:?}, b took over at {:?} (after the last renewal)",
        a_lost - last_renewal,
        b_at - last_renewal
    );
    assert!(b_at - last_renewal >= T.lease_duration);
    assert_eq!(store.lease().unwrap().holder_identity.as_deref(), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn a_renewal_stuck_in_the_network_that_arrives_late_only_delays_the_standby() {
    let store = FakeStore::default();
    let (a, net_a) = elector(&store, "a");
    let (l, _) = acquire(a).await;
    let lost = lost_at(&l);
    let (b, _) = elector(&store, "b");
    let standby = tokio::spawn(acquire(b));
    pass(secs(5)).await;
    // A's requests now arrive 12 s late (after A gave up on them) and are answered never.
    net_a.set(Net::Slow {
        before: secs(12),
        after: secs(3600),
    });
    let a_lost = lost.await.unwrap();
    let (_lb, b_at) = standby.await.unwrap();
    assert!(a_lost + STOP_BUDGET < b_at);
    // Whatever of A's arrived after it stopped moved B's start later, never earlier.
    let writes = store.writes();
    let last_a = writes
        .iter()
        .filter(|(_, h)| h.as_deref() == Some("a"))
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    assert!(b_at >= last_a + T.lease_duration, "{:?}", b_at - last_a);
}

#[tokio::test(start_paused = true)]
async fn two_standbys_racing_for_a_released_lease_make_one_leader() {
    let store = FakeStore::default();
    let mut spec = held("old", "2020-01-01T00:00:00Z", 15);
    spec.holder_identity = None;
    store.put(spec);
    let (b, _) = elector(&store, "b");
    let (c, _) = elector(&store, "c");
    let (sb, sc) = (tokio::spawn(acquire(b)), tokio::spawn(acquire(c)));
    pass(secs(60)).await;
    assert!(
        sb.is_finished() ^ sc.is_finished(),
        "exactly one of two racing standbys leads"
    );
}

#[tokio::test(start_paused = true)]
async fn release_clears_the_holder_and_a_standby_takes_over_at_once() {
    let store = FakeStore::default();
    let (a, _) = elector(&store, "a");
    let (l, _) = acquire(a).await;
    let (b, _) = elector(&store, "b");
    let standby = tokio::spawn(acquire(b));
    pass(secs(4)).await;
    l.release().await;
    let released = Instant::now();
    let (_lb, b_at) = standby.await.unwrap();
    assert!(b_at - released <= T.retry_period.mul_f64(1.2));
}
