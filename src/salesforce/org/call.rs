//! One call to the org's API, as every operation makes it: the SOAP envelope or REST request with
//! the session's token, the send through the hardened transport, the usage header noted, the
//! answer classified and, on an invalid session, one retry with a new token. Also the read of one
//! component by name that several operations share. The caller of a call holds an in-flight
//! permit from the org's budget for it.

use std::sync::Arc;

use roxmltree::Node;
use url::Url;

use super::budget::{Budget, ReadPriority};
use super::classify::{classify_rest, classify_soap, response_node};
use super::endpoint::Endpoint;
use super::session::Session;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::{soap, transport, xml};

/// What every operation on one org goes through.
pub struct Caller {
    pub endpoint: Arc<Endpoint>,
    pub budget: Budget,
    pub session: Session,
}

impl Caller {
    pub fn new(endpoint: Arc<Endpoint>) -> Self {
        let conn = &endpoint.conn;
        Caller {
            budget: Budget::new(
                endpoint.key.clone(),
                conn.max_concurrent_calls,
                conn.reserve_percent,
                endpoint.opts.quota_backoff,
            ),
            session: Session::new(endpoint.clone()),
            endpoint,
        }
    }

    fn soap_url(&self) -> Result<Url, SalesforceError> {
        let v = &self.endpoint.conn.api_version;
        if !v.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
        }) {
            return Err(SalesforceError::Config {
                reason: format!("API version '{v}' is not of the form NN.N"),
            });
        }
        self.endpoint.url(&format!("/services/Soap/m/{v}"), "SOAP")
    }

    /// The SOAP exchange of [`Self::metadata_call`]: the response text once it is known to be a
    /// well-formed SOAP response without a fault.
    async fn soap(
        &self,
        op: &'static str,
        metadata_type: &'static str,
        count: usize,
        body: &str,
    ) -> Result<String, SalesforceError> {
        let url = self.soap_url()?;
        let ep = &self.endpoint;
        self.session
            .authed(op, Some(metadata_type), count, |tok| {
                let url = url.clone();
                let envelope = soap::envelope(&tok, body);
                async move {
                    let req = ep
                        .http
                        .post(url.clone())
                        .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
                        .header("SOAPAction", format!("\"{op}\""))
                        .body(envelope);
                    let raw = transport::send(op, &ep.opts, &url, req, ep.opts.max_response_bytes)
                        .await?;
                    self.budget.note_usage(raw.limit_info);
                    classify_soap(&self.budget, op, &url, raw)
                }
            })
            .await
    }

    /// One Metadata API call (caller holds a permit): [`Self::soap`], then `read` on the
    /// `<{op}Response>` element.
    pub async fn metadata_call<R>(
        &self,
        op: &'static str,
        metadata_type: &'static str,
        count: usize,
        body: &str,
        read: impl FnOnce(Node<'_, '_>) -> Result<R, SalesforceError>,
    ) -> Result<R, SalesforceError> {
        let text = self.soap(op, metadata_type, count, body).await?;
        let doc = xml::parse(op, &text)?;
        read(response_node(op, &doc)?)
    }

    /// Reads one component by name (`readMetadata`, not coalesced); `None` when it does not
    /// exist.
    pub async fn read_one<T>(
        &self,
        metadata_type: &'static str,
        name: &str,
        priority: ReadPriority,
        parse: fn(Node<'_, '_>) -> Result<T, String>,
    ) -> Result<Option<T>, SalesforceError> {
        let op = "readMetadata";
        self.budget.admit(op, priority)?;
        let _permit = self.budget.permit().await?;
        let body = soap::read_body(metadata_type, &[name]);
        self.metadata_call(op, metadata_type, 1, &body, |resp| {
            for rec in soap::read_records(resp, metadata_type) {
                if xml::child_text(rec, "fullName").as_deref() == Some(name) {
                    return parse(rec).map(Some).map_err(|e| {
                        SalesforceError::protocol(op, format!("{metadata_type} '{name}': {e}"))
                    });
                }
            }
            Ok(None)
        })
        .await
    }

    /// The `fullName` of the record `readMetadata` returns for `name`, whatever its case (`None`:
    /// no record): whether the org matches names regardless of case.
    pub async fn read_full_name(
        &self,
        metadata_type: &'static str,
        name: &str,
        priority: ReadPriority,
    ) -> Result<Option<String>, SalesforceError> {
        let op = "readMetadata";
        self.budget.admit(op, priority)?;
        let _permit = self.budget.permit().await?;
        let body = soap::read_body(metadata_type, &[name]);
        self.metadata_call(op, metadata_type, 1, &body, |resp| {
            Ok(soap::read_records(resp, metadata_type)
                .into_iter()
                .filter_map(|rec| xml::child_text(rec, "fullName"))
                .find(|n| n.eq_ignore_ascii_case(name)))
        })
        .await
    }

    /// `GET url` with the session's token, accepting JSON (caller holds a permit).
    pub async fn rest_get(&self, op: &'static str, url: &Url) -> Result<String, SalesforceError> {
        self.rest(op, reqwest::Method::GET, url).await
    }

    /// A REST call with the session's token, accepting JSON (caller holds a permit); a 204 is
    /// an empty body.
    pub async fn rest(
        &self,
        op: &'static str,
        method: reqwest::Method,
        url: &Url,
    ) -> Result<String, SalesforceError> {
        let ep = &self.endpoint;
        self.session
            .authed(op, None, 0, |tok| {
                let url = url.clone();
                let method = method.clone();
                async move {
                    let req = ep
                        .http
                        .request(method, url.clone())
                        .header(
                            reqwest::header::AUTHORIZATION,
                            format!("Bearer {}", tok.expose()),
                        )
                        .header(reqwest::header::ACCEPT, "application/json");
                    let raw = transport::send(op, &ep.opts, &url, req, ep.opts.max_response_bytes)
                        .await?;
                    self.budget.note_usage(raw.limit_info);
                    classify_rest(&self.budget, op, &url, raw)
                }
            })
            .await
    }
}
