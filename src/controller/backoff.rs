//! Per-object exponential backoff with jitter. kube-runtime's `error_policy` is stateless, so the
//! failure count per object lives here; it counts attempts that ran (not triggers) and is reset by
//! the first success.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failed attempt for `key` and returns how long to wait before the next one:
    /// `base * 2^(n-1)`, capped, with ±20% jitter so objects failing together spread out.
    pub fn failed(&self, key: &str) -> Duration {
        let n = {
            let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            let n = f.entry(key.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        self.delay(n)
    }

    /// The delay after `n` consecutive failures, with jitter.
    pub fn delay(&self, n: u32) -> Duration {
        exponential(self.base, self.cap, n).mul_f64(rand::rng().random_range(0.8..1.2))
    }

    /// Consecutive failures recorded for `key`.
    pub fn failures(&self, key: &str) -> u32 {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// `base` doubled for each failure after the first (`n` failures so far), at most `cap`.
fn exponential(base: Duration, cap: Duration, n: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.saturating_sub(1).min(20)))
        .min(cap)
}

/// `d` shortened by up to 10%, for periodic refreshes: resources created together spread out,
/// and a refresh never comes later than its interval (a rotated certificate is published within
/// one `refreshInterval`).
pub fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.9..1.0))
}

/// An app's place in its org's refresh: the apps of one org are refreshed in groups of 10 (what
/// one read can carry) by their order, `group` being this app's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSlot {
    pub group: usize,
}

/// Instants per interval at which an org's groups refresh: 1,000 apps of an org get one each;
/// beyond that, groups share one (20 apps at a time for 2,000).
const SLOTS: u64 = 100;

impl RefreshSlot {
    /// The slot of the app at `position` (0-based, in a fixed order) among its org's apps.
    pub fn of(position: usize) -> Self {
        RefreshSlot {
            group: position / crate::salesforce::MAX_COMPONENTS,
        }
    }
}

/// Time from `now` to this app's next refresh for `interval`. Each org's refresh starts at its
/// tick (offset by a hash of its key so orgs do not all refresh at once) and its groups of 10
/// follow at a hundredth of the interval each, so the ten apps of a group arrive together and
/// share one read, and a thousand apps of an org do not all want a reconcile slot at the same
/// moment (a user's change would wait behind them). A group's instant depends only on its
/// position, not on how many apps the org has, so it stays put while apps are added (in a
/// converge, the first refresh is already aligned). The wait never exceeds `interval`, so a hand
/// change in Salesforce is still corrected within one interval.
pub fn until_refresh_tick(
    interval: Duration,
    org: &str,
    slot: RefreshSlot,
    now: std::time::SystemTime,
) -> Duration {
    let (period, phase) = tick_phase(interval, org, now);
    let offset = period * (slot.group as u64 % SLOTS) / SLOTS;
    let since_slot = (phase + period - offset) % period;
    Duration::from_millis((period - since_slot).max(100))
}

/// Time from the latest refresh tick of `org` for `interval` (see [`until_refresh_tick`]) to
/// `now`. Something read before it belongs to an earlier interval.
pub fn since_refresh_tick(interval: Duration, org: &str, now: std::time::SystemTime) -> Duration {
    Duration::from_millis(tick_phase(interval, org, now).1)
}

/// The tick period and how far `now` is into it, in milliseconds.
fn tick_phase(interval: Duration, org: &str, now: std::time::SystemTime) -> (u64, u64) {
    let period = interval.as_millis().max(1) as u64;
    // FNV-1a: stable across processes and releases, unlike std's hasher.
    let offset = org.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) % period;
    let now_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    (period, (now_ms % period + period - offset) % period)
}

/// Backoff for the controllers' watch streams: 250 ms doubling to 5 s, with jitter, reset by the
/// first event. kube-runtime's default (up to 30 s) is shared by all of a controller's watches, so
/// after an API-server restart each watch's 410-then-relist added another long pause and changes
/// went unseen for a minute or more; a short cap bounds that to seconds.
#[derive(Debug, Default)]
pub struct WatchBackoff {
    failures: u32,
}

impl WatchBackoff {
    const BASE: Duration = Duration::from_millis(250);
    const CAP: Duration = Duration::from_secs(5);
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        Some(
            exponential(Self::BASE, Self::CAP, self.failures)
                .mul_f64(rand::rng().random_range(0.8..1.0)),
        )
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_up_to_the_cap_and_resets_on_success() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let d1 = b.failed("x");
        let d2 = b.failed("x");
        let d3 = b.failed("x");
        assert!(d1 >= Duration::from_millis(800) && d1 <= Duration::from_millis(1200));
        assert!(d2 >= Duration::from_millis(1600) && d2 <= Duration::from_millis(2400));
        assert!(d3 >= Duration::from_millis(3200) && d3 <= Duration::from_millis(4800));
        for _ in 0..20 {
            b.failed("x");
        }
        assert!(b.failed("x") <= Duration::from_secs(72));
        b.reset("x");
        assert_eq!(b.failures("x"), 0);
        assert!(b.failed("x") <= Duration::from_millis(1200));
    }

    #[test]
    fn watch_backoff_is_short_never_gives_up_and_resets() {
        use kube::runtime::utils::Backoff as _;
        let mut b = WatchBackoff::default();
        let first = b.next().unwrap();
        assert!(first >= Duration::from_millis(200) && first <= Duration::from_millis(250));
        let later: Vec<Duration> = (0..50).map(|_| b.next().unwrap()).collect();
        assert!(later.iter().all(|d| *d <= Duration::from_secs(5)));
        assert!(later.last().unwrap() >= &Duration::from_secs(4));
        b.reset();
        assert!(b.next().unwrap() <= Duration::from_millis(250));
    }

    #[test]
    fn refresh_ticks_align_apps_of_one_org_and_never_exceed_the_interval() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let i = Duration::from_secs(60);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for step in 0..120u64 {
            let now = t0 + Duration::from_millis(step * 997);
            for slot in [
                RefreshSlot::of(0),
                RefreshSlot::of(999),
                RefreshSlot::of(5_000),
            ] {
                let wait = until_refresh_tick(i, "ns/acme", slot, now);
                assert!(wait <= i && wait >= Duration::from_millis(100), "{wait:?}");
            }
        }
        // Apps of one org finishing at different moments meet at the same instant.
        let tick = |now: SystemTime| now + until_refresh_tick(i, "ns/acme", FIRST, now);
        let a = tick(t0 + Duration::from_millis(1_234));
        let b = tick(a - Duration::from_secs(59));
        let c = tick(a + Duration::from_millis(700));
        assert_eq!(a, b);
        assert_eq!(
            c,
            a + i,
            "a refresh done just after a tick waits for the next one"
        );
        // Another org's ticks are elsewhere in the period.
        let other = t0 + Duration::from_millis(1_234);
        assert_ne!(other + until_refresh_tick(i, "ns/globex", FIRST, other), a);
    }

    const FIRST: RefreshSlot = RefreshSlot { group: 0 };

    #[test]
    fn an_orgs_groups_of_ten_are_spread_over_the_interval() {
        use std::time::UNIX_EPOCH;
        let i = Duration::from_secs(60);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |position: usize| {
            now + until_refresh_tick(i, "ns/acme", RefreshSlot::of(position), now)
        };
        // Ten apps in a row share an instant; the next ten come 0.6 s later.
        assert!((1..10).all(|p| at(p) == at(0)));
        let gap = |a: usize, b: usize| {
            let (x, y) = (at(a), at(b));
            y.duration_since(x)
                .or_else(|_| x.duration_since(y))
                .unwrap()
        };
        assert_eq!(gap(0, 10).min(i - gap(0, 10)), Duration::from_millis(600));
        let distinct = |n: usize| {
            let mut instants: Vec<_> = (0..n).map(at).collect();
            instants.sort();
            instants.dedup();
            instants.len()
        };
        assert_eq!(distinct(1000), 100, "1,000 apps: 100 instants of 10");
        assert_eq!(
            distinct(2000),
            100,
            "2,000 apps: the same instants, 20 each"
        );
        assert_eq!(distinct(200), 20);
        // Group 0 is at the org's tick, where the IdP snapshot goes stale.
        assert!(since_refresh_tick(i, "ns/acme", at(0)) < Duration::from_millis(1));
    }

    #[test]
    fn what_was_read_before_the_latest_tick_is_stale_at_the_next_one() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let i = Duration::from_secs(60);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let tick = |now: SystemTime| now + until_refresh_tick(i, "ns/acme", FIRST, now);
        let a = tick(t0);
        assert!(since_refresh_tick(i, "ns/acme", a) < Duration::from_millis(1));
        // Read 400 ms after one tick; the next tick's first reconcile runs 100 ms after it: the
        // read is younger than the interval (59.7 s) yet from the previous interval.
        let read = a + Duration::from_millis(400);
        let next = a + i + Duration::from_millis(100);
        let age = next.duration_since(read).unwrap();
        assert!(age < i);
        assert!(
            age > since_refresh_tick(i, "ns/acme", next),
            "stale at the next tick"
        );
        // Within the interval it stays fresh.
        let later = a + Duration::from_secs(30);
        assert!(later.duration_since(read).unwrap() < since_refresh_tick(i, "ns/acme", later));
    }
}
