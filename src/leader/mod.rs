//! Leader election on a `coordination.k8s.io` Lease, as client-go's `leaderelection` does it:
//! only the holder reconciles, and a holder that cannot renew stops before a standby may start.
//!
//! **Timing** ([`Timing`]; flags `--leader-election-lease-seconds`, `…-renew-deadline-seconds`,
//! `…-retry-period-seconds`; defaults 15 s, 10 s, 2 s):
//! - a *standby* reads the Lease every retry period and notes, on its own monotonic clock, when
//!   the record (holder, `renewTime`, …) last changed. It takes the Lease only after seeing the
//!   same record for a full lease duration, by a write that names the `resourceVersion` it read
//!   (two standbys cannot both win). The timestamps in the Lease, written by another pod's clock,
//!   are never compared with this one (`record.rs`). A released Lease (no holder) is taken at once;
//!   a missing Lease is waited out like a held one, since a deletion says nothing about whether
//!   the last holder has stopped.
//! - the *leader* renews every retry period; each attempt (read + write) has its own timeout (half
//!   the renew deadline). It leads until `renew_deadline` after the **start** of its last
//!   successful renewal ([`Leading::lost`]); then the controllers are dropped and the process
//!   exits non-zero, and a watchdog thread ([`Deadman`]) ends it if it is still running
//!   [`STOP_BUDGET`] (1 s) later.
//!
//! **Why no two leaders write at once.** Let `s` be the start of the leader's last successful
//! renewal. That write committed at `c ≥ s`, and any standby saw the renewed record first at some
//! `o ≥ c` (reads are quorum reads). A standby takes over no earlier than `o + lease_duration`
//! on its clock; the leader has stopped by `s + renew_deadline + STOP_BUDGET` on its clock.
//! [`Timing::new`] refuses `renew_deadline + STOP_BUDGET >= lease_duration`, so the old leader is
//! gone before the new one starts, with [`Timing::margin`] (4 s by default) left for the two
//! clocks running at different rates and for scheduling. A write that takes the Lease but whose
//! answer is lost only makes the holder stop earlier; a renewal that commits after the leader
//! gave up only makes standbys wait longer.
//!
//! **What remains.** A request the old leader had already sent when it stopped (bytes on the
//! wire, or a Salesforce `deploy` already accepted and running there) still takes effect; nothing
//! on the Salesforce side can refuse a former leader's request (it has no fencing token). Such a
//! request left the old leader before its deadline, so it races the new leader only if it is
//! delayed in the network by more than the margin plus the new leader's start-up (watch sync,
//! first reconcile).
//!
//! **Why not a crate.** `kube-leader-election` 0.44 requires kube 4 (this operator uses kube 5),
//! and both it and `kube-lease-manager` 0.13 (maintained, kube 5 / k8s-openapi 0.29) decide expiry
//! by comparing `renewTime + leaseDurationSeconds`, written by another pod's clock, with the local
//! wall clock, and neither bounds a renew call or stops the leader at a renew deadline below the
//! lease duration (`kube-lease-manager`'s holder renews `grace` seconds before expiry and learns
//! of a loss only when a renewal fails or finds another holder). Adopting one would reintroduce
//! the two faults this module exists to avoid, so the election is kept here, with unit tests of its
//! decisions against a fake Lease store on tokio's paused clock (`tests/`).

mod deadman;
mod elector;
mod record;
mod store;
mod timing;

#[cfg(test)]
mod tests;

pub use deadman::Deadman;
pub use elector::{Elector, Leading};
pub use store::{KubeLeaseStore, LeaseStore, StoreError, Stored};
pub use timing::{STOP_BUDGET, Timing, TimingError};

/// This process's name in the Lease: the pod name (`POD_NAME`, else `HOSTNAME`), the pid and a
/// random suffix, so two processes on one host, or a restarted one, are never taken for each
/// other.
pub fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "sso-operator".to_string());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
