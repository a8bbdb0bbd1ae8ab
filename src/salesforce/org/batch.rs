//! The queue behind request coalescing.
//!
//! Callers push a request and wait on a oneshot. The first caller to find the queue idle starts a
//! dispatcher task (owned by the org client, so a cancelled caller cannot strand the queue). The
//! dispatcher waits for company (see `coalesce.rs`), takes an in-flight permit and only then drains
//! up to 10 requests, so whatever piles up while earlier calls are in flight rides along in the
//! next call.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::salesforce::error::SalesforceError;

pub struct Pending<Req, Resp> {
    /// The component's fullName.
    pub name: String,
    pub req: Req,
    pub tx: oneshot::Sender<Result<Resp, SalesforceError>>,
}

struct State<Req, Resp> {
    queue: VecDeque<Pending<Req, Resp>>,
    running: bool,
    /// Arrival times within the last [`RATE_WINDOW`], to tell a busy org from a quiet one.
    arrivals: VecDeque<Instant>,
}

/// The span over which arrivals are counted for [`Batcher::busy`].
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Arrivals per [`RATE_WINDOW`] from which an org counts as busy. Low enough for resources
/// applied one by one (`kubectl apply` of 10,000 objects over 10 orgs brings each org 3-4 a
/// second): below it, creates went out one or two per call.
const BUSY_ARRIVALS: usize = 3;
/// Arrival times kept (the latest), enough to tell the rate up to 10 a second apart.
const MAX_ARRIVALS: usize = 16;
/// A busy wait for company ends when nothing arrived for this many average gaps at the current
/// rate (the burst is over; waiting longer only adds latency).
const QUIET_GAPS: u32 = 3;

pub struct Batcher<Req, Resp> {
    state: Mutex<State<Req, Resp>>,
    /// Whether one call may carry the same fullName twice (reads: yes, deduplicated; writes: no,
    /// the second write waits for the next call so the order of writes is kept).
    allow_duplicates: bool,
}

impl<Req, Resp> Batcher<Req, Resp> {
    pub fn new(allow_duplicates: bool) -> Self {
        Batcher {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                running: false,
                arrivals: VecDeque::new(),
            }),
            allow_duplicates,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<Req, Resp>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a request; returns true when the caller must start a dispatcher.
    pub fn push(&self, p: Pending<Req, Resp>) -> bool {
        let mut st = self.lock();
        st.queue.push_back(p);
        let now = Instant::now();
        while st
            .arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            st.arrivals.pop_front();
        }
        // Bounded, keeping the latest: [`Batcher::arriving`] looks at the last arrival.
        if st.arrivals.len() == MAX_ARRIVALS {
            st.arrivals.pop_front();
        }
        st.arrivals.push_back(now);
        if st.running {
            false
        } else {
            st.running = true;
            true
        }
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether requests have been arriving steadily (a converge or a refresh tick): then a longer
    /// wait for company pays off in fewer calls; a lone change is sent at once.
    pub fn busy(&self) -> bool {
        let st = self.lock();
        let now = Instant::now();
        st.arrivals
            .iter()
            .filter(|t| now.duration_since(**t) <= RATE_WINDOW)
            .count()
            >= BUSY_ARRIVALS
    }

    /// Whether requests are still arriving: the last one came no longer ago than [`QUIET_GAPS`]
    /// average gaps at the rate of the last [`RATE_WINDOW`].
    pub fn arriving(&self) -> bool {
        let st = self.lock();
        let now = Instant::now();
        let recent = st
            .arrivals
            .iter()
            .filter(|t| now.duration_since(**t) <= RATE_WINDOW)
            .count();
        let (Some(last), Ok(recent)) = (st.arrivals.back(), u32::try_from(recent)) else {
            return false;
        };
        recent > 0 && now.duration_since(*last) <= RATE_WINDOW / recent * QUIET_GAPS
    }

    /// Takes the next batch of at most `max` requests. An empty result means the dispatcher must
    /// stop; the running flag is cleared under the same lock, so a concurrent `push` starts a new
    /// one.
    pub fn take(&self, max: usize) -> Vec<Pending<Req, Resp>> {
        let mut st = self.lock();
        let mut batch: Vec<Pending<Req, Resp>> = Vec::new();
        let mut distinct = 0usize;
        let mut deferred = VecDeque::new();
        while let Some(p) = st.queue.pop_front() {
            let dup = batch.iter().any(|b| b.name == p.name);
            if dup && !self.allow_duplicates {
                deferred.push_back(p);
                continue;
            }
            if !dup {
                if distinct == max {
                    st.queue.push_front(p);
                    break;
                }
                distinct += 1;
            }
            batch.push(p);
        }
        // Deferred duplicates go back to the front, in their original order.
        while let Some(p) = deferred.pop_back() {
            st.queue.push_front(p);
        }
        if batch.is_empty() {
            st.running = false;
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(
        name: &str,
    ) -> (
        Pending<(), ()>,
        oneshot::Receiver<Result<(), SalesforceError>>,
    ) {
        let (tx, rx) = oneshot::channel();
        (
            Pending {
                name: name.into(),
                req: (),
                tx,
            },
            rx,
        )
    }

    #[test]
    fn takes_at_most_max_distinct_names() {
        let b = Batcher::new(true);
        let mut rxs = Vec::new();
        for i in 0..25 {
            let (p, rx) = pending(&format!("A{i}"));
            rxs.push(rx);
            let start = b.push(p);
            assert_eq!(start, i == 0);
        }
        assert_eq!(b.take(10).len(), 10);
        assert_eq!(b.take(10).len(), 10);
        assert_eq!(b.take(10).len(), 5);
        assert!(b.take(10).is_empty());
        // Idle again: the next push must start a dispatcher.
        let (p, _rx) = pending("X");
        assert!(b.push(p));
    }

    #[test]
    fn reads_share_duplicates_writes_defer_them() {
        let reads = Batcher::new(true);
        for n in ["A", "A", "B"] {
            reads.push(pending(n).0);
        }
        assert_eq!(reads.take(1).len(), 2, "both reads of A ride in one call");

        let writes = Batcher::new(false);
        for n in ["A", "B", "A", "C"] {
            writes.push(pending(n).0);
        }
        let first: Vec<_> = writes.take(10).into_iter().map(|p| p.name).collect();
        assert_eq!(first, vec!["A", "B", "C"]);
        let second: Vec<_> = writes.take(10).into_iter().map(|p| p.name).collect();
        assert_eq!(second, vec!["A"]);
    }

    #[test]
    fn busy_after_a_burst_of_arrivals_not_after_one() {
        let b = Batcher::new(true);
        b.push(pending("A").0);
        assert!(!b.busy());
        for i in 0..BUSY_ARRIVALS {
            b.push(pending(&format!("B{i}")).0);
        }
        assert!(b.busy());
        assert!(b.arriving(), "the last arrival was just now");
    }

    #[test]
    fn a_long_burst_keeps_the_latest_arrival() {
        let b = Batcher::new(true);
        for i in 0..100 {
            b.push(pending(&format!("A{i}")).0);
        }
        let before_last = Instant::now();
        b.push(pending("last").0);
        let st = b.lock();
        assert_eq!(st.arrivals.len(), MAX_ARRIVALS);
        assert!(st.arrivals.back().is_some_and(|t| *t >= before_last));
    }

    #[test]
    fn not_arriving_when_idle() {
        let b: Batcher<(), ()> = Batcher::new(true);
        assert!(!b.arriving());
    }
}
