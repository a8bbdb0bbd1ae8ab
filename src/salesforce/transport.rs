//! One HTTP exchange with the allow-list checked first, redirects off, a whole-call deadline and a
//! response size cap.

use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

use super::error::SalesforceError;
use super::options::ClientOptions;
use super::url_policy::validate_url;

/// Cap for IdP metadata documents.
pub const MAX_METADATA_BODY: usize = 1024 * 1024;
/// Cap for token responses (a few hundred bytes in practice).
pub const MAX_TOKEN_BODY: usize = 64 * 1024;

/// Idle connections kept per host (one org's My Domain) between calls.
const IDLE_CONNECTIONS_PER_HOST: usize = 4;

pub fn build_http_client(opts: &ClientOptions) -> Result<reqwest::Client, SalesforceError> {
    let mut b = reqwest::Client::builder()
        // A redirect could lead off the allow-list; Salesforce APIs do not redirect, so any 3xx
        // is reported instead of followed.
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        // Proxies from the environment would make the egress path depend on env vars the
        // allow-list cannot see; a proxy is trusted only through --allow-host + CA file.
        .no_proxy()
        // A burst (a converge, the daily sweep) opens up to about a dozen connections per org;
        // keeping them all idle between refresh ticks holds their TLS buffers for nothing. The
        // default budget allows 2 calls in flight per org, plus a token or a download.
        .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_HOST)
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.call_timeout)
        .user_agent(concat!("sso-operator/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &opts.extra_ca_pem {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|e| SalesforceError::Config {
                reason: format!("CA file is not a PEM certificate bundle: {e}"),
            })?;
        if certs.is_empty() {
            return Err(SalesforceError::Config {
                reason: "CA file contains no certificates".into(),
            });
        }
        b = b.tls_certs_only(certs);
    }
    b.build().map_err(|e| SalesforceError::Config {
        reason: format!("cannot build the HTTPS client: {e}"),
    })
}

/// A response read in full, within the cap.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub body: String,
    /// `api-usage=<used>/<limit>` from `Sforce-Limit-Info`.
    pub limit_info: Option<(u64, u64)>,
    pub content_type: String,
}

pub fn host_of(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    }
}

fn describe(e: &reqwest::Error) -> String {
    // The chain tells connect refused from reset from TLS failure; the URL is already in our own
    // message, so drop it from the reqwest text.
    let mut parts = Vec::new();
    if e.is_timeout() {
        parts.push("timed out".to_string());
    } else if e.is_connect() {
        parts.push("connect failed".to_string());
    } else if e.is_body() || e.is_decode() {
        parts.push("response body truncated or unreadable".to_string());
    }
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    if parts.is_empty() {
        parts.push("request failed".to_string());
    }
    parts.join(": ")
}

pub fn parse_limit_header(headers: &HeaderMap) -> Option<(u64, u64)> {
    let v = headers.get("sforce-limit-info")?.to_str().ok()?;
    for part in v.split(';') {
        if let Some(rest) = part.trim().strip_prefix("api-usage=") {
            let (used, limit) = rest.split_once('/')?;
            return Some((used.trim().parse().ok()?, limit.trim().parse().ok()?));
        }
    }
    None
}

/// Sends `req` (built for `url`) after checking `url` against the allow-list, and reads the body
/// up to `cap` bytes.
pub async fn send(
    operation: &'static str,
    opts: &ClientOptions,
    url: &Url,
    req: reqwest::RequestBuilder,
    cap: usize,
) -> Result<Raw, SalesforceError> {
    validate_url(url, opts)?;
    let host = host_of(url);
    let net = |reason: String| SalesforceError::Network {
        operation,
        host: host.clone(),
        reason,
    };
    // reqwest's timeout covers the body too; the outer deadline is a backstop with a little slack
    // so that reqwest's more precise error wins when both fire.
    let deadline = opts.call_timeout + Duration::from_secs(1);
    let fut = async {
        let mut resp = req.send().await.map_err(|e| net(describe(&e)))?;
        let status = resp.status().as_u16();
        let limit_info = parse_limit_header(resp.headers());
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(len) = resp.content_length()
            && len > cap as u64
        {
            return Err(SalesforceError::protocol(
                operation,
                format!("response of {len} bytes exceeds the {cap}-byte cap"),
            ));
        }
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| net(describe(&e)))? {
            if buf.len() + chunk.len() > cap {
                return Err(SalesforceError::protocol(
                    operation,
                    format!("response exceeds the {cap}-byte cap"),
                ));
            }
            buf.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(buf)
            .map_err(|_| SalesforceError::protocol(operation, "response body is not UTF-8"))?;
        Ok(Raw {
            status,
            body,
            limit_info,
            content_type,
        })
    };
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(net(format!(
            "no complete response within {}s",
            deadline.as_secs()
        ))),
    }
}

/// A short, printable excerpt of an unexpected body for error messages.
pub fn snippet(body: &str) -> String {
    let s: String = body
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(160)
        .collect();
    if s.is_empty() {
        "(empty body)".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sforce_limit_info() {
        let mut h = HeaderMap::new();
        h.insert(
            "Sforce-Limit-Info",
            "api-usage=10018/100000; api-bursts=1/750".parse().unwrap(),
        );
        assert_eq!(parse_limit_header(&h), Some((10018, 100000)));
        h.insert("Sforce-Limit-Info", "api-bursts=1/750".parse().unwrap());
        assert_eq!(parse_limit_header(&h), None);
    }

    #[tokio::test]
    async fn refuses_off_list_host_before_connecting() {
        let opts = ClientOptions::default();
        let http = build_http_client(&opts).unwrap();
        // 127.0.0.1:9 would refuse the connection; the point is that we never get that far.
        let url = Url::parse("https://127.0.0.1:9/services/oauth2/token").unwrap();
        let e = send("token", &opts, &url, http.post(url.clone()), 10)
            .await
            .unwrap_err();
        assert!(matches!(e, SalesforceError::UrlRefused { .. }), "{e}");
    }
}
