//! Minting access tokens: OAuth 2.0 JWT bearer and client credentials.
//!
//! The assertion, the secret and the token are only ever held in [`SecretString`] or in the
//! request body; nothing here logs them.

use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use url::Url;

use super::connection::{Credentials, OrgConnection};
use super::error::SalesforceError;
use super::options::ClientOptions;
use super::secret::{RsaSigningKey, SecretString};
use super::transport::{self, MAX_TOKEN_BODY};

/// Assertion lifetime. Salesforce wants `exp` within about 3 minutes.
const ASSERTION_TTL_SECS: i64 = 180;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Who the token belongs to, from the token response's `id` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub org_id: String,
    pub user_id: String,
}

pub struct Minted {
    pub access_token: SecretString,
    pub identity: Identity,
}

pub fn token_url(base: &Url) -> Result<Url, SalesforceError> {
    base.join("/services/oauth2/token")
        .map_err(|e| SalesforceError::Config {
            reason: format!("cannot build the token URL from {base}: {e}"),
        })
}

/// `https://login.salesforce.com/id/00D.../005...` -> (org, user).
fn identity_from_id(id: Option<&str>) -> Identity {
    let mut parts = id
        .unwrap_or("")
        .trim_end_matches('/')
        .rsplit('/')
        .map(str::to_string);
    let user_id = parts.next().unwrap_or_default();
    let org_id = parts.next().unwrap_or_default();
    Identity { org_id, user_id }
}

pub fn assertion(
    key: &RsaSigningKey,
    client_id: &str,
    username: &str,
    audience: &str,
) -> Result<SecretString, SalesforceError> {
    let claims = Claims {
        iss: client_id,
        sub: username,
        aud: audience,
        exp: jiff::Timestamp::now().as_second() + ASSERTION_TTL_SECS,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key.encoding_key())
        .map(SecretString::new)
        .map_err(|_| SalesforceError::KeyInvalid {
            reason: "signing the JWT assertion failed".into(),
        })
}

pub async fn mint(
    http: &reqwest::Client,
    opts: &ClientOptions,
    conn: &OrgConnection,
    signing_key: Option<&RsaSigningKey>,
) -> Result<Minted, SalesforceError> {
    let flow = conn.credentials.flow();
    let (url, form): (Url, Vec<(&str, SecretString)>) = match &conn.credentials {
        Credentials::JwtBearer {
            client_id,
            username,
            ..
        } => {
            let key = signing_key.ok_or_else(|| SalesforceError::KeyInvalid {
                reason: "no usable private key".into(),
            })?;
            let a = assertion(key, client_id, username, &conn.audience)?;
            (
                token_url(&conn.login_url)?,
                vec![
                    (
                        "grant_type",
                        SecretString::new("urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ),
                    ("assertion", a),
                ],
            )
        }
        Credentials::ClientCredentials {
            client_id,
            client_secret,
        } => (
            // Client credentials only work on the My Domain host.
            token_url(&conn.instance_url)?,
            vec![
                ("grant_type", SecretString::new("client_credentials")),
                ("client_id", SecretString::new(client_id.clone())),
                ("client_secret", client_secret.clone()),
            ],
        ),
    };
    // Form body, never the query string: query strings end up in access logs.
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.expose())).collect();
    let req = http
        .post(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&pairs);
    let raw = transport::send("token", opts, &url, req, MAX_TOKEN_BODY).await?;
    drop(pairs);
    drop(form);
    let host = transport::host_of(&url);
    if raw.status == 200 {
        let t: TokenResponse = serde_json::from_str(&raw.body).map_err(|_| {
            SalesforceError::protocol("token", "token response is not the expected JSON")
        })?;
        if t.access_token.is_empty() {
            return Err(SalesforceError::protocol(
                "token",
                "token response has an empty access_token",
            ));
        }
        return Ok(Minted {
            identity: identity_from_id(t.id.as_deref()),
            access_token: SecretString::new(t.access_token),
        });
    }
    match serde_json::from_str::<OAuthError>(&raw.body) {
        Ok(e) => Err(SalesforceError::TokenRefused {
            flow,
            host,
            status: raw.status,
            error: e.error,
            description: e.error_description,
        }),
        Err(_) if raw.status >= 500 => Err(SalesforceError::Http {
            operation: "token",
            host,
            status: raw.status,
            snippet: transport::snippet(&raw.body),
        }),
        Err(_) => Err(SalesforceError::protocol(
            "token",
            format!(
                "HTTP {} from {host} without an OAuth error body",
                raw.status
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_taken_from_the_id_url() {
        let i = identity_from_id(Some(
            "https://login.salesforce.com/id/00D5g000000SIMUEAA/0055g000000AAAAAAA",
        ));
        assert_eq!(i.org_id, "00D5g000000SIMUEAA");
        assert_eq!(i.user_id, "0055g000000AAAAAAA");
    }

    #[test]
    fn assertion_has_the_salesforce_claims() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let key = crate::salesforce::secret::parse_private_key(&kp.serialize_pem()).unwrap();
        let a = assertion(
            &key,
            "3MVG9",
            "integration@acme.com",
            "https://login.salesforce.com",
        )
        .unwrap();
        let payload = a.expose().split('.').nth(1).unwrap();
        use base64::Engine as _;
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["iss"], "3MVG9");
        assert_eq!(json["sub"], "integration@acme.com");
        assert_eq!(json["aud"], "https://login.salesforce.com");
        let exp = json["exp"].as_i64().unwrap();
        let now = jiff::Timestamp::now().as_second();
        assert!(exp > now && exp <= now + 180);
        let header = a.expose().split('.').next().unwrap();
        let h: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(h["alg"], "RS256");
    }
}
