//! Test controls under `/__sim/` (only with `--control`; docs/simulator.md, "Test controls"):
//! `report` (state, call log), `mutate` (change a component as an admin in Setup would),
//! `settings` (faults, clock, certificates, limits, policy, sessions), `saml` (who is signed in
//! for SAML sign-in); `reply` (error answers).

pub mod mutate;
pub mod reply;
pub mod report;
pub mod saml;
pub mod settings;
