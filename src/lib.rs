//! sso-operator: Salesforce as the SAML identity provider for partner telephony, declaratively.
//!
//! The library holds no logic of its own; it names the modules the `sso-operator` binary is built from.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod controller;
pub mod salesforce;
