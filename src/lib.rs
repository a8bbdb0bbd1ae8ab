//! sso-operator: Salesforce as the SAML identity provider for partner telephony, declaratively.
//!
//! The library holds no logic of its own; it names the modules the `sso-operator` binary is built from.
#![forbid(unsafe_code)]

pub mod api;
pub mod check_org;
pub mod config;
pub mod controller;
pub mod error;
pub mod events;
pub mod http;
pub mod leader;
pub mod metadata_configmap;
pub mod metrics;
pub mod ownership;
pub mod salesforce;
pub mod telemetry;
