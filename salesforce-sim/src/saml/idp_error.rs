//! Why a sign-in gives Salesforce's error page instead of a response: the codes and texts of
//! the Identity Provider Event Log (Salesforce Object Reference, `IdpEventLog.ErrorCode`, and
//! the Platform Events guide, `IdentityProviderEventStore.ErrorCode`, which records "outbound
//! SAML responses when Salesforce is acting as an identity provider"). Which code Salesforce
//! logs for which request problem is only partly evident from the names; the choices are listed
//! in docs/simulator.md.

/// A sign-in that cannot produce an assertion: the IdpEventLog `ErrorCode` and its text
/// (Salesforce's Object Reference, `IdpEventLog` / `IdentityProviderEventStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdpError {
    pub code: &'static str,
    pub message: &'static str,
}

macro_rules! idp_errors {
    ($($name:ident = $code:literal, $msg:literal;)*) => {
        $(pub const $name: IdpError = IdpError { code: $code, message: $msg };)*
    };
}

idp_errors! {
    NO_ACCESS = "NoAccess", "User doesn\u{2019}t have access to this service provider";
    NO_FEDERATION_ID = "NoUserFedId", "User doesn\u{2019}t have a Federation Identifier selected";
    NO_CUSTOM_ATTR_VALUE = "NoCustomAttrValue", "User doesn\u{2019}t have a value for the subject custom attribute";
    NO_SPOKE_ID = "NoSpokeId", "No Spoke ID found";
    INVALID_AUTHN_REQUEST = "InvalidAuthnRequest", "Unable to parse AuthnRequest from service provider";
    UNABLE_TO_RESOLVE = "UnableToResolve", "Unable to resolve request into a Service Provider";
    INVALID_SIGNATURE = "InvalidSignature", "Invalid Signature";
    INVALID_SP = "InvalidSp", "Misconfigured or invalid service provider";
    INVALID_ENDPOINT = "InvalidIdpEndpoint", "Invalid Identity Provider Endpoint URL";
    INVALID_SETTINGS = "InvalidSettings", "IdP certificate is invalid or doesn\u{2019}t exist";
    APP_BLOCKED = "AppBlocked", "App blocked";
}
