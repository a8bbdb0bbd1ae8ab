//! Typed Metadata API models that match the v63.0 WSDL element for element (names, order, enum
//! tokens), with rendering to request XML and parsing from response XML.

mod connected_app;
mod identity_provider;
mod saml;

pub use connected_app::{
    CONNECTED_APP, CONNECTED_APP_ORDER, ConnectedApp, ConnectedAppSamlConfig, UnmanagedFields,
};
pub use identity_provider::{
    CERTIFICATE, CertificateMetadata, IDENTITY_PROVIDER_FULL_NAME, IDENTITY_PROVIDER_SETTINGS,
    IdentityProviderSettings,
};
pub use saml::{
    SamlEncryptionType, SamlIdpSloBinding, SamlNameIdFormatType, SamlSigningAlgoType,
    SamlSubjectType,
};
