//! The SSRF allow-list (limits-faults-security.md §4.4).
//!
//! Every URL the client is about to send a request to passes through [`validate_url`] first, and
//! redirects are disabled, so a host outside the list is refused before any connection is opened.
//! By default only Salesforce My Domain hosts and the two generic login hosts pass; operators widen
//! the list with `--allow-host host[:port]` (the simulator, a proxy, Gov Cloud suffixes).

use std::net::IpAddr;

use url::{Host, Url};

use super::error::SalesforceError;
use super::options::ClientOptions;

/// Optional partitions between the My Domain name and `my.salesforce.com`.
const MY_DOMAIN_SUFFIXES: &[&str] = &[
    "my.salesforce.com",
    "sandbox.my.salesforce.com",
    "develop.my.salesforce.com",
    "scratch.my.salesforce.com",
    "demo.my.salesforce.com",
    "free.my.salesforce.com",
    "trailblaze.my.salesforce.com",
];

/// Generic login hosts for the JWT bearer token endpoint.
const LOGIN_HOSTS: &[&str] = &["login.salesforce.com", "test.salesforce.com"];

fn refused(url: &Url, reason: impl Into<String>) -> SalesforceError {
    // Print the URL without userinfo: a URL with a password in it is one reason for refusal.
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    SalesforceError::UrlRefused {
        url: shown.to_string(),
        reason: reason.into(),
    }
}

/// One `--allow-host` entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: String,
    /// `None` means the default port 443 only.
    port: Option<u16>,
}

fn parse_entry(raw: &str) -> Option<AllowEntry> {
    let raw = raw.trim().to_ascii_lowercase();
    if raw.is_empty() {
        return None;
    }
    // Bracketed IPv6 with or without port: "[::1]:8443", "[::1]".
    if let Some(rest) = raw.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some(AllowEntry {
            host: host.to_string(),
            port,
        });
    }
    match raw.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some(AllowEntry {
            host: host.to_string(),
            port: Some(port.parse().ok()?),
        }),
        _ => Some(AllowEntry {
            host: raw.clone(),
            port: None,
        }),
    }
}

/// Checks one allow-list entry for syntax; used when the operator starts.
pub fn validate_allow_entry(raw: &str) -> Result<(), SalesforceError> {
    match parse_entry(raw) {
        Some(e) if !e.host.is_empty() => Ok(()),
        _ => Err(SalesforceError::Config {
            reason: format!("--allow-host entry '{raw}' is not 'host' or 'host:port'"),
        }),
    }
}

fn is_my_domain(host: &str) -> bool {
    MY_DOMAIN_SUFFIXES.iter().any(|suffix| {
        host.strip_suffix(suffix)
            .and_then(|h| h.strip_suffix('.'))
            .is_some_and(is_plain_label)
    })
}

/// A single DNS label of lower-case letters, digits and hyphens, not starting or ending with a
/// hyphen and not an IDN (`xn--`) label, which could be a look-alike. `--` inside is allowed:
/// sandboxes are `name--sbx`.
fn is_plain_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && !label.starts_with("xn--")
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Validates a URL before any request: https only, no userinfo, no IP literal (unless
/// allow-listed exactly), port 443 (unless the allow-list entry names the port), and a host that
/// is a Salesforce My Domain, a login host, or an `--allow-host` entry.
pub fn validate_url(url: &Url, opts: &ClientOptions) -> Result<(), SalesforceError> {
    if url.scheme() != "https" {
        return Err(refused(url, "only https is allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(url, "user info in the URL is not allowed"));
    }
    let host = url.host().ok_or_else(|| refused(url, "no host"))?;
    // `port()` is None when the URL uses the scheme's default, i.e. 443.
    let port = url.port();
    let host_str = match &host {
        Host::Domain(d) => d.to_string(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };

    // An explicit allow-list entry is checked first: it is the operator's decision.
    let allowed_by_flag = opts
        .allow_hosts
        .iter()
        .filter_map(|e| parse_entry(e))
        .any(|e| {
            let host_ok = match e.host.parse::<IpAddr>() {
                Ok(ip) => match &host {
                    Host::Ipv4(h) => IpAddr::V4(*h) == ip,
                    Host::Ipv6(h) => IpAddr::V6(*h) == ip,
                    Host::Domain(_) => false,
                },
                Err(_) => match e.host.strip_prefix("*.") {
                    Some(suffix) => host_str
                        .strip_suffix(suffix)
                        .and_then(|p| p.strip_suffix('.'))
                        .is_some_and(is_plain_label),
                    None => e.host == host_str,
                },
            };
            host_ok && port == e.port
        });
    if allowed_by_flag {
        return Ok(());
    }

    if !matches!(host, Host::Domain(_)) {
        return Err(refused(
            url,
            "IP address literals are not allowed (add it with --allow-host if intended)",
        ));
    }
    if port.is_some() {
        return Err(refused(
            url,
            "only port 443 is allowed (add host:port with --allow-host if intended)",
        ));
    }
    if host_str.ends_with('.') {
        return Err(refused(
            url,
            "host names with a trailing dot are not allowed",
        ));
    }
    if is_my_domain(&host_str) || LOGIN_HOSTS.contains(&host_str.as_str()) {
        return Ok(());
    }
    Err(refused(
        url,
        "host is not a Salesforce My Domain or login host and is not in --allow-host",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(allow: &[&str]) -> ClientOptions {
        ClientOptions {
            allow_hosts: allow.iter().map(|s| s.to_string()).collect(),
            ..ClientOptions::default()
        }
    }

    fn check(u: &str, o: &ClientOptions) -> Result<(), SalesforceError> {
        validate_url(&Url::parse(u).unwrap(), o)
    }

    #[test]
    fn accepts_salesforce_hosts() {
        let o = opts(&[]);
        for u in [
            "https://acme.my.salesforce.com/services/Soap/m/63.0",
            "https://acme--uat.sandbox.my.salesforce.com/",
            "https://acme-dev-ed.develop.my.salesforce.com/.well-known/samlidp.xml",
            "https://login.salesforce.com/services/oauth2/token",
            "https://test.salesforce.com/services/oauth2/token",
            "https://acme.my.salesforce.com:443/",
        ] {
            check(u, &o).unwrap_or_else(|e| panic!("{u}: {e}"));
        }
    }

    #[test]
    fn refuses_bad_input_catalogue() {
        let o = opts(&[]);
        for u in [
            "http://acme.my.salesforce.com/",
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://[::1]/",
            "https://localhost/",
            "https://169.254.169.254/latest/meta-data",
            "https://user@acme.my.salesforce.com/",
            "https://user:pw@acme.my.salesforce.com/",
            "https://acme.my.salesforce.com:8443/",
            "https://evil.com/.my.salesforce.com",
            "https://x.my.salesforce.com.evil.com/",
            "https://acme.my.salesforce.com./",
            "https://xn--acme-9ua.my.salesforce.com/",
            "https://a.b.my.salesforce.com/",
            "https://.my.salesforce.com/",
            "https://evilmy.salesforce.com/",
            "https://acme.my.salesforce.mil/",
        ] {
            let e = check(u, &o).expect_err(u);
            assert_eq!(
                e.kind(),
                crate::salesforce::error::ErrorKind::Invalid,
                "{u}"
            );
        }
    }

    #[test]
    fn refused_url_does_not_echo_password() {
        let e = check("https://user:s3cr3t@acme.my.salesforce.com/", &opts(&[])).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn allow_host_entries_are_exact_on_port() {
        let o = opts(&["localhost:8443", "127.0.0.1:9000", "proxy.corp.example"]);
        check("https://localhost:8443/x", &o).unwrap();
        check("https://127.0.0.1:9000/x", &o).unwrap();
        check("https://proxy.corp.example/x", &o).unwrap();
        check("https://localhost:8444/x", &o).unwrap_err();
        check("https://localhost/x", &o).unwrap_err();
        check("https://127.0.0.1:9001/x", &o).unwrap_err();
        check("https://proxy.corp.example:8443/x", &o).unwrap_err();
        check("http://localhost:8443/x", &o).unwrap_err();
    }

    #[test]
    fn allow_host_wildcard_matches_one_label() {
        let o = opts(&["*.my.salesforce.mil"]);
        check("https://acme.my.salesforce.mil/", &o).unwrap();
        check("https://a.b.my.salesforce.mil/", &o).unwrap_err();
    }

    #[test]
    fn allow_entry_syntax() {
        validate_allow_entry("localhost:8443").unwrap();
        validate_allow_entry("[::1]:8443").unwrap();
        validate_allow_entry("host:notaport").unwrap_err();
        validate_allow_entry("").unwrap_err();
    }
}
