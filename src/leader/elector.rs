//! The candidate's loop (read, decide, take) and the leader's (renew, or give up at the renew
//! deadline). Every read and write has its own timeout; all time is tokio's monotonic clock.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

use super::record::{self, Decision, Observer};
use super::store::{LeaseStore, StoreError, Stored};
use super::timing::Timing;

fn wall_now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

/// A candidate for the Lease.
pub struct Elector<S> {
    store: Arc<S>,
    identity: String,
    timing: Timing,
}

/// How one attempt to take the Lease ended.
enum Attempt {
    /// Written with this candidate as holder; `started` is when the write was sent.
    Taken { started: Instant },
    /// Someone else holds it; read again at the latest at this instant.
    Wait(Instant, String),
    /// The read or write failed, timed out or lost a race.
    Failed,
}

impl<S: LeaseStore> Elector<S> {
    pub fn new(store: S, identity: impl Into<String>, timing: Timing) -> Self {
        Self {
            store: Arc::new(store),
            identity: identity.into(),
            timing,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits until this candidate holds the Lease, then keeps renewing it in the background.
    pub async fn acquire(self) -> Leading<S> {
        let mut observer = Observer::default();
        let mut waiting_for: Option<String> = None;
        loop {
            let retry = jittered(self.timing.retry_period);
            let next = match self.attempt(&mut observer).await {
                Attempt::Taken { started } => {
                    tracing::info!(identity = %self.identity, "acquired the leader Lease");
                    return self.lead(started);
                }
                Attempt::Wait(until, holder) => {
                    if waiting_for.as_deref() != Some(holder.as_str()) {
                        tracing::info!(identity = %self.identity, %holder, "standing by: another replica holds the leader Lease");
                        waiting_for = Some(holder);
                    }
                    until.min(Instant::now() + retry)
                }
                Attempt::Failed => Instant::now() + retry,
            };
            sleep_until(next).await;
        }
    }

    /// One read and, if [`record::decide`] says so, one write.
    async fn attempt(&self, observer: &mut Observer) -> Attempt {
        let budget = self.timing.attempt_timeout();
        let current = match timeout(budget, self.store.get()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "leader election: reading the Lease failed");
                return Attempt::Failed;
            }
            Err(_) => {
                tracing::warn!(timeout = ?budget, "leader election: reading the Lease timed out");
                return Attempt::Failed;
            }
        };
        let spec = current.as_ref().map(|s| &s.spec);
        let now = Instant::now();
        let first_seen = observer.observe(spec, now);
        let lease = self.timing.lease_duration;
        if let Decision::Wait { until } =
            record::decide(spec, first_seen, now, &self.identity, lease)
        {
            let holder = spec
                .and_then(record::holder)
                .unwrap_or("(no Lease yet)")
                .to_string();
            return Attempt::Wait(until, holder);
        }
        let started = Instant::now();
        let next = record::taken(
            spec,
            &self.identity,
            self.timing.lease_seconds(),
            wall_now(),
        );
        let write = async {
            match &current {
                None => self.store.create(next).await,
                Some(s) => self.store.replace(&s.version, next).await,
            }
        };
        match timeout(budget, write).await {
            Ok(Ok(_)) => Attempt::Taken { started },
            Ok(Err(StoreError::Conflict)) => Attempt::Failed,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "leader election: writing the Lease failed");
                Attempt::Failed
            }
            Err(_) => {
                tracing::warn!(timeout = ?budget, "leader election: writing the Lease timed out");
                Attempt::Failed
            }
        }
    }

    /// Starts renewing; the first deadline counts from the write that took the Lease.
    fn lead(self, started: Instant) -> Leading<S> {
        let (tx, expiry) = watch::channel(started + self.timing.renew_deadline);
        let renew = tokio::spawn(renew_loop(
            self.store.clone(),
            self.identity.clone(),
            self.timing,
            started,
            tx,
        ));
        Leading {
            store: self.store,
            identity: self.identity,
            timing: self.timing,
            expiry,
            renew,
        }
    }
}

/// `d` stretched by up to 20%, so candidates started together do not read in lockstep.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(1.0..1.2))
}

/// Held while leading: the instant leadership ends unless renewed ([`Leading::expiry`]).
pub struct Leading<S> {
    store: Arc<S>,
    identity: String,
    timing: Timing,
    expiry: watch::Receiver<Instant>,
    renew: tokio::task::JoinHandle<()>,
}

impl<S: LeaseStore> Leading<S> {
    /// Resolves at the renew deadline: `renew_deadline` after the start of the last successful
    /// renewal, or at once when another holder was found. Never later, even if the renewing task
    /// stopped or is stuck: the deadline is a timer of its own.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static + use<S> {
        let mut rx = self.expiry.clone();
        async move {
            loop {
                let at = *rx.borrow_and_update();
                tokio::select! {
                    _ = sleep_until(at) => {
                        if *rx.borrow() <= Instant::now() {
                            return;
                        }
                    }
                    changed = rx.changed() => {
                        if changed.is_err() {
                            // The renewing task is gone: no more renewals.
                            let at = *rx.borrow();
                            sleep_until(at).await;
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The current deadline, updated after each renewal (for the watchdog, [`super::Deadman`]).
    pub fn expiry(&self) -> watch::Receiver<Instant> {
        self.expiry.clone()
    }

    /// True until the deadline.
    pub fn is_leading(&self) -> bool {
        Instant::now() < *self.expiry.borrow()
    }

    /// Stops renewing and, if this candidate still holds the Lease, clears the holder so a
    /// standby takes over at once. Call it only once nothing runs that writes on the leader's
    /// behalf: a standby may start right after.
    pub async fn release(self) {
        self.renew.abort();
        if !self.is_leading() {
            return;
        }
        let budget = self.timing.attempt_timeout();
        match timeout(budget, release_once(&*self.store, &self.identity)).await {
            Ok(Ok(true)) => tracing::info!("released the leader Lease"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "releasing the leader Lease failed"),
            Err(_) => tracing::warn!(timeout = ?budget, "releasing the leader Lease timed out"),
        }
    }
}

impl<S> Drop for Leading<S> {
    /// A dropped `Leading` (the process stopping) renews no more.
    fn drop(&mut self) {
        self.renew.abort();
    }
}

async fn release_once<S: LeaseStore>(store: &S, me: &str) -> Result<bool, StoreError> {
    match store.get().await? {
        Some(Stored { spec, version }) if record::holder(&spec) == Some(me) => {
            store.replace(&version, record::released(&spec)).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Why leadership ended.
#[derive(Debug)]
enum Lost {
    /// No renewal succeeded within the renew deadline.
    Deadline,
    /// The Lease names another holder (or is gone).
    Taken(Option<String>),
}

/// Renews every retry period; on loss moves the deadline to now (never later) and returns.
async fn renew_loop<S: LeaseStore>(
    store: Arc<S>,
    me: String,
    timing: Timing,
    mut last_ok: Instant,
    tx: watch::Sender<Instant>,
) {
    loop {
        sleep_until(last_ok + timing.retry_period).await;
        let deadline = last_ok + timing.renew_deadline;
        match renew_until(&*store, &me, &timing, deadline).await {
            Ok(started) => {
                last_ok = started;
                tx.send_replace(started + timing.renew_deadline);
            }
            Err(why) => {
                match why {
                    Lost::Deadline => tracing::error!(
                        renew_deadline = ?timing.renew_deadline,
                        "could not renew the leader Lease within the renew deadline"
                    ),
                    Lost::Taken(holder) => tracing::error!(
                        holder = holder.as_deref().unwrap_or("(Lease deleted)"),
                        "the leader Lease was taken over"
                    ),
                }
                tx.send_modify(|at| *at = (*at).min(Instant::now()));
                return;
            }
        }
    }
}

/// Tries to renew until one attempt succeeds (returns when it was sent) or `deadline` passes.
async fn renew_until<S: LeaseStore>(
    store: &S,
    me: &str,
    timing: &Timing,
    deadline: Instant,
) -> Result<Instant, Lost> {
    loop {
        let started = Instant::now();
        if started >= deadline {
            return Err(Lost::Deadline);
        }
        let budget = timing.attempt_timeout().min(deadline - started);
        match timeout(budget, renew_once(store, me, timing.lease_seconds())).await {
            Ok(Ok(())) => return Ok(started),
            Ok(Err(Renew::Taken(holder))) => return Err(Lost::Taken(holder)),
            Ok(Err(Renew::Failed(e))) => {
                tracing::warn!(error = %e, "renewing the leader Lease failed; retrying")
            }
            Err(_) => {
                tracing::warn!(timeout = ?budget, "renewing the leader Lease timed out; retrying")
            }
        }
        sleep_until((Instant::now() + timing.retry_period).min(deadline)).await;
    }
}

enum Renew {
    Taken(Option<String>),
    Failed(StoreError),
}

impl From<StoreError> for Renew {
    fn from(e: StoreError) -> Self {
        Renew::Failed(e)
    }
}

/// One renewal: read, check the holder is still `me`, write the new `renewTime` at the version
/// read.
async fn renew_once<S: LeaseStore>(store: &S, me: &str, lease_seconds: i32) -> Result<(), Renew> {
    let Some(Stored { spec, version }) = store.get().await? else {
        return Err(Renew::Taken(None));
    };
    match record::holder(&spec) {
        Some(h) if h == me => {}
        other => return Err(Renew::Taken(other.map(str::to_owned))),
    }
    let next = record::taken(Some(&spec), me, lease_seconds, wall_now());
    store.replace(&version, next).await?;
    Ok(())
}
