//! The kind of Salesforce app, shared by `SsoConnectedApp`'s spec and status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which kind of Salesforce app carries the SAML settings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default, JsonSchema)]
pub enum AppType {
    /// A SAML connected app (Metadata type `ConnectedApp`). Creating new ones needs Salesforce
    /// Support's approval since Spring '26; existing ones can still be updated.
    #[default]
    ConnectedApp,
    /// An External Client App with the SAML plugin (API 63.0+), the successor to connected apps.
    ExternalClientApp,
}
