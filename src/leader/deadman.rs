//! The last line of the fence: an OS thread, outside the async runtime, that ends the process if
//! it is still running [`STOP_BUDGET`](super::timing::STOP_BUDGET) after the leader's deadline.
//! The normal way out (dropping the controllers and returning an error at the deadline) needs the
//! runtime to poll a timer; this does not, so a starved or blocked runtime cannot keep a former
//! leader alive (and writing) into the time a standby may take over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The longest the thread sleeps before looking at the deadline again.
const TICK: Duration = Duration::from_millis(100);

/// An armed watchdog; [`Deadman::disarm`] stops it. Dropping it leaves it armed, on purpose: a
/// leader that returns because it lost the Lease must still be ended if its exit hangs.
pub struct Deadman {
    disarmed: Arc<AtomicBool>,
}

impl Deadman {
    /// Watches `expiry` (the leader's deadline, moved on by each renewal) and exits the process
    /// with status 1 once `grace` has passed after it.
    pub fn arm(expiry: watch::Receiver<Instant>, grace: Duration) -> std::io::Result<Deadman> {
        let disarmed = Arc::new(AtomicBool::new(false));
        let flag = disarmed.clone();
        std::thread::Builder::new()
            .name("leader-deadman".into())
            .spawn(move || {
                loop {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    let end = expiry.borrow().into_std() + grace;
                    let now = std::time::Instant::now();
                    if now >= end {
                        tracing::error!(
                            "the leader deadline passed and the process had not stopped; exiting"
                        );
                        std::process::exit(1);
                    }
                    std::thread::sleep((end - now).min(TICK));
                }
            })?;
        Ok(Deadman { disarmed })
    }

    /// Stops watching: the controllers have stopped, so there is nothing left to fence.
    pub fn disarm(&self) {
        self.disarmed.store(true, Ordering::Release);
    }
}
