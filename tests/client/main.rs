//! The Salesforce client (`sso_operator::salesforce`) against the simulated org in this
//! process: no cluster. One binary, a module per subject (fewer binaries to link).
//!
//! - `org`: the org operations (auth, Metadata API round trips, batching, limits, hostile
//!   answers);
//! - `eca`: External Client Apps (deploy, delete, API versions);
//! - `logs`: no secret material in any log line;
//! - `check_org`: `sso-operator check-org` in every reality variant, and its cleanup.

// The shared harness, `tests/common/`.
#[path = "../common/mod.rs"]
mod common;

mod check_org;
mod eca;
mod logs;
mod org;
