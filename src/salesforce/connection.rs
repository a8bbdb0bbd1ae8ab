//! How the operator reaches and authenticates to one org: the settings the reconciler builds from a
//! `SalesforceOrg` and its Secret. The registry compares them to decide whether a cached client
//! still fits.

use super::secret::SecretString;

/// How the operator authenticates to one org.
#[derive(Clone, Debug)]
pub enum Credentials {
    JwtBearer {
        client_id: String,
        username: String,
        private_key_pem: SecretString,
    },
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Credentials {
    fn same_as(&self, other: &Credentials) -> bool {
        match (self, other) {
            (
                Credentials::JwtBearer {
                    client_id: a,
                    username: b,
                    private_key_pem: c,
                },
                Credentials::JwtBearer {
                    client_id: x,
                    username: y,
                    private_key_pem: z,
                },
            ) => a == x && b == y && c.ct_eq(z),
            (
                Credentials::ClientCredentials {
                    client_id: a,
                    client_secret: b,
                },
                Credentials::ClientCredentials {
                    client_id: x,
                    client_secret: y,
                },
            ) => a == x && b.ct_eq(y),
            _ => false,
        }
    }

    pub fn flow(&self) -> &'static str {
        match self {
            Credentials::JwtBearer { .. } => "jwt-bearer",
            Credentials::ClientCredentials { .. } => "client-credentials",
        }
    }
}

/// Everything needed to talk to one org, built by the reconciler from a `SalesforceOrg` and its
/// Secret.
#[derive(Clone, Debug)]
pub struct OrgConnection {
    /// My Domain; all API calls and IdP metadata fetches go here.
    pub instance_url: url::Url,
    /// Token endpoint host for JWT bearer; client credentials use `instance_url`.
    pub login_url: url::Url,
    pub audience: String,
    /// e.g. `"63.0"`.
    pub api_version: String,
    pub credentials: Credentials,
    pub max_concurrent_calls: u32,
    pub reserve_percent: u32,
}

impl OrgConnection {
    pub(super) fn same_as(&self, other: &OrgConnection) -> bool {
        self.instance_url == other.instance_url
            && self.login_url == other.login_url
            && self.audience == other.audience
            && self.api_version == other.api_version
            && self.max_concurrent_calls == other.max_concurrent_calls
            && self.reserve_percent == other.reserve_percent
            && self.credentials.same_as(&other.credentials)
    }
}
