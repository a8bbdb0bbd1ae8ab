//! The controllers' names, as metrics and logs label them (and the `kind` label of the
//! per-resource series).

/// The `SsoConnectedApp` controller.
pub const APP: &str = "ssoconnectedapp";
/// The `SalesforceOrg` controller.
pub const ORG: &str = "salesforceorg";
