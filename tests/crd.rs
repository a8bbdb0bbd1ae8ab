//! The CRDs: `crds/` matches `sso-operator crd`; against a real kube-apiserver both CRDs become
//! Established, the examples are accepted, invalid manifests are refused with the intended
//! message (one rule each), immutable fields stay immutable, and `kubectl explain` shows the docs.

#[path = "common/cluster.rs"]
mod cluster;

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

const CRDS_FILE: &str = "crds/sso-operator.dev_crds.yaml";

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// (a) crds/ is up to date (no cluster needed)

#[test]
fn crds_dir_matches_sso_operator_crd() {
    let generated = cluster::crd_yaml();
    let path = cluster::repo_root().join(CRDS_FILE);
    if std::env::var("UPDATE_CRDS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        eprintln!("rewrote {CRDS_FILE}");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {CRDS_FILE}: {e}; run `make crds`"));
    let (want, have) = (yaml_docs(&generated), yaml_docs(&committed));
    assert_eq!(want.len(), 2, "sso-operator crd prints two CRDs");
    assert!(
        want == have,
        "{CRDS_FILE} differs from `sso-operator crd`: run `make crds` (or UPDATE_CRDS=1 cargo test --test crd)"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Established; examples accepted

#[tokio::test]
async fn k8s_crds_become_established() {
    cluster::install_crds().await;
    let crds = Api::<CustomResourceDefinition>::all(cluster::client().await);
    for (name, short) in cluster::CRD_NAMES.iter().zip(["sforg", "sca"]) {
        assert!(cluster::crd_established(&crds, name).await, "{name}");
        let crd = crds.get(name).await.unwrap();
        let names = crd.status.unwrap().accepted_names.unwrap();
        assert_eq!(
            names.short_names.unwrap_or_default(),
            vec![short.to_owned()]
        );
        assert_eq!(names.categories.unwrap_or_default(), vec!["sso".to_owned()]);
    }
}

fn resource_for(kind: &str) -> Option<ApiResource> {
    match kind {
        "SalesforceOrg" => Some(ApiResource::erase::<SalesforceOrg>(&())),
        "SsoConnectedApp" => Some(ApiResource::erase::<SsoConnectedApp>(&())),
        "Secret" => Some(ApiResource::erase::<Secret>(&())),
        _ => None,
    }
}

#[tokio::test]
async fn k8s_examples_are_accepted() {
    cluster::install_crds().await;
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace("examples").await;
    let dir = cluster::repo_root().join("deploy/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut kinds_seen = Vec::new();
    for file in &files {
        for mut doc in yaml_docs(&std::fs::read_to_string(file).unwrap()) {
            // Files that are not Kubernetes objects (e.g. the simulator's org file) are skipped.
            let Some(kind) = doc.get("kind").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let Some(ar) = resource_for(&kind) else {
                continue;
            };
            if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            let obj: DynamicObject = serde_json::from_value(doc).unwrap();
            Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &ar)
                .create(&PostParams::default(), &obj)
                .await
                .unwrap_or_else(|e| panic!("{}: {kind} refused: {e}", file.display()));
            kinds_seen.push(kind);
        }
    }
    for kind in ["SalesforceOrg", "SsoConnectedApp"] {
        assert!(
            kinds_seen.iter().any(|k| k == kind),
            "no {kind} example in deploy/examples"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (c) invalid manifests are refused, one rule each

fn valid_org() -> Value {
    json!({
        "apiVersion": "sso-operator.dev/v1alpha1",
        "kind": "SalesforceOrg",
        "metadata": {"name": "acme-prod"},
        "spec": {
            "instanceUrl": "https://acme.my.salesforce.com",
            "login": {"url": "https://login.salesforce.com", "audience": "https://login.salesforce.com"},
            "apiVersion": "63.0",
            "auth": {"jwtBearer": {
                "clientId": "3MVG9EXAMPLE",
                "username": "integration@acme.com",
                "privateKeySecretRef": {"name": "acme-jwt", "key": "tls.key"}
            }},
            "apiBudget": {"reservePercent": 10, "maxConcurrentCalls": 2}
        }
    })
}

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn valid_app() -> Value {
    json!({
        "apiVersion": "sso-operator.dev/v1alpha1",
        "kind": "SsoConnectedApp",
        "metadata": {"name": "telephony"},
        "spec": {
            "orgRef": {"name": "acme-prod"},
            "identityProvider": {"certificate": "SelfSignedCert_IdP"},
            "app": {
                "type": "ConnectedApp",
                "apiName": "Telephony_SSO",
                "label": "Telephony SSO",
                "contactEmail": "voice-admins@acme.com",
                "description": "SSO for the partner telephony system"
            },
            "saml": {
                "acsUrl": "https://sso.vendor.example/saml/acs",
                "entityId": "https://sso.vendor.example/sp",
                "subjectType": "FederationId",
                "nameIdFormat": "Unspecified",
                "signingAlgorithm": "SHA256",
                "requestSigningCertificate": PEM,
                "encryption": {"certificate": PEM, "algorithm": "AES_256"},
                "singleLogout": {"url": "https://sso.vendor.example/saml/slo", "binding": "Redirect"}
            },
            "access": {"profiles": ["Contact Center Agent"], "permissionSets": ["Voice_Agent"]},
            "publish": {"configMapName": "telephony-idp", "refreshInterval": "1h"},
            "policy": {"deletion": "Delete", "adoption": "Never", "management": "Full"},
            "suspend": false
        }
    })
}

/// The smallest app: only required fields (exercises the schema defaults the CEL rules rely on).
fn minimal_app() -> Value {
    json!({
        "apiVersion": "sso-operator.dev/v1alpha1",
        "kind": "SsoConnectedApp",
        "metadata": {"name": "minimal"},
        "spec": {
            "orgRef": {"name": "acme-prod"},
            "identityProvider": {"certificate": "SelfSignedCert_IdP"},
            "app": {"apiName": "Minimal", "label": "Minimal", "contactEmail": "a@b.co"},
            "saml": {"acsUrl": "https://sp.example/acs", "entityId": "urn:sp"}
        }
    })
}

/// Sets (or with `Value::Null`, removes) the value at a `/`-separated path under the object.
fn set(doc: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('/').collect();
    let (last, parents) = parts.split_last().unwrap();
    let mut cur = doc;
    for p in parents {
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(p.to_string())
            .or_insert_with(|| json!({}));
    }
    let obj = cur.as_object_mut().unwrap();
    if value.is_null() {
        obj.remove(*last);
    } else {
        obj.insert(last.to_string(), value);
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Org,
    App,
}

struct Case {
    name: &'static str,
    kind: Kind,
    /// (path, value) edits of the valid object; `Value::Null` removes.
    edits: Vec<(&'static str, Value)>,
    /// Every one of these must appear in the API server's message.
    expect: &'static [&'static str],
}

fn case(
    name: &'static str,
    kind: Kind,
    edits: Vec<(&'static str, Value)>,
    expect: &'static [&'static str],
) -> Case {
    Case {
        name,
        kind,
        edits,
        expect,
    }
}

fn invalid_cases() -> Vec<Case> {
    use Kind::{App, Org};
    let long81 = "A".repeat(81);
    vec![
        // --- SalesforceOrg
        case(
            "instanceUrl http",
            Org,
            vec![("spec/instanceUrl", json!("http://acme.my.salesforce.com"))],
            &["instanceUrl must start with https://"],
        ),
        // CRD rule problem (reported to the lead; src/api/org.rs): with no "://" the userinfo rule
        // `!self.split('://', 2)[1]...` fails at runtime and the API server adds a third error,
        // `index out of bounds: 1 evaluating rule: instanceUrl must not contain user information`.
        // Still refused with the intended message, so this case passes either way.
        case(
            "instanceUrl without scheme",
            Org,
            vec![("spec/instanceUrl", json!("acme.my.salesforce.com"))],
            &["instanceUrl must start with https://"],
        ),
        case(
            "instanceUrl userinfo",
            Org,
            vec![(
                "spec/instanceUrl",
                json!("https://admin:pw@acme.my.salesforce.com"),
            )],
            &["instanceUrl must not contain user information"],
        ),
        case(
            "instanceUrl with a path",
            Org,
            vec![(
                "spec/instanceUrl",
                json!("https://acme.my.salesforce.com/home"),
            )],
            &["instanceUrl must be a bare https URL"],
        ),
        case(
            "login.url http",
            Org,
            vec![("spec/login/url", json!("http://login.salesforce.com"))],
            &["login.url must start with https://"],
        ),
        case(
            "apiVersion pattern",
            Org,
            vec![("spec/apiVersion", json!("v63"))],
            &["spec.apiVersion", "should match '^[0-9]{2}\\.0$'"],
        ),
        case(
            "apiVersion below 57.0",
            Org,
            vec![("spec/apiVersion", json!("56.0"))],
            &["apiVersion must be 57.0 or later"],
        ),
        case(
            "auth: none",
            Org,
            vec![("spec/auth", json!({}))],
            &["set exactly one of auth.jwtBearer or auth.clientCredentials"],
        ),
        case(
            "auth: both",
            Org,
            vec![(
                "spec/auth/clientCredentials",
                json!({"secretRef": {"name": "cc"}}),
            )],
            &["set exactly one of auth.jwtBearer or auth.clientCredentials"],
        ),
        case(
            "reservePercent 91",
            Org,
            vec![("spec/apiBudget/reservePercent", json!(91))],
            &["spec.apiBudget.reservePercent", "less than or equal to 90"],
        ),
        case(
            "maxConcurrentCalls 0",
            Org,
            vec![("spec/apiBudget/maxConcurrentCalls", json!(0))],
            &[
                "spec.apiBudget.maxConcurrentCalls",
                "greater than or equal to 1",
            ],
        ),
        case(
            "maxConcurrentCalls 11",
            Org,
            vec![("spec/apiBudget/maxConcurrentCalls", json!(11))],
            &[
                "spec.apiBudget.maxConcurrentCalls",
                "less than or equal to 10",
            ],
        ),
        // --- SsoConnectedApp: URLs
        case(
            "acsUrl http",
            App,
            vec![(
                "spec/saml/acsUrl",
                json!("http://sso.vendor.example/saml/acs"),
            )],
            &["saml.acsUrl must be an https URL"],
        ),
        case(
            "singleLogout.url http",
            App,
            vec![(
                "spec/saml/singleLogout/url",
                json!("http://sso.vendor.example/slo"),
            )],
            &["saml.singleLogout.url must be an https URL"],
        ),
        // --- app identity
        case(
            "apiName with '-'",
            App,
            vec![("spec/app/apiName", json!("Telephony-SSO"))],
            &["spec.app.apiName", "should match '^[A-Za-z][A-Za-z0-9_]*$'"],
        ),
        case(
            "apiName with '__'",
            App,
            vec![("spec/app/apiName", json!("Telephony__SSO"))],
            &["app.apiName must not contain '__'"],
        ),
        case(
            "apiName trailing '_'",
            App,
            vec![("spec/app/apiName", json!("Telephony_SSO_"))],
            &["app.apiName must not end with '_'"],
        ),
        case(
            "apiName too long",
            App,
            vec![("spec/app/apiName", json!(long81))],
            &["spec.app.apiName", "Too long", "80"],
        ),
        case(
            "apiName starts with a digit",
            App,
            vec![("spec/app/apiName", json!("1Telephony"))],
            &["spec.app.apiName", "should match '^[A-Za-z][A-Za-z0-9_]*$'"],
        ),
        case(
            "label missing",
            App,
            vec![("spec/app/label", Value::Null)],
            &["spec.app.label", "Required value"],
        ),
        case(
            "label too long",
            App,
            vec![("spec/app/label", json!("L".repeat(81)))],
            &["spec.app.label", "Too long", "80"],
        ),
        case(
            "contactEmail not an address",
            App,
            vec![("spec/app/contactEmail", json!("voice-admins"))],
            &["spec.app.contactEmail", "should match"],
        ),
        case(
            "app.type unknown",
            App,
            vec![("spec/app/type", json!("Canvas"))],
            &["spec.app.type", "Unsupported value: \"Canvas\""],
        ),
        // --- SAML
        case(
            "CustomAttribute without subjectCustomAttribute",
            App,
            vec![("spec/saml/subjectType", json!("CustomAttribute"))],
            &["subjectCustomAttribute is required when subjectType is CustomAttribute"],
        ),
        case(
            "subjectCustomAttribute without CustomAttribute",
            App,
            vec![("spec/saml/subjectCustomAttribute", json!("Phone_Login__c"))],
            &[
                "subjectCustomAttribute is required when subjectType is CustomAttribute, and not allowed otherwise",
            ],
        ),
        case(
            "subjectType unknown",
            App,
            vec![("spec/saml/subjectType", json!("Email"))],
            &["spec.saml.subjectType", "Unsupported value: \"Email\""],
        ),
        case(
            "nameIdFormat unknown",
            App,
            vec![("spec/saml/nameIdFormat", json!("Kerberos"))],
            &["spec.saml.nameIdFormat", "Unsupported value: \"Kerberos\""],
        ),
        case(
            "signingAlgorithm unknown",
            App,
            vec![("spec/saml/signingAlgorithm", json!("SHA512"))],
            &[
                "spec.saml.signingAlgorithm",
                "Unsupported value: \"SHA512\"",
            ],
        ),
        case(
            "encryption.algorithm unknown",
            App,
            vec![("spec/saml/encryption/algorithm", json!("DES"))],
            &[
                "spec.saml.encryption.algorithm",
                "Unsupported value: \"DES\"",
            ],
        ),
        case(
            "singleLogout.binding unknown",
            App,
            vec![("spec/saml/singleLogout/binding", json!("SOAP"))],
            &[
                "spec.saml.singleLogout.binding",
                "Unsupported value: \"SOAP\"",
            ],
        ),
        case(
            "requestSigningCertificate not PEM",
            App,
            vec![(
                "spec/saml/requestSigningCertificate",
                json!("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"),
            )],
            &["saml.requestSigningCertificate must be a PEM certificate"],
        ),
        case(
            "encryption.certificate not PEM",
            App,
            vec![(
                "spec/saml/encryption/certificate",
                json!("not a certificate"),
            )],
            &["saml.encryption.certificate must be a PEM certificate"],
        ),
        // --- access, publish, policy
        case(
            "duplicate profile",
            App,
            vec![(
                "spec/access/profiles",
                json!(["Contact Center Agent", "Contact Center Agent"]),
            )],
            &[
                "spec.access.profiles",
                "Duplicate value: \"Contact Center Agent\"",
            ],
        ),
        case(
            "duplicate permission set",
            App,
            vec![(
                "spec/access/permissionSets",
                json!(["Voice_Agent", "Voice_Agent"]),
            )],
            &[
                "spec.access.permissionSets",
                "Duplicate value: \"Voice_Agent\"",
            ],
        ),
        case(
            "refreshInterval 30s",
            App,
            vec![("spec/publish/refreshInterval", json!("30s"))],
            &["publish.refreshInterval must be at least 1m"],
        ),
        case(
            "refreshInterval banana",
            App,
            vec![("spec/publish/refreshInterval", json!("banana"))],
            &["spec.publish.refreshInterval", "should match"],
        ),
        case(
            "configMapName invalid",
            App,
            vec![("spec/publish/configMapName", json!("Telephony_IdP"))],
            &["spec.publish.configMapName", "should match"],
        ),
        case(
            "policy.deletion unknown",
            App,
            vec![("spec/policy/deletion", json!("Retain"))],
            &["spec.policy.deletion", "Unsupported value: \"Retain\""],
        ),
        case(
            "policy.adoption unknown",
            App,
            vec![("spec/policy/adoption", json!("Always"))],
            &["spec.policy.adoption", "Unsupported value: \"Always\""],
        ),
        case(
            "policy.management unknown",
            App,
            vec![("spec/policy/management", json!("ReadOnly"))],
            &["spec.policy.management", "Unsupported value: \"ReadOnly\""],
        ),
    ]
}

fn api_for(client: &kube::Client, ns: &str, kind: Kind) -> Api<DynamicObject> {
    let ar = match kind {
        Kind::Org => ApiResource::erase::<SalesforceOrg>(&()),
        Kind::App => ApiResource::erase::<SsoConnectedApp>(&()),
    };
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn dry_run() -> PostParams {
    PostParams {
        dry_run: true,
        field_manager: Some("sso-operator-tests".into()),
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => format!("(not an API error) {other}"),
    }
}

#[tokio::test]
async fn k8s_valid_manifests_are_accepted() {
    cluster::install_crds().await;
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace("crd-valid").await;
    for (kind, doc) in [
        (Kind::Org, valid_org()),
        (Kind::App, valid_app()),
        (Kind::App, minimal_app()),
    ] {
        let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
        api_for(&client, &ns, kind)
            .create(&dry_run(), &obj)
            .await
            .unwrap_or_else(|e| panic!("valid object refused: {}\n{doc:#}", api_message(&e)));
    }
    // The same with client credentials instead of the JWT bearer flow.
    let mut cc = valid_org();
    set(
        &mut cc,
        "spec/auth",
        json!({"clientCredentials": {"secretRef": {"name": "cc"}}}),
    );
    let obj: DynamicObject = serde_json::from_value(cc).unwrap();
    api_for(&client, &ns, Kind::Org)
        .create(&dry_run(), &obj)
        .await
        .unwrap_or_else(|e| panic!("client-credentials org refused: {}", api_message(&e)));
}

#[tokio::test]
async fn k8s_invalid_manifests_are_refused_with_intended_message() {
    cluster::install_crds().await;
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace("crd-invalid").await;
    let cases = invalid_cases();
    assert!(cases.len() >= 25, "at least 25 cases");
    let mut failures = Vec::new();
    for c in &cases {
        let mut doc = match c.kind {
            Kind::Org => valid_org(),
            Kind::App => valid_app(),
        };
        for (path, value) in &c.edits {
            set(&mut doc, path, value.clone());
        }
        let obj: DynamicObject = serde_json::from_value(doc).unwrap();
        match api_for(&client, &ns, c.kind).create(&dry_run(), &obj).await {
            Ok(_) => failures.push(format!("[{}] was accepted", c.name)),
            Err(e) => {
                let msg = api_message(&e);
                eprintln!("[{}] refused: {msg}", c.name);
                let missing: Vec<_> = c.expect.iter().filter(|x| !msg.contains(**x)).collect();
                if !missing.is_empty() {
                    failures.push(format!(
                        "[{}] refused, but the message lacks {missing:?}:\n    {msg}",
                        c.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// (d) immutable fields

#[tokio::test]
async fn k8s_immutable_fields_are_refused() {
    cluster::install_crds().await;
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace("crd-immutable").await;
    let apps = api_for(&client, &ns, Kind::App);
    let obj: DynamicObject = serde_json::from_value(valid_app()).unwrap();
    apps.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create app: {}", api_message(&e)));

    let replace = |path: &'static str, value: Value| {
        let apps = apps.clone();
        async move {
            let current = apps.get("telephony").await.unwrap();
            let mut doc = serde_json::to_value(&current).unwrap();
            set(&mut doc, path, value);
            let obj: DynamicObject = serde_json::from_value(doc).unwrap();
            apps.replace("telephony", &PostParams::default(), &obj)
                .await
        }
    };

    for (path, value, expect) in [
        (
            "spec/orgRef/name",
            json!("other-org"),
            "orgRef is immutable",
        ),
        (
            "spec/app/type",
            json!("ExternalClientApp"),
            "app.type is immutable",
        ),
        (
            "spec/app/apiName",
            json!("Telephony_SSO_2"),
            "app.apiName is immutable",
        ),
    ] {
        match replace(path, value).await {
            Ok(_) => panic!("changing {path} was accepted"),
            Err(e) => {
                let msg = api_message(&e);
                assert!(
                    msg.contains(expect),
                    "changing {path}: want {expect:?} in: {msg}"
                );
            }
        }
    }
    // A mutable field still updates (the transition rules do not block every update).
    replace("spec/app/label", json!("Telephony SSO (renamed)"))
        .await
        .unwrap_or_else(|e| panic!("changing app.label refused: {}", api_message(&e)));
}

// ---------------------------------------------------------------------------------------------
// (e) kubectl explain

#[tokio::test]
async fn k8s_kubectl_explain_shows_field_docs() {
    cluster::install_crds().await;
    // The OpenAPI document is republished shortly after the CRD is Established.
    let text = cluster::wait_for_value(
        Duration::from_secs(60),
        "kubectl explain sca.spec.saml.acsUrl to show the field's docs",
        || async {
            let out = cluster::kubectl(&["explain", "sca.spec.saml.acsUrl"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && text.contains("Assertion Consumer Service")).then_some(text)
        },
    )
    .await;
    assert!(text.contains("acsUrl"), "{text}");
}
