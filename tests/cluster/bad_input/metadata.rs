//! Hostile or broken IdP metadata served for apps that were Ready: XML bombs, oversized or too
//! deep documents, the wrong root or namespace, missing or doubled parts, a past `validUntil`, a
//! certificate that is not the IdP's, HTML, a SOAP fault. Each gives `MetadataPublished=False`
//! `MetadataInvalid`; the ConfigMap keeps its last good content; no extra Salesforce write.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    Case, Expect, WAIT, app_yaml, assert_no_failures, check_writes, settle, writes_by_app,
};
use crate::common::e2e::{self, Env, OrgSeed};
use crate::common::{hostile_xml, sim};

/// (name, in the message).
const HOSTILE: [(&str, &str); 18] = [
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

/// The text between `start` and the next `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let rest = s
        .split(start)
        .nth(1)
        .unwrap_or_else(|| panic!("no {start}"));
    rest.split(end).next().expect("split")
}

/// A copy of the good metadata `good` broken as case `name` says. `expired` is the base64 DER
/// of an expired certificate that is not the IdP's.
fn hostile_body(name: &str, good: &str, expired: &str) -> String {
    let body_xml = good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let before_idp = |extra: &str| {
        good.replace(
            "<md:IDPSSODescriptor",
            &format!("{extra}<md:IDPSSODescriptor"),
        )
    };
    let extensions = |inner: &str| format!("<md:Extensions>{inner}</md:Extensions>");
    let with_entity = |doctype: String, entity: &str| {
        let body = body_xml.replace(
            "<md:IDPSSODescriptor",
            &format!("{}<md:IDPSSODescriptor", extensions(entity)),
        );
        format!("<?xml version=\"1.0\"?>\n{doctype}{body}")
    };
    let idp_block = {
        let start = good.find("<md:IDPSSODescriptor").unwrap();
        let end = good.find("</md:IDPSSODescriptor>").unwrap() + "</md:IDPSSODescriptor>".len();
        &good[start..end]
    };
    let cert = between(good, "<ds:X509Certificate>", "</ds:X509Certificate>");
    match name {
        "DOCTYPE" => format!("<?xml version=\"1.0\"?>\n<!DOCTYPE md:EntityDescriptor>{body_xml}"),
        "billion laughs entity expansion" => with_entity(hostile_xml::billion_laughs_doctype(), "&lol9;"),
        "external entity file:///etc/passwd" => with_entity(hostile_xml::external_entity_doctype("x", "xxe"), "&xxe;"),
        "larger than 1 MiB" => before_idp(&format!("<!-- {} -->", "x".repeat(1024 * 1024 + 10))),
        "nesting deeper than 64" => before_idp(&extensions(&format!("{}{}", "<x>".repeat(100), "</x>".repeat(100)))),
        "more than 200000 nodes" => before_idp(&extensions(&"<a/>".repeat(210_000))),
        "wrong namespace" => good.replace("urn:oasis:names:tc:SAML:2.0:metadata", "urn:example:not-saml-metadata"),
        "EntitiesDescriptor root" => format!(
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntitiesDescriptor>",
            body_xml.trim()
        ),
        "no IDPSSODescriptor" => good.replace("IDPSSODescriptor", "SPSSODescriptor"),
        "two IDPSSODescriptors" => good.replace(idp_block, &format!("{idp_block}{idp_block}")),
        "no signing key" => good.replace("use=\"signing\"", "use=\"encryption\""),
        "no SSO endpoint" => good.lines().filter(|l| !l.contains("SingleSignOnService")).collect::<Vec<_>>().join("\n"),
        "validUntil in the past" => good.replace(between(good, "validUntil=\"", "\""), "2001-01-01T00:00:00.000Z"),
        "expired certificate (not the IdP's)" => good.replace(cert, expired),
        "certificate not base64" => good.replace(cert, "!!! not base64 !!!"),
        "malformed (cut in half)" => good[..good.len() / 2].to_string(),
        "HTML maintenance page with HTTP 200" => String::new(),
        "SOAP fault body instead of metadata" => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>sf:UNKNOWN</faultcode><faultstring>boom</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>".to_string(),
        other => panic!("no body for {other}"),
    }
}

/// The fault rule that serves case `name`'s document at the app's metadata `path`.
fn hostile_rule(name: &str, path: &str, good: &str, expired: &str) -> Value {
    if name.starts_with("HTML") {
        json!({"pathPrefix": path, "html": true, "count": 100000})
    } else {
        let body = hostile_body(name, good, expired);
        json!({"pathPrefix": path, "status": 200, "contentType": "text/xml;charset=UTF-8", "body": body, "count": 100000})
    }
}

/// Case `i`: app `m<i>` (`Xml_Case_<i>`).
fn metadata_cases() -> Vec<Case> {
    let cases = HOSTILE.iter().enumerate().map(|(i, (name, needle))| {
        let (app, api_name) = (format!("m{i}"), format!("Xml_Case_{i}"));
        Case {
            name: format!("metadata: {name}"),
            yaml: app_yaml(&app, &api_name, e2e::ORG),
            app,
            api_name,
            org: e2e::ORG.into(),
            expect: Expect::Metadata(needle),
            writes: 0,
        }
    });
    cases.collect()
}

/// Each app Ready; its ConfigMap's content then.
async fn ready_config_maps(
    env: &Env,
    cases: &[Case],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut good = BTreeMap::new();
    for case in cases {
        env.wait_ready(&case.app, WAIT).await;
        let name = format!("{}-idp-metadata", case.app);
        good.insert(case.app.clone(), env.config_map_data(&name).await);
    }
    good
}

#[tokio::test]
async fn k8s_bad_input_hostile_idp_metadata() {
    let env = Env::start("bad-metadata", OrgSeed::default()).await;
    let cases = metadata_cases();
    let mut failures = super::apply_all(&env, &cases);
    let good_cm = ready_config_maps(&env, &cases).await;
    let before = writes_by_app(&env, &cases).await;
    let expired = base64::engine::general_purpose::STANDARD
        .encode(sim::expired_org_certificate("SelfSignedCert_IdP"));
    for ((name, _), case) in HOSTILE.iter().zip(&cases) {
        let path = format!("/.well-known/samlidp/{}.xml", case.api_name);
        let (code, good) = env.sim.get(&path).await;
        assert_eq!(code, 200);
        env.sim
            .fault(hostile_rule(name, &path, &good, &expired))
            .await;
        env.annotate_sync(&case.app, "hostile");
    }
    failures.extend(settle(&env, &cases).await);
    failures.extend(check_writes(&env, &cases, &before).await);
    for case in &cases {
        let cm = env.config_map(&format!("{}-idp-metadata", case.app)).await;
        if cm.as_ref() != Some(&good_cm[&case.app]) {
            failures.push(format!("[{}] the ConfigMap changed", case.name));
        }
    }
    assert_no_failures(&env, cases.len(), &failures);
}
