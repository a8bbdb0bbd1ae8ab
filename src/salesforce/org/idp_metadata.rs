//! Downloading the org's SAML IdP metadata from its own My Domain.

use std::time::Instant;

use super::OrgClient;
use super::classify::http_error;
use crate::salesforce::api_name::is_api_name;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::idp::{IdpMetadata, parse_idp_metadata};
use crate::salesforce::transport::{self, MAX_METADATA_BODY};

impl OrgClient {
    /// Fetches IdP metadata from the org's own My Domain (`/.well-known/samlidp.xml`, or
    /// `/.well-known/samlidp/<app>.xml`). Never from a URL taken from a resource.
    ///
    /// Unauthenticated and not an API call (it does not count against the daily allocation), so
    /// it neither takes an in-flight permit nor honours the quota pause; downloads have their own
    /// cap per org ([`super::METADATA_DOWNLOADS_PER_ORG`]).
    pub async fn fetch_idp_metadata(
        &self,
        app: Option<&str>,
    ) -> Result<IdpMetadata, SalesforceError> {
        let op = "fetchIdpMetadata";
        let ep = &self.caller.endpoint;
        let path = match app {
            None => "/.well-known/samlidp.xml".to_string(),
            Some(a) => {
                if !is_api_name(a) {
                    return Err(SalesforceError::Config {
                        reason: format!("'{a}' is not a valid connected app API name"),
                    });
                }
                format!("/.well-known/samlidp/{a}.xml")
            }
        };
        let url = ep.url(&path, "metadata")?;
        let _slot = self
            .downloads
            .acquire()
            .await
            .map_err(|_| SalesforceError::Config {
                reason: "org client closed".into(),
            })?;
        let started = Instant::now();
        let res = async {
            let req = ep.http.get(url.clone());
            let raw = transport::send(op, &ep.opts, &url, req, MAX_METADATA_BODY).await?;
            match raw.status {
                200 if raw.content_type.contains("html") => Err(SalesforceError::protocol(
                    op,
                    format!(
                        "got an HTML page (Content-Type {}) where SAML metadata was expected",
                        raw.content_type
                    ),
                )),
                200 => parse_idp_metadata(raw.body, jiff::Timestamp::now()),
                404 => Err(SalesforceError::NotFound {
                    operation: op,
                    what: match app {
                        Some(a) => {
                            format!("IdP metadata for app '{a}' (IdP off, app unknown or not SAML)")
                        }
                        None => "IdP metadata (identity provider not enabled)".to_string(),
                    },
                }),
                s => Err(http_error(op, &url, s, &raw.body)),
            }
        }
        .await;
        ep.observe(op, &res, started, None, 0);
        res
    }
}
