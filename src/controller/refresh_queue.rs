//! When each app is next due for a reconcile of its own accord (its quiet period ends, its refresh
//! slot comes): one entry per app, replaced by the app's next decision, and a task that wakes the
//! app through the controller's `reconcile_on` stream when the time comes.
//!
//! kube's scheduler could hold these (`Action::requeue`), but it keeps two copies of the request
//! (four strings each) in a hash map and a delay queue: about 600 bytes per app, and every app has
//! one between refreshes (BENCHMARKS.md, issue 21). Here an entry is the app's shared key and an
//! instant, about 100 bytes. Short retries (errors, a cache not yet synced, a lagging watch) stay
//! with kube.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::api::shared_str::SharedStr;

#[derive(Default)]
struct Entries {
    by_key: HashMap<SharedStr, Instant>,
    by_time: BTreeSet<(Instant, SharedStr)>,
}

/// The apps' next own reconciles.
#[derive(Default)]
pub struct RefreshQueue {
    entries: Mutex<Entries>,
    /// An entry came due earlier than the one the task sleeps towards.
    earlier: Notify,
}

impl RefreshQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `key` is due in `after`; replaces what was scheduled for it (the latest decision stands).
    pub fn schedule(&self, key: &str, after: Duration) {
        let at = Instant::now() + after;
        let key = SharedStr::from(key);
        let mut e = self.lock();
        if let Some(old) = e.by_key.insert(key.clone(), at) {
            e.by_time.remove(&(old, key.clone()));
        }
        let first = e.by_time.first().is_none_or(|(t, _)| at < *t);
        e.by_time.insert((at, key));
        drop(e);
        if first {
            self.earlier.notify_one();
        }
    }

    /// Forgets `key` (the app is gone).
    pub fn cancel(&self, key: &str) {
        let mut e = self.lock();
        if let Some((key, at)) = e.by_key.remove_entry(key) {
            e.by_time.remove(&(at, key));
        }
    }

    /// Takes the entries due at `now`.
    fn take_due(&self, now: Instant) -> Vec<SharedStr> {
        let mut e = self.lock();
        let mut due = Vec::new();
        while e.by_time.first().is_some_and(|(t, _)| *t <= now) {
            let Some((_, key)) = e.by_time.pop_first() else {
                break;
            };
            e.by_key.remove(&key);
            due.push(key);
        }
        due
    }

    fn next_due(&self) -> Option<Instant> {
        self.lock().by_time.first().map(|(t, _)| *t)
    }

    /// Hands each app to `wake` when it is due; returns when `wake` refuses (the controller
    /// stopped).
    pub async fn run(&self, wake: impl Fn(&str) -> bool) {
        loop {
            for key in self.take_due(Instant::now()) {
                if !wake(&key) {
                    return;
                }
            }
            // Registered before looking at the head, so a schedule in between is not missed.
            let earlier = self.earlier.notified();
            match self.next_due() {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = earlier => {}
                    }
                }
                None => earlier.await,
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let e = self.lock();
        assert_eq!(e.by_key.len(), e.by_time.len());
        e.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_new_decision_replaces_the_old_one() {
        let q = RefreshQueue::default();
        q.schedule("ns/a", Duration::from_secs(60));
        q.schedule("ns/b", Duration::from_secs(30));
        q.schedule("ns/a", Duration::from_secs(10));
        assert_eq!(q.len(), 2);
        let now = Instant::now();
        assert!(q.take_due(now + Duration::from_secs(9)).is_empty());
        assert_eq!(q.take_due(now + Duration::from_secs(10)), vec!["ns/a"]);
        // The first decision for ns/a (60 s) is gone with it.
        assert_eq!(q.take_due(now + Duration::from_secs(120)), vec!["ns/b"]);
        assert_eq!(q.len(), 0);
        q.schedule("ns/c", Duration::from_secs(1));
        q.cancel("ns/c");
        assert_eq!(q.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn apps_are_woken_when_due_and_in_order() {
        let q = Arc::new(RefreshQueue::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let runner = {
            let q = q.clone();
            tokio::spawn(async move { q.run(|k| tx.send(k.to_string()).is_ok()).await })
        };
        let start = Instant::now();
        q.schedule("ns/late", Duration::from_secs(60));
        q.schedule("ns/early", Duration::from_secs(20));
        assert_eq!(rx.recv().await.as_deref(), Some("ns/early"));
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        // Scheduled while the task sleeps towards ns/late: it wakes for the earlier one.
        q.schedule("ns/sooner", Duration::from_secs(5));
        assert_eq!(rx.recv().await.as_deref(), Some("ns/sooner"));
        assert_eq!(start.elapsed(), Duration::from_secs(25));
        assert_eq!(rx.recv().await.as_deref(), Some("ns/late"));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        drop(rx);
        q.schedule("ns/after-stop", Duration::from_secs(1));
        runner
            .await
            .expect("the task ends when the controller stops");
    }
}
