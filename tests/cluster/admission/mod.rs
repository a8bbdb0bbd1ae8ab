//! Admission: what the API server itself refuses, checked once against the real kube-apiserver
//! (dry-run creates). Valid manifests (full, minimal, client credentials) are accepted; every
//! invalid one in the table (`cases.rs`: one rule each, for both CRDs) is refused with the
//! intended message; immutable fields stay immutable while mutable ones update.
//!
//! Refused objects never exist, so no operator can act on them: the cases need no Salesforce.

mod cases;

use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

use crate::common::cluster;

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
pub enum Kind {
    Org,
    App,
}

pub struct Case {
    name: &'static str,
    kind: Kind,
    /// (path, value) edits of the valid object; `Value::Null` removes.
    edits: Vec<(&'static str, Value)>,
    /// Every one of these must appear in the API server's message.
    expect: &'static [&'static str],
}

pub fn case(
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
    let cases = cases::invalid_cases();
    assert!(cases.len() >= 47, "at least 47 cases");
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
