//! The simulator's tests: one test binary, a module per subject (`saml`: sign-in, with an
//! external SP library). Most start the simulator
//! in-process through the library (`harness`); `binary` runs the `salesforce-sim` executable
//! as `hack/demo.sh` and the benchmark do, and checks the org files they use.

mod binary;
mod clients;
mod control;
mod eca;
mod harness;
mod idp;
mod oauth;
mod realism;
mod saml;
mod soap;
mod xsd;
