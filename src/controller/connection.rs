//! From a `SalesforceOrg` and its Secret to the settings of a Salesforce connection: URLs checked
//! against the allow-list, the credentials read and the private key parsed, so a bad Secret is
//! reported on the org by name before any call is made.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use crate::api::SalesforceOrg;
use crate::error::ConnectError;
use crate::salesforce::{self, ClientOptions, Credentials, OrgConnection, SecretString};

/// The connection `org` describes, reading its Secret.
pub async fn connection(
    client: &Client,
    org: &SalesforceOrg,
    opts: &ClientOptions,
) -> Result<OrgConnection, ConnectError> {
    let ns = org.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    connection_with(org, opts, |name| {
        let (secrets, ns) = (&secrets, &ns);
        async move { read_secret(secrets, ns, &name).await }
    })
    .await
}

/// The connection `org` describes, with its Secret from `secret` (by name): the cluster's, or
/// the file `sso-operator check-org` was given.
pub async fn connection_with<F, Fut>(
    org: &SalesforceOrg,
    opts: &ClientOptions,
    secret: F,
) -> Result<OrgConnection, ConnectError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Secret, ConnectError>>,
{
    let spec = &org.spec;
    let instance_url = checked_url("instanceUrl", &spec.instance_url, opts)?;
    let login_url = checked_url("login.url", &spec.login.url, opts)?;
    let credentials = if let Some(jwt) = &spec.auth.jwt_bearer {
        let secret = secret(jwt.private_key_secret_ref.name.clone()).await?;
        let key = &jwt.private_key_secret_ref.key;
        let pem = secret_value(&secret, key)?;
        salesforce::parse_private_key(&pem).map_err(|e| ConnectError::KeyInvalid {
            secret: secret.name_any(),
            key: key.clone(),
            reason: e.to_string(),
        })?;
        Credentials::JwtBearer {
            client_id: jwt.client_id.clone(),
            username: jwt.username.clone(),
            private_key_pem: SecretString::new(pem),
        }
    } else if let Some(cc) = &spec.auth.client_credentials {
        let secret = secret(cc.secret_ref.name.clone()).await?;
        Credentials::ClientCredentials {
            client_id: secret_value(&secret, "client-id")?.trim().to_string(),
            client_secret: SecretString::new(
                secret_value(&secret, "client-secret")?.trim().to_string(),
            ),
        }
    } else {
        return Err(ConnectError::NoAuthMethod);
    };
    Ok(OrgConnection {
        instance_url,
        login_url,
        audience: spec.login.audience.clone(),
        api_version: spec.api_version.clone(),
        credentials,
        max_concurrent_calls: spec.api_budget.max_concurrent_calls,
        reserve_percent: spec.api_budget.reserve_percent,
    })
}

/// `raw` parsed and allowed by the SSRF policy.
fn checked_url(
    field: &'static str,
    raw: &str,
    opts: &ClientOptions,
) -> Result<url::Url, ConnectError> {
    let u = url::Url::parse(raw).map_err(|e| ConnectError::NotAUrl {
        field,
        value: raw.to_string(),
        reason: e.to_string(),
    })?;
    salesforce::validate_url(&u, opts).map_err(|e| ConnectError::UrlNotAllowed {
        field,
        reason: e.to_string(),
    })?;
    Ok(u)
}

async fn read_secret(api: &Api<Secret>, ns: &str, name: &str) -> Result<Secret, ConnectError> {
    match api.get_opt(name).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(ConnectError::SecretNotFound {
            namespace: ns.to_string(),
            name: name.to_string(),
        }),
        Err(e) => Err(ConnectError::ReadSecret {
            name: name.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The text under `key` in `secret`.
fn secret_value(secret: &Secret, key: &str) -> Result<String, ConnectError> {
    let name = secret.name_any();
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .ok_or_else(|| ConnectError::KeyNotFound {
            secret: name.clone(),
            key: key.to_string(),
        })?;
    String::from_utf8(bytes).map_err(|_| ConnectError::KeyNotText {
        secret: name,
        key: key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kube::api::ObjectMeta;

    fn secret(data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("creds".into()),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_or_binary_key_names_the_secret_and_the_key() {
        let s = secret(&[("tls.key", b"pem"), ("bin", &[0xff, 0xfe])]);
        assert_eq!(secret_value(&s, "tls.key").unwrap(), "pem");
        let missing = secret_value(&s, "client-id").unwrap_err();
        assert_eq!(missing.to_string(), "Secret creds has no key \"client-id\"");
        assert_eq!(missing.reason(), "KeyNotFound");
        let binary = secret_value(&s, "bin").unwrap_err();
        assert_eq!(binary.reason(), "KeyInvalid");
    }

    #[test]
    fn urls_must_parse_and_pass_the_allow_list() {
        let opts = ClientOptions::default();
        let bad = checked_url("instanceUrl", "not a url", &opts).unwrap_err();
        assert_eq!(bad.reason(), "UrlNotAllowed");
        assert!(bad.to_string().starts_with("instanceUrl \"not a url\""));
        let foreign = checked_url("instanceUrl", "https://example.com", &opts).unwrap_err();
        assert_eq!(foreign.reason(), "UrlNotAllowed");
        assert!(checked_url("instanceUrl", "https://acme.my.salesforce.com", &opts).is_ok());
    }
}
