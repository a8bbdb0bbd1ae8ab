//! The bad-input catalogue (limits-faults-security.md §6.5): ONE table-driven test. Every case
//! expects either a specific admission refusal (message substring) or a specific condition reason
//! (and message substring), and that Salesforce was not written for that case's app.
//!
//! Setup is shared: group A is one namespace with one simulator, one operator and one good org
//! (`acme`); every org-level case brings its own `SalesforceOrg` (+ Secret) and an app that uses
//! it; app-level and hostile-metadata cases are apps of `acme`. Group B (a second namespace/org)
//! holds the IdP-certificate cases, which would otherwise conflict with every app of group A.
//!
//! "No Salesforce write" is checked per case as the number of write calls (create, update, upsert,
//! delete) naming the case's app in `/__sim/calls`: 0, except where Salesforce itself must see the
//! content to refuse it (unknown profile or permission set: one refused upsert, nothing created,
//! not retried). Hostile metadata cases start from a Ready app: no *extra* write, and the ConfigMap
//! keeps its last good content.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{AppOpts, Env, OrgSeed, app_manifest, unowned_app};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

enum Expect {
    /// `kubectl apply` is refused with this in the message.
    Refused(&'static str),
    /// The case's own `SalesforceOrg` gets `Ready=False` with this reason and message substring;
    /// its app reports `OrgNotReady`.
    Org(&'static str, &'static str),
    /// The case's app gets condition `type=False` with this reason and message substring.
    App(&'static str, &'static str, &'static str),
    /// Hostile IdP metadata for an app that was Ready: `MetadataPublished=False`, reason
    /// `MetadataInvalid`, this in the message; the ConfigMap is unchanged.
    Metadata(&'static str),
}

struct Case {
    name: String,
    /// What is applied (one or more YAML documents). For `Refused`, the one refused object.
    yaml: String,
    /// For `Metadata` cases: the fault rule serving the hostile document.
    fault: Option<serde_json::Value>,
    app: String,
    api_name: String,
    org: String,
    expect: Expect,
    /// Write calls allowed for the app (see the module doc).
    writes: usize,
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect::<String>()
}

fn secret_yaml(name: &str, key: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData:\n  {key}: |\n{}",
        indent(value, 4)
    )
}

fn org_yaml(name: &str, instance: &str, login: &str, auth: &str) -> String {
    format!(
        "apiVersion: sso-operator.dev/v1alpha1\nkind: SalesforceOrg\nmetadata: {{name: {name}}}\nspec:\n  instanceUrl: {instance}\n  login: {{url: {login}}}\n  auth:\n{}",
        indent(auth, 4)
    )
}

fn jwt_auth(secret: &str, key: &str, username: &str, client: &str) -> String {
    format!(
        "jwtBearer: {{clientId: {client}, username: {username}, privateKeySecretRef: {{name: {secret}, key: {key}}}}}"
    )
}

/// An app of org `org` named `name` with API name `api`, from the standard manifest.
fn app_yaml(name: &str, api: &str, org: &str) -> String {
    app_manifest(&AppOpts {
        name,
        api_name: api,
        deletion: "Orphan",
        ..Default::default()
    })
    .replace(
        &format!("orgRef: {{name: {}}}", e2e::ORG),
        &format!("orgRef: {{name: {org}}}"),
    )
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn expired_cert_b64() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "SelfSignedCert_IdP");
    p.not_before = rcgen::date_time_ymd(2019, 1, 1);
    p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let cert = p.self_signed(&key).unwrap();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(cert.der())
}

fn conditions_of(
    app: &sso_operator::api::SsoConnectedApp,
) -> Vec<(String, String, String, String)> {
    app.status
        .as_ref()
        .map(|s| {
            s.conditions
                .iter()
                .map(|c| {
                    (
                        c.type_.clone(),
                        c.status.clone(),
                        c.reason.clone(),
                        c.message.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn org_ready(env: &Env, org: &str) -> Option<(String, String, String)> {
    let o = env.orgs().get_opt(org).await.ok()??;
    o.status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status, c.reason, c.message))
}

/// Checks one runtime case once: `Ok(())` when it holds, `Err(why)` while it does not (yet).
async fn check(env: &Env, case: &Case) -> Result<(), String> {
    let app = env
        .apps()
        .get_opt(&case.app)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("app missing")?;
    let conds = conditions_of(&app);
    let find = |t: &str| conds.iter().find(|c| c.0 == t).cloned();
    match &case.expect {
        Expect::Refused(_) => Ok(()),
        Expect::Org(reason, needle) => {
            let (st, r, m) = org_ready(env, &case.org)
                .await
                .ok_or("org has no Ready condition")?;
            if st != "False" || r != *reason || !m.contains(needle) {
                return Err(format!("org Ready={st} {r}: {m}"));
            }
            // The app says OrgNotReady: with the org's reason when the org could not even be
            // built (URL, Secret, key), with Salesforce's refusal when the token request failed.
            match find("Ready") {
                Some(c) if c.1 == "False" && c.2 == "OrgNotReady" => Ok(()),
                other => Err(format!("app Ready {other:?}")),
            }
        }
        Expect::App(t, reason, needle) => match find(t) {
            Some(c) if c.1 == "False" && c.2 == *reason && c.3.contains(needle) => Ok(()),
            other => Err(format!("{t}: {other:?}")),
        },
        Expect::Metadata(needle) => match find("MetadataPublished") {
            Some(c) if c.1 == "False" && c.2 == "MetadataInvalid" && c.3.contains(needle) => Ok(()),
            other => Err(format!("MetadataPublished: {other:?}")),
        },
    }
}

#[tokio::test]
async fn k8s_bad_input_catalogue() {
    let started = Instant::now();
    let env = Env::start(
        "bad-a",
        OrgSeed {
            connected_apps: vec![unowned_app("Hand_Made")],
            ..Default::default()
        },
    )
    .await;
    let base = env.sim.base.clone();
    let good_key = env.sim.key_pem.clone();
    let user = e2e::USERNAME;
    let client = e2e::JWT_CLIENT;

    // A Ready app first: the duplicate-apiName case needs an earlier owner.
    env.apply(&app_yaml("baseline", "Baseline_SSO", e2e::ORG));
    env.wait_ready("baseline", WAIT).await;

    // Keys.
    let other_rsa = e2e::rsa_key_pair("not-registered").key_pem;
    let rsa1024 = openssl(&["genrsa", "1024"]);
    let encrypted_pkcs8 = openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-aes256",
        "-pass",
        "pass:hunter2",
    ]);
    let encrypted_legacy = openssl(&[
        "genrsa",
        "-aes256",
        "-passout",
        "pass:hunter2",
        "-traditional",
        "2048",
    ]);
    let ec_sec1 = openssl(&["ecparam", "-genkey", "-noout", "-name", "prime256v1"]);
    let ec_pkcs8 = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    let ed25519 = openssl(&["genpkey", "-algorithm", "ed25519"]);
    let cert_only = e2e::rsa_key_pair("cert-only").cert_pem;

    let mut cases: Vec<Case> = Vec::new();
    let mut n = 0usize;
    let mut next = || {
        n += 1;
        n
    };

    // --- Admission: SalesforceOrg ---------------------------------------------------------
    let good_auth = jwt_auth("acme-jwt", "tls.key", user, client);
    let refused_org = |name: &str, instance: &str, login: &str, auth: &str, msg: &'static str| {
        (
            name.to_string(),
            org_yaml("refused", instance, login, auth),
            msg,
        )
    };
    let admission_orgs = vec![
        refused_org(
            "instanceUrl http",
            "http://acme.my.salesforce.com",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must start with https://",
        ),
        refused_org(
            "instanceUrl userinfo",
            "https://admin@acme.my.salesforce.com",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must not contain user information",
        ),
        refused_org(
            "instanceUrl userinfo with password",
            "https://u:p@acme.my.salesforce.com",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must not contain user information",
        ),
        refused_org(
            "instanceUrl look-alike path evil.com/.my.salesforce.com",
            "https://evil.com/.my.salesforce.com",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must be a bare https URL",
        ),
        refused_org(
            "instanceUrl with query",
            "https://acme.my.salesforce.com?x=1",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must be a bare https URL",
        ),
        refused_org(
            "instanceUrl with fragment",
            "https://acme.my.salesforce.com/#x",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must be a bare https URL",
        ),
        refused_org(
            "instanceUrl not a URL",
            "https://",
            "https://login.salesforce.com",
            &good_auth,
            "instanceUrl must be a bare https URL",
        ),
        refused_org(
            "login.url http",
            "https://acme.my.salesforce.com",
            "http://login.salesforce.com",
            &good_auth,
            "login.url must start with https://",
        ),
        refused_org(
            "both auth methods",
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com",
            &format!("{good_auth}\nclientCredentials: {{secretRef: {{name: cc}}}}"),
            "set exactly one of auth.jwtBearer or auth.clientCredentials",
        ),
        refused_org(
            "no auth method",
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com",
            "{}",
            "set exactly one of auth.jwtBearer or auth.clientCredentials",
        ),
    ];
    for (name, yaml, msg) in admission_orgs {
        let i = next();
        cases.push(Case {
            name: format!("admission: org {name}"),
            yaml,
            fault: None,
            app: String::new(),
            api_name: format!("Refused_{i}"),
            org: String::new(),
            expect: Expect::Refused(msg),
            writes: 0,
        });
    }
    {
        let i = next();
        cases.push(Case {
            name: "admission: org apiVersion below 57.0".into(),
            yaml: org_yaml(
                "refused",
                "https://acme.my.salesforce.com",
                "https://login.salesforce.com",
                &good_auth,
            )
            .replace("spec:\n", "spec:\n  apiVersion: \"50.0\"\n"),
            fault: None,
            app: String::new(),
            api_name: format!("Refused_{i}"),
            org: String::new(),
            expect: Expect::Refused("apiVersion must be 57.0 or later"),
            writes: 0,
        });
    }

    // --- Admission: SsoConnectedApp -------------------------------------------------------
    let base_app = app_yaml("refused", "Refused_App", e2e::ORG);
    let admission_apps: Vec<(&str, String, &'static str)> = vec![
        (
            "apiName starts with a digit",
            base_app.replace("apiName: Refused_App", "apiName: 1Refused"),
            "should match '^[A-Za-z][A-Za-z0-9_]*$'",
        ),
        (
            "apiName with a hyphen",
            base_app.replace("apiName: Refused_App", "apiName: Refused-App"),
            "should match '^[A-Za-z][A-Za-z0-9_]*$'",
        ),
        (
            "apiName with __",
            base_app.replace("apiName: Refused_App", "apiName: Refused__App"),
            "app.apiName must not contain '__'",
        ),
        (
            "apiName ending in _",
            base_app.replace("apiName: Refused_App", "apiName: Refused_App_"),
            "app.apiName must not end with '_'",
        ),
        (
            "apiName longer than 80",
            base_app.replace(
                "apiName: Refused_App",
                &format!("apiName: A{}", "b".repeat(80)),
            ),
            "Too long: may not be more than 80",
        ),
        (
            "CustomAttribute without its attribute",
            base_app.replace("subjectType: FederationId", "subjectType: CustomAttribute"),
            "subjectCustomAttribute is required when subjectType is CustomAttribute",
        ),
        (
            "subjectCustomAttribute without CustomAttribute",
            base_app.replace(
                "subjectType: FederationId",
                "subjectType: FederationId\n    subjectCustomAttribute: Agent_Id__c",
            ),
            "subjectCustomAttribute is required when subjectType is CustomAttribute, and not allowed otherwise",
        ),
        (
            "encryption without certificate",
            base_app.replace(
                "nameIdFormat: EmailAddress",
                "nameIdFormat: EmailAddress\n    encryption: {algorithm: AES_256}",
            ),
            "spec.saml.encryption.certificate: Required value",
        ),
        (
            "encryption certificate not PEM",
            base_app.replace(
                "nameIdFormat: EmailAddress",
                "nameIdFormat: EmailAddress\n    encryption: {certificate: not-a-certificate}",
            ),
            "saml.encryption.certificate must be a PEM certificate",
        ),
        (
            "requestSigningCertificate not PEM",
            base_app.replace(
                "nameIdFormat: EmailAddress",
                "nameIdFormat: EmailAddress\n    requestSigningCertificate: MIIBsomething",
            ),
            "saml.requestSigningCertificate must be a PEM certificate",
        ),
        (
            "acsUrl http",
            base_app.replace(
                "acsUrl: https://sso.vendor.example/saml/acs",
                "acsUrl: http://sso.vendor.example/saml/acs",
            ),
            "saml.acsUrl must be an https URL",
        ),
        (
            "singleLogout url http",
            base_app.replace(
                "url: https://sso.vendor.example/saml/slo",
                "url: http://sso.vendor.example/saml/slo",
            ),
            "saml.singleLogout.url must be an https URL",
        ),
        (
            "entityId longer than 1024",
            base_app.replace(
                "entityId: https://sso.vendor.example/sp",
                &format!("entityId: https://sso.vendor.example/{}", "e".repeat(1024)),
            ),
            "Too long: may not be more than 1024",
        ),
        (
            "contactEmail not an address",
            base_app.replace(
                "contactEmail: voice-admins@acme.example",
                "contactEmail: voice-admins",
            ),
            "spec.app.contactEmail",
        ),
        (
            "refreshInterval below 1m",
            base_app.replace("refreshInterval: 1h", "refreshInterval: 30s"),
            "publish.refreshInterval must be at least 1m",
        ),
        (
            "unknown subjectType",
            base_app.replace("subjectType: FederationId", "subjectType: Email"),
            "Unsupported value: \"Email\"",
        ),
    ];
    for (name, yaml, msg) in admission_apps {
        let i = next();
        cases.push(Case {
            name: format!("admission: app {name}"),
            yaml,
            fault: None,
            app: String::new(),
            api_name: format!("Refused_{i}"),
            org: String::new(),
            expect: Expect::Refused(msg),
            writes: 0,
        });
    }
    // Immutable fields: updates of the Ready baseline app.
    for (name, yaml, msg) in [
        (
            "apiName changed",
            app_yaml("baseline", "Baseline_Renamed", e2e::ORG),
            "app.apiName is immutable",
        ),
        (
            "orgRef changed",
            app_yaml("baseline", "Baseline_SSO", "other-org"),
            "orgRef is immutable",
        ),
        (
            "app.type changed",
            app_yaml("baseline", "Baseline_SSO", e2e::ORG)
                .replace("type: ConnectedApp", "type: ExternalClientApp"),
            "app.type is immutable",
        ),
    ] {
        cases.push(Case {
            name: format!("admission: update {name}"),
            yaml,
            fault: None,
            app: String::new(),
            api_name: "Baseline_Renamed".into(),
            org: String::new(),
            expect: Expect::Refused(msg),
            writes: 0,
        });
    }

    // --- Runtime: SalesforceOrg URLs and Secrets ----------------------------------------------
    let mut org_case = |name: &str,
                        instance: Option<&str>,
                        login: Option<&str>,
                        secret: Option<(&str, &str)>,
                        auth: Option<String>,
                        reason: &'static str,
                        needle: &'static str| {
        let i = next();
        let org = format!("o{i}");
        let sname = format!("s{i}");
        let mut yaml = String::new();
        if let Some((key, value)) = secret {
            yaml.push_str(&secret_yaml(&sname, key, value));
            yaml.push_str("---\n");
        }
        let auth = auth.unwrap_or_else(|| jwt_auth(&sname, "tls.key", user, client));
        yaml.push_str(&org_yaml(
            &org,
            instance.unwrap_or(&base),
            login.unwrap_or(&base),
            &auth.replace("SECRET", &sname),
        ));
        yaml.push_str("---\n");
        let api = format!("Org_Case_{i}");
        yaml.push_str(&app_yaml(&format!("a{i}"), &api, &org));
        cases.push(Case {
            name: format!("org: {name}"),
            yaml,
            fault: None,
            app: format!("a{i}"),
            api_name: api,
            org,
            expect: Expect::Org(reason, needle),
            writes: 0,
        });
    };
    let key = Some(("tls.key", good_key.as_str()));
    let ip = "IP address literals are not allowed";
    let host = "host is not a Salesforce My Domain or login host";
    let port = "only port 443 is allowed";
    org_case(
        "instanceUrl IPv4 literal",
        Some("https://127.0.0.1"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl IPv6 literal",
        Some("https://[::1]"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl decimal IP 2130706433",
        Some("https://2130706433"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl octal IP 0177.0.0.1",
        Some("https://0177.0.0.1"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl hex IP 0x7f000001",
        Some("https://0x7f000001"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl cloud metadata 169.254.169.254",
        Some("https://169.254.169.254"),
        None,
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "instanceUrl odd port 8443",
        Some("https://acme.my.salesforce.com:8443"),
        None,
        key,
        None,
        "UrlNotAllowed",
        port,
    );
    org_case(
        "instanceUrl simulator host on port 443 (only its port is allowed)",
        Some("https://localhost"),
        None,
        key,
        None,
        "UrlNotAllowed",
        host,
    );
    org_case(
        "instanceUrl look-alike acme.my.salesforce.com.evil.com",
        Some("https://acme.my.salesforce.com.evil.com"),
        None,
        key,
        None,
        "UrlNotAllowed",
        host,
    );
    org_case(
        "instanceUrl outside the allow-list example.com",
        Some("https://example.com"),
        None,
        key,
        None,
        "UrlNotAllowed",
        host,
    );
    org_case(
        "instanceUrl punycode look-alike",
        Some("https://xn--acm-8na.my.salesforce.com"),
        None,
        key,
        None,
        "UrlNotAllowed",
        host,
    );
    org_case(
        "instanceUrl trailing dot",
        Some("https://acme.my.salesforce.com."),
        None,
        key,
        None,
        "UrlNotAllowed",
        "trailing dot",
    );
    org_case(
        "login.url look-alike path evil.com/.my.salesforce.com",
        None,
        Some("https://evil.com/.my.salesforce.com"),
        key,
        None,
        "UrlNotAllowed",
        host,
    );
    org_case(
        "login.url userinfo",
        None,
        Some("https://user:pw@login.salesforce.com"),
        key,
        None,
        "UrlNotAllowed",
        "user info in the URL is not allowed",
    );
    org_case(
        "login.url IP literal",
        None,
        Some("https://10.0.0.1"),
        key,
        None,
        "UrlNotAllowed",
        ip,
    );
    org_case(
        "Secret missing",
        None,
        None,
        None,
        None,
        "SecretNotFound",
        "does not exist",
    );
    org_case(
        "Secret with the wrong key name",
        None,
        None,
        Some(("private.key", good_key.as_str())),
        None,
        "KeyNotFound",
        "has no key \"tls.key\"",
    );
    org_case(
        "key not PEM",
        None,
        None,
        Some(("tls.key", "this is not a key")),
        None,
        "KeyInvalid",
        "no PEM private key found",
    );
    org_case(
        "a certificate instead of a key",
        None,
        None,
        Some(("tls.key", cert_only.as_str())),
        None,
        "KeyInvalid",
        "no PEM private key found",
    );
    org_case(
        "encrypted PKCS#8 key",
        None,
        None,
        Some(("tls.key", encrypted_pkcs8.as_str())),
        None,
        "KeyInvalid",
        "encrypted",
    );
    org_case(
        "encrypted legacy PEM key",
        None,
        None,
        Some(("tls.key", encrypted_legacy.as_str())),
        None,
        "KeyInvalid",
        "encrypted",
    );
    org_case(
        "EC key (SEC1)",
        None,
        None,
        Some(("tls.key", ec_sec1.as_str())),
        None,
        "KeyInvalid",
        "EC key",
    );
    org_case(
        "EC key (PKCS#8)",
        None,
        None,
        Some(("tls.key", ec_pkcs8.as_str())),
        None,
        "KeyInvalid",
        "EC key",
    );
    org_case(
        "Ed25519 key",
        None,
        None,
        Some(("tls.key", ed25519.as_str())),
        None,
        "KeyInvalid",
        "Ed25519",
    );
    org_case(
        "RSA 1024-bit key",
        None,
        None,
        Some(("tls.key", rsa1024.as_str())),
        None,
        "KeyInvalid",
        "1024 bits",
    );
    org_case(
        "RSA key not matching the registered certificate",
        None,
        None,
        Some(("tls.key", other_rsa.as_str())),
        None,
        "AuthenticationFailed",
        "invalid assertion",
    );
    org_case(
        "unknown username",
        None,
        None,
        key,
        Some(jwt_auth("SECRET", "tls.key", "nobody@acme.com", client)),
        "AuthenticationFailed",
        "user hasn't approved this consumer",
    );
    org_case(
        "unknown consumer key",
        None,
        None,
        key,
        Some(jwt_auth("SECRET", "tls.key", user, "3MVG9UNKNOWN")),
        "AuthenticationFailed",
        "client identifier invalid",
    );
    org_case(
        "client credentials Secret without client-secret",
        None,
        None,
        Some(("client-id", "3MVG9SIMULATOR")),
        Some("clientCredentials: {secretRef: {name: SECRET}}".into()),
        "KeyNotFound",
        "client-secret",
    );

    // --- Runtime: apps of the good org --------------------------------------------------------
    let mut app_case = |name: &str,
                        yaml_of: &dyn Fn(&str, &str) -> String,
                        api: Option<&str>,
                        t: &'static str,
                        reason: &'static str,
                        needle: &'static str,
                        writes: usize| {
        let i = next();
        let app = format!("x{i}");
        let api = api.map(str::to_string).unwrap_or(format!("App_Case_{i}"));
        cases.push(Case {
            name: format!("app: {name}"),
            yaml: yaml_of(&app, &api),
            fault: None,
            app,
            api_name: api,
            org: e2e::ORG.into(),
            expect: Expect::App(t, reason, needle),
            writes,
        });
    };
    let std_app = |app: &str, api: &str| app_yaml(app, api, e2e::ORG);
    app_case(
        "duplicate apiName across resources",
        &std_app,
        Some("Baseline_SSO"),
        "AppReady",
        "Conflict",
        "already manages app Baseline_SSO",
        0,
    );
    app_case(
        "existing app without marker (adoption Never)",
        &std_app,
        Some("Hand_Made"),
        "AppReady",
        "Conflict",
        "IfUnowned",
        0,
    );
    app_case(
        "unknown profile",
        &|a: &str, api: &str| {
            std_app(a, api).replace(
                "profiles: [Contact Center Agent]",
                "profiles: [No Such Profile]",
            )
        },
        None,
        "AppReady",
        "Rejected",
        "no Profile named No Such Profile",
        1,
    );
    app_case(
        "unknown permission set",
        &|a: &str, api: &str| {
            std_app(a, api).replace(
                "permissionSets: [Voice_Agent]",
                "permissionSets: [No_Such_Set]",
            )
        },
        None,
        "AppReady",
        "Rejected",
        "No_Such_Set",
        1,
    );
    app_case(
        "unknown org reference",
        &|a: &str, api: &str| app_yaml(a, api, "no-such-org"),
        None,
        "Ready",
        "OrgNotFound",
        "no-such-org",
        0,
    );
    // An External Client App on an org below API 63.0 (`Unsupported`) is covered by
    // tests/app_kinds.rs k8s_external_client_app_needs_api_63.

    // --- Runtime: hostile IdP metadata (apps of the good org, Ready first) ---------------------
    let hostile_start = cases.len();
    let mut xml_case = |name: &str, needle: &'static str| {
        let i = next();
        let app = format!("m{i}");
        let api = format!("Xml_Case_{i}");
        cases.push(Case {
            name: format!("metadata: {name}"),
            yaml: std_app(&app, &api),
            fault: None,
            app,
            api_name: api,
            org: e2e::ORG.into(),
            expect: Expect::Metadata(needle),
            writes: 0,
        });
    };
    let hostile: Vec<(&str, &'static str)> = vec![
        ("DOCTYPE", "DTD"),
        ("billion laughs entity expansion", "DTD"),
        ("external entity file:///etc/passwd", "DTD"),
        ("larger than 1 MiB", "cap"),
        ("nesting deeper than 64", "nesting deeper than"),
        ("more than 200000 nodes", "nodes"),
        ("wrong namespace", "expected md:EntityDescriptor"),
        ("EntitiesDescriptor root", "expected md:EntityDescriptor"),
        ("no IDPSSODescriptor", "no IDPSSODescriptor"),
        ("two IDPSSODescriptors", "more than one IDPSSODescriptor"),
        ("no signing key", "no signing certificate"),
        ("no SSO endpoint", "no SingleSignOnService"),
        ("validUntil in the past", "validUntil"),
        (
            "expired certificate (not the IdP's)",
            "not signed with the Identity Provider certificate",
        ),
        ("certificate not base64", "not base64"),
        ("malformed (cut in half)", "malformed XML"),
        ("HTML maintenance page with HTTP 200", "HTML"),
        (
            "SOAP fault body instead of metadata",
            "expected md:EntityDescriptor",
        ),
    ];
    for (name, needle) in &hostile {
        xml_case(name, needle);
    }

    // --- Group B: IdP certificate cases (their own org identity) -------------------------------
    let env_b = Env::start("bad-b", OrgSeed::default()).await;

    eprintln!("{} cases", cases.len());
    assert!(cases.len() >= 40, "at least 40 cases");

    // Apply everything. Admission cases must be refused; the rest accepted.
    let mut failures: Vec<String> = Vec::new();
    for case in &cases {
        let res = cluster::apply_yaml(&env.ns, &case.yaml);
        match (&case.expect, res) {
            (Expect::Refused(msg), Err(e)) if e.contains(msg) => {}
            (Expect::Refused(msg), Err(e)) => {
                failures.push(format!("[{}] refused, but without {msg:?}: {e}", case.name))
            }
            (Expect::Refused(_), Ok(out)) => {
                failures.push(format!("[{}] accepted: {out}", case.name))
            }
            (_, Err(e)) => failures.push(format!("[{}] refused: {e}", case.name)),
            (_, Ok(_)) => {}
        }
    }

    // Hostile metadata: wait for those apps to be Ready, then serve the hostile documents.
    let mut good_cm: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let expired = expired_cert_b64();
    for (k, case) in cases[hostile_start..].iter_mut().enumerate() {
        env.wait_ready(&case.app, WAIT).await;
        let cm = env
            .config_maps()
            .get(&format!("{}-idp-metadata", case.app))
            .await
            .expect("configmap")
            .data
            .unwrap_or_default();
        good_cm.insert(case.app.clone(), cm);
        let path = format!("/.well-known/samlidp/{}.xml", case.api_name);
        let (code, good) = env.sim.get(&path).await;
        assert_eq!(code, 200);
        let body_xml = good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let valid_until = good
            .split("validUntil=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let cert = good
            .split("<ds:X509Certificate>")
            .nth(1)
            .and_then(|r| r.split("</ds:X509Certificate>").next())
            .unwrap()
            .to_string();
        let idp_block = {
            let start = good.find("<md:IDPSSODescriptor").unwrap();
            let end = good.find("</md:IDPSSODescriptor>").unwrap() + "</md:IDPSSODescriptor>".len();
            good[start..end].to_string()
        };
        let lol = {
            let mut d = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
            for l in 1..=9 {
                let prev = if l == 1 {
                    "lol".to_string()
                } else {
                    format!("lol{}", l - 1)
                };
                d.push_str(&format!(
                    "<!ENTITY lol{l} \"{}\">",
                    format!("&{prev};").repeat(10)
                ));
            }
            d.push_str("]>");
            d
        };
        let body = match hostile[k].0 {
            "DOCTYPE" => format!("<?xml version=\"1.0\"?>\n<!DOCTYPE md:EntityDescriptor>{body_xml}"),
            "billion laughs entity expansion" => format!(
                "<?xml version=\"1.0\"?>\n{lol}{}",
                body_xml.replace("<md:IDPSSODescriptor", "<md:Extensions>&lol9;</md:Extensions><md:IDPSSODescriptor")
            ),
            "external entity file:///etc/passwd" => format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
                body_xml.replace("<md:IDPSSODescriptor", "<md:Extensions>&xxe;</md:Extensions><md:IDPSSODescriptor")
            ),
            "larger than 1 MiB" => good.replace(
                "<md:IDPSSODescriptor",
                &format!("<!-- {} --><md:IDPSSODescriptor", "x".repeat(1024 * 1024 + 10)),
            ),
            "nesting deeper than 64" => good.replace(
                "<md:IDPSSODescriptor",
                &format!("<md:Extensions>{}{}</md:Extensions><md:IDPSSODescriptor", "<x>".repeat(100), "</x>".repeat(100)),
            ),
            "more than 200000 nodes" => good.replace(
                "<md:IDPSSODescriptor",
                &format!("<md:Extensions>{}</md:Extensions><md:IDPSSODescriptor", "<a/>".repeat(210_000)),
            ),
            "wrong namespace" => good.replace("urn:oasis:names:tc:SAML:2.0:metadata", "urn:example:not-saml-metadata"),
            "EntitiesDescriptor root" => format!(
                "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntitiesDescriptor>",
                body_xml.trim()
            ),
            "no IDPSSODescriptor" => good.replace("IDPSSODescriptor", "SPSSODescriptor"),
            "two IDPSSODescriptors" => good.replace(&idp_block, &format!("{idp_block}{idp_block}")),
            "no signing key" => good.replace("use=\"signing\"", "use=\"encryption\""),
            "no SSO endpoint" => good
                .lines()
                .filter(|l| !l.contains("SingleSignOnService"))
                .collect::<Vec<_>>()
                .join("\n"),
            "validUntil in the past" => good.replace(&valid_until, "2001-01-01T00:00:00.000Z"),
            "expired certificate (not the IdP's)" => good.replace(&cert, &expired),
            "certificate not base64" => good.replace(&cert, "!!! not base64 !!!"),
            "malformed (cut in half)" => good[..good.len() / 2].to_string(),
            "HTML maintenance page with HTTP 200" => String::new(),
            "SOAP fault body instead of metadata" => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>sf:UNKNOWN</faultcode><faultstring>boom</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>".to_string(),
            other => panic!("no body for {other}"),
        };
        let rule = if hostile[k].0.starts_with("HTML") {
            json!({"pathPrefix": path, "html": true, "count": 100000})
        } else {
            json!({"pathPrefix": path, "status": 200, "contentType": "text/xml;charset=UTF-8", "body": body, "count": 100000})
        };
        case.fault = Some(rule);
    }
    let writes_before: BTreeMap<String, usize> = {
        let mut m = BTreeMap::new();
        for case in &cases {
            m.insert(
                case.api_name.clone(),
                env.sim.writes_of(&case.api_name).await.len(),
            );
        }
        m
    };
    for case in &cases[hostile_start..] {
        env.sim
            .control("/__sim/faults", case.fault.clone().unwrap())
            .await;
        env.annotate_sync(&case.app, "hostile");
    }

    // Group B: an unknown IdP certificate, then a second resource asking for another one.
    env_b.apply(&app_yaml("nocert", "No_Cert_SSO", e2e::ORG).replace(
        "certificate: SelfSignedCert_IdP",
        "certificate: No_Such_Cert",
    ));
    let t = Instant::now();
    let got = tokio::time::timeout(
        WAIT,
        env_b.wait_condition(
            "nocert",
            "IdentityProviderReady",
            "False",
            Some("CertificateNotFound"),
            WAIT,
        ),
    )
    .await;
    match got {
        Ok((_, _, msg)) if msg.contains("No_Such_Cert") => {}
        other => failures.push(format!("[app: unknown IdP certificate] {other:?}")),
    }
    env_b.apply(&app_yaml("othercert", "Other_Cert_SSO", e2e::ORG).replace(
        "certificate: SelfSignedCert_IdP",
        "certificate: SelfSignedCert_Other",
    ));
    match tokio::time::timeout(
        WAIT,
        env_b.wait_condition(
            "othercert",
            "IdentityProviderReady",
            "False",
            Some("Conflict"),
            WAIT,
        ),
    )
    .await
    {
        Ok((_, _, msg)) if msg.contains("No_Such_Cert") => {}
        other => failures.push(format!(
            "[app: two resources of one org want different IdP certificates] {other:?}"
        )),
    }
    eprintln!("group B done in {:?}", t.elapsed());
    let b_writes = env_b.sim.writes().await;
    if b_writes != 0 {
        failures.push(format!(
            "[group B] {b_writes} Salesforce writes: {}",
            env_b.sim.calls().await
        ));
    }

    // Wait for every runtime case of group A (all at once, each until it holds or WAIT passes).
    let deadline = Instant::now() + WAIT;
    let mut pending: Vec<&Case> = cases
        .iter()
        .filter(|c| !matches!(c.expect, Expect::Refused(_)))
        .collect();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for case in pending {
            match check(&env, case).await {
                Ok(()) => {}
                Err(why) => {
                    last.insert(case.name.clone(), why);
                    still.push(case);
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    for case in &pending {
        failures.push(format!(
            "[{}] not reached within {WAIT:?}: {}",
            case.name,
            last.get(&case.name).cloned().unwrap_or_default()
        ));
    }

    // Once the retries of the failing cases have had a chance to run: no Salesforce write for any
    // case's app (beyond what it was allowed), and the hostile cases kept their ConfigMaps.
    let port = env.operator.metrics_port;
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        while !e2e::operator_idle(port, "ssoconnectedapp").await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    for case in &cases {
        let now = env.sim.writes_of(&case.api_name).await.len();
        let before =
            if matches!(case.expect, Expect::Metadata(_)) || case.api_name == "Baseline_SSO" {
                writes_before[&case.api_name]
            } else {
                0
            };
        if now > before + case.writes {
            failures.push(format!(
                "[{}] {} Salesforce write(s) for {} (allowed {})",
                case.name,
                now - before,
                case.api_name,
                case.writes
            ));
        }
        if case.writes > 0 && env.sim.app(&case.api_name).await.is_some() {
            failures.push(format!("[{}] {} was created", case.name, case.api_name));
        }
        if let Expect::Metadata(_) = case.expect {
            let cm = env
                .config_maps()
                .get(&format!("{}-idp-metadata", case.app))
                .await
                .map(|c| c.data.unwrap_or_default())
                .unwrap_or_default();
            if cm != good_cm[&case.app] {
                failures.push(format!("[{}] the ConfigMap changed", case.name));
            }
        }
    }
    if env.sim.app("Baseline_Renamed").await.is_some() {
        failures.push("an immutable-field update reached Salesforce".into());
    }
    eprintln!(
        "{} cases (+2 in group B) checked in {:?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n\noperator log tail:\n{}",
        failures.len(),
        cases.len() + 2,
        failures.join("\n"),
        e2e::tail(&env.operator.logs(), 20)
    );
}
