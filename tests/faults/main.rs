//! The fault suite (`make test-faults`; `test = false` in Cargo.toml, so `make test` leaves it
//! out): the operator as a process against the real kube-apiserver and `salesforce-sim`, with
//! faults injected through `/__sim/` controls, signals, and by stopping the API server. Each test
//! asserts an outcome (a condition reason, a count of Salesforce calls, what the org holds) and
//! waits on it with a timeout, never a fixed sleep.
//!
//! - `process`: SIGKILL and SIGTERM of the operator;
//! - `salesforce`: Salesforce errors, an expired session, the daily allocation, deletion while
//!   Salesforce is down (on the shared control plane, each test in its own namespace);
//! - `apiserver`: API-server restart and watch expiry, on a private control plane of its own;
//! - `soak`: the randomized multi-team fault soak (`#[ignore]`d: `make soak` only).

// The shared harness, `tests/common/`.
#[path = "../common/mod.rs"]
mod common;

mod apiserver;
mod process;
mod salesforce;
mod soak;
