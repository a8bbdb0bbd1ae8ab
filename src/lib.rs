//! sso-operator: Salesforce as the SAML identity provider for partner telephony, declaratively.
#![forbid(unsafe_code)]

pub mod salesforce;
