//! External Client Apps in the simulator: `deploy`/`checkDeployStatus`, CRUD reads, version
//! gating, per-app IdP metadata, test controls. Requests are hand-written XML; zips are built
//! here with the `zip` crate. This module holds the request builders and response readers;
//! `deploy` and `rules` hold the tests.

mod deploy;
mod rules;

use std::io::Write as _;

use base64::Engine as _;

use crate::harness::Sim;

pub(super) const APP: &str = "Voice_ECA";

pub(super) fn zip_b64(files: &[(&str, String)]) -> String {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

pub(super) fn package_xml(types: &[(&str, &[&str])]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">"#,
    );
    for (name, members) in types {
        out.push_str("<types>");
        for m in *members {
            out.push_str(&format!("<members>{m}</members>"));
        }
        out.push_str(&format!("<name>{name}</name></types>"));
    }
    out.push_str("<version>63.0</version></Package>");
    out
}

pub(super) fn eca_file(description: &str, dist: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExternalClientApplication xmlns="http://soap.sforce.com/2006/04/metadata"><contactEmail>ops@acme.com</contactEmail><description>{description}</description><distributionState>{dist}</distributionState><isProtected>false</isProtected><label>Voice ECA</label></ExternalClientApplication>"#
    )
}

pub(super) fn plcy_file(saml_enabled: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata"><externalClientApplication>{APP}</externalClientApplication><isEnabled>true</isEnabled><isOauthPluginEnabled>false</isOauthPluginEnabled><isSamlPluginEnabled>{saml_enabled}</isSamlPluginEnabled><label>Voice ECA policies</label><startPage>SAML</startPage></ExtlClntAppConfigurablePolicies>"#
    )
}

pub(super) fn saml_file(profiles: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppSamlConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata"><acsUrl>https://voice.example.com/saml/acs</acsUrl><commaSeparatedPermissionSet>Voice_Agent</commaSeparatedPermissionSet><commaSeparatedProfile>{profiles}</commaSeparatedProfile><entityUrl>https://voice.example.com</entityUrl><externalClientApplication>{APP}</externalClientApplication><issuer>https://idp.acme.example/voice</issuer><nameIdFormat>Persistent</nameIdFormat><signingAlgorithmType>SHA256</signingAlgorithmType><singleLogoutBindingType>PostBinding</singleLogoutBindingType><singleLogoutUrl>https://voice.example.com/saml/slo</singleLogoutUrl><subjectType>FederationId</subjectType></ExtlClntAppSamlConfigurablePolicies>"#
    )
}

/// The three-component bundle; `saml_enabled` and `profiles` steer the checks.
pub(super) fn bundle(saml_enabled: bool, profiles: &str) -> String {
    let plcy = format!("{APP}_plcy");
    let saml = format!("{APP}_samlPlcy");
    zip_b64(&[
        (
            "package.xml",
            package_xml(&[
                ("ExternalClientApplication", &[APP]),
                ("ExtlClntAppConfigurablePolicies", &[plcy.as_str()]),
                ("ExtlClntAppSamlConfigurablePolicies", &[saml.as_str()]),
            ]),
        ),
        (
            "externalClientApps/Voice_ECA.eca",
            eca_file("Managed by sso-operator: ns/voice (uid 1)", "Local"),
        ),
        (
            "extlClntAppPolicies/Voice_ECA_plcy.ecaPlcy",
            plcy_file(saml_enabled),
        ),
        (
            "extlClntAppSamlConfigurablePolicies/Voice_ECA_samlPlcy.ecaSamlPlcy",
            saml_file(profiles),
        ),
    ])
}

pub(super) fn deploy_body(zip: &str, options: &str) -> String {
    format!("<deploy><ZipFile>{zip}</ZipFile><DeployOptions>{options}</DeployOptions></deploy>")
}

pub(super) const OPTS: &str =
    "<rollbackOnError>true</rollbackOnError><singlePackage>true</singlePackage>";

/// A direct child of the response's `<result>` (not of a nested message).
pub(super) fn text_of(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let result = doc
        .descendants()
        .find(|n| n.tag_name().name() == "result")?;
    result
        .children()
        .find(|n| n.tag_name().name() == name)
        .map(|n| n.text().unwrap_or("").to_owned())
}

/// `(componentType, fullName, fileName, problem, problemType)` of each message under `tag`.
pub(super) fn messages(xml: &str, tag: &str) -> Vec<[String; 5]> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .map(|m| {
            let t = |name: &str| {
                m.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_owned()
            };
            [
                t("componentType"),
                t("fullName"),
                t("fileName"),
                t("problem"),
                t("problemType"),
            ]
        })
        .collect()
}

pub(super) async fn deploy(s: &Sim, t: &str, zip: &str, options: &str) -> String {
    let (status, xml) = s.soap(t, &deploy_body(zip, options)).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "done").as_deref(), Some("false"), "{xml}");
    assert_eq!(text_of(&xml, "state").as_deref(), Some("Queued"), "{xml}");
    text_of(&xml, "id").expect("async id")
}

pub(super) async fn check(s: &Sim, t: &str, id: &str) -> String {
    let (status, xml) = s
        .soap(
            t,
            &format!("<checkDeployStatus><asyncProcessId>{id}</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    xml
}

/// Polls until done; returns the final response.
pub(super) async fn finish(s: &Sim, t: &str, id: &str) -> String {
    for _ in 0..10 {
        let xml = check(s, t, id).await;
        if text_of(&xml, "done").as_deref() == Some("true") {
            return xml;
        }
    }
    panic!("deploy {id} never completed");
}
