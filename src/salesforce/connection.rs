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
    /// Whether `other` connects the same way (same URLs, budget and credentials), so a client
    /// built for one serves the other (its token, budget and batcher survive a rebuild).
    pub fn same_as(&self, other: &OrgConnection) -> bool {
        self.instance_url == other.instance_url
            && self.login_url == other.login_url
            && self.audience == other.audience
            && self.api_version == other.api_version
            && self.max_concurrent_calls == other.max_concurrent_calls
            && self.reserve_percent == other.reserve_percent
            && self.credentials.same_as(&other.credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(credentials: Credentials) -> OrgConnection {
        OrgConnection {
            instance_url: "https://acme.my.salesforce.com".parse().unwrap(),
            login_url: "https://login.salesforce.com".parse().unwrap(),
            audience: "https://login.salesforce.com".into(),
            api_version: "63.0".into(),
            credentials,
            max_concurrent_calls: 4,
            reserve_percent: 10,
        }
    }

    fn cc(secret: &str) -> Credentials {
        Credentials::ClientCredentials {
            client_id: "3MVG9".into(),
            client_secret: SecretString::new(secret.to_string()),
        }
    }

    #[test]
    fn a_connection_is_the_same_until_a_setting_or_a_credential_changes() {
        let a = conn(cc("s1"));
        assert!(a.same_as(&conn(cc("s1"))));
        assert!(!a.same_as(&conn(cc("s2"))), "a rotated secret");
        let mut budget = conn(cc("s1"));
        budget.max_concurrent_calls = 8;
        assert!(!a.same_as(&budget));
        let jwt = conn(Credentials::JwtBearer {
            client_id: "3MVG9".into(),
            username: "integration@acme.com".into(),
            private_key_pem: SecretString::new("pem".to_string()),
        });
        assert!(!a.same_as(&jwt), "another flow");
    }
}
