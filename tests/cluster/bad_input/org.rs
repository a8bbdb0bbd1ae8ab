//! Bad `SalesforceOrg`s: URLs the operator must not call (literal IPs, odd ports, look-alike
//! hosts, user info) and credentials it cannot use (missing Secret or key, keys it must refuse,
//! a key, user or consumer Salesforce refuses). Each case is an org of its own with its Secret
//! and an app: the org reports the reason, the app `OrgNotReady`, nothing is written.

use super::{Case, Expect, app_yaml, run};
use crate::common::e2e::{self, Env, OrgSeed, client_credentials_auth, jwt_auth};
use crate::common::keys;

/// How a case's org differs from a good one (the environment's simulated org, JWT bearer as
/// the integration user with the registered key in Secret `s<i>`).
#[derive(Default)]
struct OrgInput {
    instance: Option<&'static str>,
    login: Option<&'static str>,
    /// The Secret's (key, value); `None`: no Secret at all.
    secret: Option<(&'static str, String)>,
    /// `auth:` with `SECRET` standing for the Secret's name.
    auth: Option<String>,
}

/// Case `i`: Secret `s<i>`, org `o<i>` and its app `a<i>` (`Org_Case_<i>`).
fn org_case(i: usize, name: &str, input: OrgInput, base: &str, expect: Expect) -> Case {
    let (org, secret) = (format!("o{i}"), format!("s{i}"));
    let mut yaml = String::new();
    if let Some((key, value)) = &input.secret {
        yaml.push_str(&e2e::secret(&secret, &[(key, value)]));
        yaml.push_str("---\n");
    }
    let auth = input
        .auth
        .unwrap_or_else(|| jwt_auth("SECRET", "tls.key", e2e::USERNAME, e2e::JWT_CLIENT));
    yaml.push_str(&e2e::org_manifest(
        &org,
        input.instance.unwrap_or(base),
        input.login.unwrap_or(base),
        &auth.replace("SECRET", &secret),
    ));
    yaml.push_str("---\n");
    let api_name = format!("Org_Case_{i}");
    yaml.push_str(&app_yaml(&format!("a{i}"), &api_name, &org));
    Case {
        name: format!("org: {name}"),
        yaml,
        app: format!("a{i}"),
        api_name,
        org,
        expect,
        writes: 0,
    }
}

/// URLs refused before any connection (`UrlNotAllowed`), with the registered key.
fn url_cases(base: &str, key: &str) -> Vec<Case> {
    let ip = "IP address literals are not allowed";
    let host = "host is not a Salesforce My Domain or login host";
    let port = "only port 443 is allowed";
    let secret = || Some(("tls.key", key.to_owned()));
    let instance = |url| OrgInput {
        instance: Some(url),
        secret: secret(),
        ..OrgInput::default()
    };
    let login = |url| OrgInput {
        login: Some(url),
        secret: secret(),
        ..OrgInput::default()
    };
    let table = [
        (
            "instanceUrl IPv4 literal",
            instance("https://127.0.0.1"),
            ip,
        ),
        ("instanceUrl IPv6 literal", instance("https://[::1]"), ip),
        (
            "instanceUrl decimal IP 2130706433",
            instance("https://2130706433"),
            ip,
        ),
        (
            "instanceUrl octal IP 0177.0.0.1",
            instance("https://0177.0.0.1"),
            ip,
        ),
        (
            "instanceUrl hex IP 0x7f000001",
            instance("https://0x7f000001"),
            ip,
        ),
        (
            "instanceUrl cloud metadata 169.254.169.254",
            instance("https://169.254.169.254"),
            ip,
        ),
        (
            "instanceUrl odd port 8443",
            instance("https://acme.my.salesforce.com:8443"),
            port,
        ),
        (
            "instanceUrl simulator host on port 443 (only its port is allowed)",
            instance("https://localhost"),
            host,
        ),
        (
            "instanceUrl look-alike acme.my.salesforce.com.evil.com",
            instance("https://acme.my.salesforce.com.evil.com"),
            host,
        ),
        (
            "instanceUrl outside the allow-list example.com",
            instance("https://example.com"),
            host,
        ),
        (
            "instanceUrl punycode look-alike",
            instance("https://xn--acm-8na.my.salesforce.com"),
            host,
        ),
        (
            "instanceUrl trailing dot",
            instance("https://acme.my.salesforce.com."),
            "trailing dot",
        ),
        (
            "login.url look-alike path evil.com/.my.salesforce.com",
            login("https://evil.com/.my.salesforce.com"),
            host,
        ),
        (
            "login.url userinfo",
            login("https://user:pw@login.salesforce.com"),
            "user info in the URL is not allowed",
        ),
        ("login.url IP literal", login("https://10.0.0.1"), ip),
    ];
    let cases = table
        .into_iter()
        .enumerate()
        .map(|(i, (name, input, needle))| {
            org_case(i, name, input, base, Expect::Org("UrlNotAllowed", needle))
        });
    cases.collect()
}

/// An org whose Secret holds `value` under `key`.
fn with_secret(key: &'static str, value: String) -> OrgInput {
    OrgInput {
        secret: Some((key, value)),
        ..OrgInput::default()
    }
}

/// An org whose Secret holds `pem` as its JWT key.
fn with_key(pem: String) -> OrgInput {
    with_secret("tls.key", pem)
}

/// An org with the registered `key`, authenticating as `username` through `client`.
fn jwt_as(key: &str, username: &str, client: &str) -> OrgInput {
    OrgInput {
        auth: Some(jwt_auth("SECRET", "tls.key", username, client)),
        ..with_key(key.to_owned())
    }
}

/// A client-credentials org whose Secret has `client-id` but no `client-secret`.
fn cc_without_client_secret() -> OrgInput {
    OrgInput {
        auth: Some(client_credentials_auth("SECRET")),
        ..with_secret("client-id", e2e::JWT_CLIENT.to_owned())
    }
}

/// Secrets and keys the operator cannot use, and identities Salesforce refuses.
fn credential_cases(base: &str, key: &str) -> Vec<Case> {
    let not_registered = e2e::rsa_key_pair("not-registered").key_pem;
    let cert_only = e2e::rsa_key_pair("cert-only").cert_pem;
    let table = [
        (
            "Secret missing",
            OrgInput::default(),
            "SecretNotFound",
            "does not exist",
        ),
        (
            "Secret with the wrong key name",
            with_secret("private.key", key.to_owned()),
            "KeyNotFound",
            "has no key \"tls.key\"",
        ),
        (
            "key not PEM",
            with_key("this is not a key".into()),
            "KeyInvalid",
            "no PEM private key found",
        ),
        (
            "a certificate instead of a key",
            with_key(cert_only),
            "KeyInvalid",
            "no PEM private key found",
        ),
        (
            "encrypted PKCS#8 key",
            with_key(keys::encrypted_pkcs8()),
            "KeyInvalid",
            "encrypted",
        ),
        (
            "encrypted legacy PEM key",
            with_key(keys::encrypted_legacy()),
            "KeyInvalid",
            "encrypted",
        ),
        (
            "EC key (SEC1)",
            with_key(keys::ec_sec1()),
            "KeyInvalid",
            "EC key",
        ),
        (
            "EC key (PKCS#8)",
            with_key(keys::ec_pkcs8()),
            "KeyInvalid",
            "EC key",
        ),
        (
            "Ed25519 key",
            with_key(keys::ed25519()),
            "KeyInvalid",
            "Ed25519",
        ),
        (
            "RSA 1024-bit key",
            with_key(keys::rsa_1024()),
            "KeyInvalid",
            "1024 bits",
        ),
        (
            "RSA key not matching the registered certificate",
            with_key(not_registered),
            "AuthenticationFailed",
            "invalid assertion",
        ),
        (
            "unknown username",
            jwt_as(key, "nobody@acme.com", e2e::JWT_CLIENT),
            "AuthenticationFailed",
            "user hasn't approved this consumer",
        ),
        (
            "unknown consumer key",
            jwt_as(key, e2e::USERNAME, "3MVG9UNKNOWN"),
            "AuthenticationFailed",
            "client identifier invalid",
        ),
        (
            "client credentials Secret without client-secret",
            cc_without_client_secret(),
            "KeyNotFound",
            "client-secret",
        ),
    ];
    let cases = table
        .into_iter()
        .enumerate()
        .map(|(i, (name, input, reason, needle))| {
            org_case(i, name, input, base, Expect::Org(reason, needle))
        });
    cases.collect()
}

#[tokio::test]
async fn k8s_bad_input_org_urls() {
    let env = Env::start("bad-org-url", OrgSeed::default()).await;
    let cases = url_cases(&env.sim.url, &env.sim.key.key_pem);
    assert!(cases.len() >= 15, "at least 15 cases");
    run(&env, &cases).await;
}

#[tokio::test]
async fn k8s_bad_input_org_credentials() {
    let env = Env::start("bad-org-key", OrgSeed::default()).await;
    let cases = credential_cases(&env.sim.url, &env.sim.key.key_pem);
    assert!(cases.len() >= 14, "at least 14 cases");
    run(&env, &cases).await;
}
