//! External Client Apps in the simulator: `deploy`/`checkDeployStatus`, CRUD reads, version
//! gating, per-app IdP metadata, test controls. Requests are hand-written XML; zips are built
//! here with the `zip` crate.

#[path = "common/sim.rs"]
mod sim;
#[path = "common/xsd.rs"]
mod xsd;

use std::io::Write as _;

use base64::Engine as _;
use serde_json::json;
use sim::{Sim, envelope, fault_of, results_of};

const APP: &str = "Voice_ECA";

fn zip_b64(files: &[(&str, String)]) -> String {
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

fn package_xml(types: &[(&str, &[&str])]) -> String {
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

fn eca_file(description: &str, dist: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExternalClientApplication xmlns="http://soap.sforce.com/2006/04/metadata"><contactEmail>ops@acme.com</contactEmail><description>{description}</description><distributionState>{dist}</distributionState><isProtected>false</isProtected><label>Voice ECA</label></ExternalClientApplication>"#
    )
}

fn plcy_file(saml_enabled: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata"><externalClientApplication>{APP}</externalClientApplication><isEnabled>true</isEnabled><isOauthPluginEnabled>false</isOauthPluginEnabled><isSamlPluginEnabled>{saml_enabled}</isSamlPluginEnabled><label>Voice ECA policies</label><startPage>SAML</startPage></ExtlClntAppConfigurablePolicies>"#
    )
}

fn saml_file(profiles: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppSamlConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata"><acsUrl>https://voice.example.com/saml/acs</acsUrl><commaSeparatedPermissionSet>Voice_Agent</commaSeparatedPermissionSet><commaSeparatedProfile>{profiles}</commaSeparatedProfile><entityUrl>https://voice.example.com</entityUrl><externalClientApplication>{APP}</externalClientApplication><issuer>https://idp.acme.example/voice</issuer><nameIdFormat>Persistent</nameIdFormat><signingAlgorithmType>SHA256</signingAlgorithmType><singleLogoutBindingType>PostBinding</singleLogoutBindingType><singleLogoutUrl>https://voice.example.com/saml/slo</singleLogoutUrl><subjectType>FederationId</subjectType></ExtlClntAppSamlConfigurablePolicies>"#
    )
}

/// The three-component bundle; `saml_enabled` and `profiles` steer the checks.
fn bundle(saml_enabled: bool, profiles: &str) -> String {
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

fn deploy_body(zip: &str, options: &str) -> String {
    format!("<deploy><ZipFile>{zip}</ZipFile><DeployOptions>{options}</DeployOptions></deploy>")
}

const OPTS: &str = "<rollbackOnError>true</rollbackOnError><singlePackage>true</singlePackage>";

/// A direct child of the response's `<result>` (not of a nested message).
fn text_of(xml: &str, name: &str) -> Option<String> {
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
fn messages(xml: &str, tag: &str) -> Vec<[String; 5]> {
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

async fn deploy(s: &Sim, t: &str, zip: &str, options: &str) -> String {
    let (status, xml) = s.soap(t, &deploy_body(zip, options)).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "done").as_deref(), Some("false"), "{xml}");
    assert_eq!(text_of(&xml, "state").as_deref(), Some("Queued"), "{xml}");
    text_of(&xml, "id").expect("async id")
}

async fn check(s: &Sim, t: &str, id: &str) -> String {
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
async fn finish(s: &Sim, t: &str, id: &str) -> String {
    for _ in 0..10 {
        let xml = check(s, t, id).await;
        if text_of(&xml, "done").as_deref() == Some("true") {
            return xml;
        }
    }
    panic!("deploy {id} never completed");
}

#[tokio::test]
async fn deploy_reports_in_progress_then_succeeds_and_creates_the_app() {
    let s = Sim::start();
    let t = s.token().await;
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    assert!(id.starts_with("0Af"), "{id}");
    let first = check(&s, &t, &id).await;
    assert_eq!(text_of(&first, "done").as_deref(), Some("false"));
    assert_eq!(text_of(&first, "status").as_deref(), Some("InProgress"));
    // Nothing is applied while in progress.
    assert!(
        s.control_get("/__sim/state").await["externalClientApps"][APP].is_null(),
        "applied before completion"
    );
    let done = check(&s, &t, &id).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
    assert_eq!(text_of(&done, "success").as_deref(), Some("true"));
    assert_eq!(
        text_of(&done, "numberComponentsDeployed").as_deref(),
        Some("3")
    );
    assert_eq!(
        text_of(&done, "numberComponentErrors").as_deref(),
        Some("0")
    );
    let ok = messages(&done, "componentSuccesses");
    let names: Vec<(&str, &str)> = ok.iter().map(|m| (m[0].as_str(), m[2].as_str())).collect();
    assert_eq!(
        names,
        [
            ("", "package.xml"),
            (
                "ExternalClientApplication",
                "externalClientApps/Voice_ECA.eca"
            ),
            (
                "ExtlClntAppConfigurablePolicies",
                "extlClntAppPolicies/Voice_ECA_plcy.ecaPlcy"
            ),
            (
                "ExtlClntAppSamlConfigurablePolicies",
                "extlClntAppSamlConfigurablePolicies/Voice_ECA_samlPlcy.ecaSamlPlcy"
            ),
        ]
    );
    assert!(messages(&done, "componentFailures").is_empty());

    let state = s.control_get("/__sim/state").await;
    let eca = &state["externalClientApps"][APP];
    assert_eq!(eca["app"]["distributionState"], "Local");
    assert_eq!(
        eca["app"]["orgScopedExternalApp"],
        format!("{}:{APP}", state["orgId"].as_str().unwrap())
    );
    assert_eq!(
        eca["policies"]["Voice_ECA_plcy"]["isSamlPluginEnabled"],
        true
    );
    assert_eq!(
        eca["samlPolicies"]["Voice_ECA_samlPlcy"]["acsUrl"],
        "https://voice.example.com/saml/acs"
    );

    let calls = s.control_get("/__sim/calls").await;
    assert_eq!(calls["counts"]["deploy"], 1);
    assert_eq!(calls["counts"]["checkDeployStatus"], 2);
    let log = calls["log"].as_array().unwrap();
    let dep = log.iter().find(|r| r["operation"] == "deploy").unwrap();
    assert_eq!(
        dep["fullNames"],
        json!([APP, "Voice_ECA_plcy", "Voice_ECA_samlPlcy"])
    );
    let chk = log
        .iter()
        .find(|r| r["operation"] == "checkDeployStatus")
        .unwrap();
    assert_eq!(chk["fullNames"], json!([id]));

    // Details only when asked.
    let (_, xml) = s
        .soap(
            &t,
            &format!("<checkDeployStatus><asyncProcessId>{id}</asyncProcessId><includeDetails>false</includeDetails></checkDeployStatus>"),
        )
        .await;
    assert!(messages(&xml, "componentSuccesses").is_empty(), "{xml}");
    assert_eq!(text_of(&xml, "status").as_deref(), Some("Succeeded"));
}

#[tokio::test]
async fn read_and_list_the_deployed_components() {
    let s = Sim::start();
    let t = s.token().await;
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    finish(&s, &t, &id).await;
    let (status, xml) = s
        .soap(
            &t,
            "<readMetadata><type>ExtlClntAppSamlConfigurablePolicies</type><fullNames>Voice_ECA_samlPlcy</fullNames><fullNames>Nope</fullNames></readMetadata>",
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains(r#"<records xsi:type="ExtlClntAppSamlConfigurablePolicies"><fullName>Voice_ECA_samlPlcy</fullName><acsUrl>https://voice.example.com/saml/acs</acsUrl><commaSeparatedPermissionSet>Voice_Agent</commaSeparatedPermissionSet>"#), "{xml}");
    assert!(xml.contains(r#"<records xsi:nil="true"/>"#));
    let (_, xml) = s
        .soap(
            &t,
            "<readMetadata><type>ExternalClientApplication</type><fullNames>Voice_ECA</fullNames></readMetadata>",
        )
        .await;
    assert!(xml.contains("<fullName>Voice_ECA</fullName><contactEmail>ops@acme.com</contactEmail><description>Managed by sso-operator: ns/voice (uid 1)</description><distributionState>Local</distributionState><isProtected>false</isProtected><label>Voice ECA</label><orgScopedExternalApp>00D5g000000SIMUEAA:Voice_ECA</orgScopedExternalApp>"), "{xml}");
    let (_, xml) = s
        .soap(
            &t,
            "<listMetadata><queries><type>ExternalClientApplication</type></queries><queries><type>ExtlClntAppConfigurablePolicies</type></queries><queries><type>ExtlClntAppSamlConfigurablePolicies</type></queries><asOfVersion>63.0</asOfVersion></listMetadata>",
        )
        .await;
    for file in [
        "externalClientApps/Voice_ECA.eca",
        "extlClntAppPolicies/Voice_ECA_plcy.ecaPlcy",
        "extlClntAppSamlConfigurablePolicies/Voice_ECA_samlPlcy.ecaSamlPlcy",
    ] {
        assert!(
            xml.contains(&format!("<fileName>{file}</fileName>")),
            "{file}: {xml}"
        );
    }
}

#[tokio::test]
async fn injected_failure_of_one_component_fails_the_deploy_and_rolls_back() {
    let s = Sim::start();
    let t = s.token().await;
    let (code, _) = s
        .control_post(
            "/__sim/faults",
            json!({"operation": "deploy", "failComponent": "Voice_ECA_samlPlcy", "problem": "Invalid ACS URL for this org"}),
        )
        .await;
    assert_eq!(code, 200);
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    let done = finish(&s, &t, &id).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Failed"),
        "{done}"
    );
    assert_eq!(text_of(&done, "success").as_deref(), Some("false"));
    assert_eq!(
        text_of(&done, "numberComponentErrors").as_deref(),
        Some("1")
    );
    let failures = messages(&done, "componentFailures");
    assert_eq!(
        failures,
        [[
            "ExtlClntAppSamlConfigurablePolicies".to_owned(),
            "Voice_ECA_samlPlcy".to_owned(),
            "extlClntAppSamlConfigurablePolicies/Voice_ECA_samlPlcy.ecaSamlPlcy".to_owned(),
            "Invalid ACS URL for this org".to_owned(),
            "Error".to_owned(),
        ]]
    );
    // rollbackOnError: the good components are reported but nothing is kept.
    assert_eq!(messages(&done, "componentSuccesses").len(), 3);
    assert!(s.control_get("/__sim/state").await["externalClientApps"][APP].is_null());
    // The rule is used up: the same deploy now succeeds.
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    let done = finish(&s, &t, &id).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
}

#[tokio::test]
async fn salesforce_rules_fail_single_components() {
    let s = Sim::start();
    let t = s.token().await;
    // SAML plugin off, and an unknown profile: the SAML policy fails with both problems.
    let id = deploy(&s, &t, &bundle(false, "Contact Center Agent, Nope"), OPTS).await;
    let done = finish(&s, &t, &id).await;
    assert_eq!(text_of(&done, "status").as_deref(), Some("Failed"));
    let problems: Vec<String> = messages(&done, "componentFailures")
        .into_iter()
        .map(|m| {
            assert_eq!(m[1], "Voice_ECA_samlPlcy");
            m[3].clone()
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("isSamlPluginEnabled"), "{problems:?}");
    assert_eq!(
        problems[1],
        "In field: commaSeparatedProfile - no Profile named Nope found"
    );

    // rollbackOnError=false keeps what passed: SucceededPartial.
    let id = deploy(
        &s,
        &t,
        &bundle(false, "Contact Center Agent"),
        "<rollbackOnError>false</rollbackOnError>",
    )
    .await;
    let done = finish(&s, &t, &id).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("SucceededPartial")
    );
    assert_eq!(text_of(&done, "success").as_deref(), Some("true"));
    let state = s.control_get("/__sim/state").await;
    assert!(state["externalClientApps"][APP]["app"].is_object());
    assert_eq!(state["externalClientApps"][APP]["samlPolicies"], json!({}));

    // Packaged parent: SAML refused.
    let zip = zip_b64(&[
        (
            "package.xml",
            package_xml(&[("ExternalClientApplication", &["Pkg_App"])]),
        ),
        ("externalClientApps/Pkg_App.eca", eca_file("x", "Packaged")),
    ]);
    finish(&s, &t, &deploy(&s, &t, &zip, OPTS).await).await;
    let zip = zip_b64(&[
        (
            "package.xml",
            package_xml(&[
                ("ExtlClntAppConfigurablePolicies", &["Pkg_App_plcy"]),
                ("ExtlClntAppSamlConfigurablePolicies", &["Pkg_App_samlPlcy"]),
            ]),
        ),
        (
            "extlClntAppPolicies/Pkg_App_plcy.ecaPlcy",
            plcy_file(true).replace(APP, "Pkg_App"),
        ),
        (
            "extlClntAppSamlConfigurablePolicies/Pkg_App_samlPlcy.ecaSamlPlcy",
            saml_file("Contact Center Agent").replace(APP, "Pkg_App"),
        ),
    ]);
    let done = finish(&s, &t, &deploy(&s, &t, &zip, OPTS).await).await;
    let f = messages(&done, "componentFailures");
    assert_eq!(f.len(), 1, "{done}");
    assert!(f[0][3].contains("distributionState is Packaged"), "{f:?}");

    // A missing file and a bad enum token are per-component problems too.
    let zip = zip_b64(&[
        (
            "package.xml",
            package_xml(&[("ExternalClientApplication", &["Missing_File", "Bad_Enum"])]),
        ),
        (
            "externalClientApps/Bad_Enum.eca",
            eca_file("x", "Everywhere"),
        ),
    ]);
    let done = finish(&s, &t, &deploy(&s, &t, &zip, OPTS).await).await;
    let f = messages(&done, "componentFailures");
    assert_eq!(f.len(), 2, "{done}");
    assert_eq!(f[0][1], "Missing_File");
    assert_eq!(f[0][2], "package.xml");
    assert!(f[0][3].contains("was named in package.xml, but was not found in zipped directory"));
    assert_eq!(f[1][1], "Bad_Enum");
    assert!(
        f[1][3].contains("'Everywhere' is not a valid value for the enum 'ExtlClntAppDistState'"),
        "{f:?}"
    );
}

#[tokio::test]
async fn versions_below_63_do_not_know_saml_policies() {
    let s = Sim::start();
    let t = s.token().await;
    let (status, _, xml) = s
        .soap_raw(
            "/services/Soap/m/62.0",
            None,
            envelope(
                &t,
                "<readMetadata><type>ExtlClntAppSamlConfigurablePolicies</type><fullNames>X</fullNames></readMetadata>",
            ),
        )
        .await;
    assert_eq!(status, 500);
    let (code, msg) = fault_of(&xml).unwrap();
    assert_eq!(code, "sf:INVALID_TYPE");
    assert!(msg.contains("ExtlClntAppSamlConfigurablePolicies"), "{msg}");
    let (_, _, xml) = s
        .soap_raw(
            "/services/Soap/m/62.0",
            None,
            envelope(
                &t,
                &deploy_body(&bundle(true, "Contact Center Agent"), OPTS),
            ),
        )
        .await;
    let id = text_of(&xml, "id").unwrap();
    let mut done = String::new();
    for _ in 0..3 {
        let (_, _, x) = s
            .soap_raw(
                "/services/Soap/m/62.0",
                None,
                envelope(&t, &format!("<checkDeployStatus><asyncProcessId>{id}</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>")),
            )
            .await;
        done = x;
    }
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Failed"),
        "{done}"
    );
    let f = messages(&done, "componentFailures");
    assert!(
        f.iter().any(|m| m[3]
            == "Unknown type name 'ExtlClntAppSamlConfigurablePolicies' specified in package.xml"),
        "{f:?}"
    );
}

#[tokio::test]
async fn crud_writes_are_refused_but_delete_works() {
    let s = Sim::start();
    let t = s.token().await;
    let (_, xml) = s
        .soap(
            &t,
            r#"<upsertMetadata><metadata xsi:type="ExternalClientApplication"><fullName>Crud_App</fullName><label>Crud</label></metadata></upsertMetadata>"#,
        )
        .await;
    let r = results_of(&xml);
    assert!(!r[0].success);
    assert_eq!(r[0].status_codes, ["INVALID_OPERATION"]);
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    finish(&s, &t, &id).await;
    let (_, xml) = s
        .soap(
            &t,
            "<deleteMetadata><type>ExternalClientApplication</type><fullNames>Voice_ECA</fullNames><fullNames>Nope</fullNames></deleteMetadata>",
        )
        .await;
    let r = results_of(&xml);
    assert!(r[0].success, "{xml}");
    assert_eq!(r[1].status_codes, ["INVALID_CROSS_REFERENCE_KEY"]);
    // The policies went with the app.
    let (_, xml) = s
        .soap(
            &t,
            "<readMetadata><type>ExtlClntAppSamlConfigurablePolicies</type><fullNames>Voice_ECA_samlPlcy</fullNames></readMetadata>",
        )
        .await;
    assert!(xml.contains(r#"<records xsi:nil="true"/>"#), "{xml}");
}

#[tokio::test]
async fn destructive_changes_delete_and_missing_names_are_warnings() {
    let s = Sim::start();
    let t = s.token().await;
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    finish(&s, &t, &id).await;
    let destructive = |names: &[&str]| {
        zip_b64(&[
            ("package.xml", package_xml(&[])),
            (
                "destructiveChanges.xml",
                package_xml(&[("ExternalClientApplication", names)]),
            ),
        ])
    };
    // A missing name is a warning: it fails the deploy unless ignoreWarnings.
    let done = finish(&s, &t, &deploy(&s, &t, &destructive(&["Nope"]), OPTS).await).await;
    assert_eq!(text_of(&done, "status").as_deref(), Some("Failed"));
    let f = messages(&done, "componentFailures");
    assert_eq!(f[0][3], "No ExternalClientApplication named: Nope found");
    assert_eq!(f[0][4], "Warning");
    let done = finish(
        &s,
        &t,
        &deploy(
            &s,
            &t,
            &destructive(&["Voice_ECA", "Nope"]),
            "<ignoreWarnings>true</ignoreWarnings><rollbackOnError>true</rollbackOnError>",
        )
        .await,
    )
    .await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
    assert!(
        s.control_get("/__sim/state").await["externalClientApps"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn idp_metadata_mutate_and_deploy_controls() {
    let s = Sim::start();
    let t = s.token().await;
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    finish(&s, &t, &id).await;
    let r = s
        .client
        .get(s.u("/.well-known/samlidp/Voice_ECA.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains(r#"entityID="https://idp.acme.example/voice""#),
        "{xml}"
    );
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"));
    assert!(xml.contains(
        r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST""#
    ));

    // Drift made in Setup.
    let (code, body) = s
        .control_post(
            "/__sim/mutate",
            json!({"type": "ExtlClntAppSamlConfigurablePolicies", "fullName": "Voice_ECA_samlPlcy",
                   "set": {"acsUrl": "https://evil.example.com/acs"}, "unset": ["issuer"]}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let state = s.control_get("/__sim/state").await;
    let saml = &state["externalClientApps"][APP]["samlPolicies"]["Voice_ECA_samlPlcy"];
    assert_eq!(saml["acsUrl"], "https://evil.example.com/acs");
    assert!(saml["issuer"].is_null());
    let xml = s
        .client
        .get(s.u("/.well-known/samlidp/Voice_ECA.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains(r#"entityID="https://acme.my.salesforce.com""#),
        "{xml}"
    );
    // Mutations are checked like a deploy.
    let (code, body) = s
        .control_post(
            "/__sim/mutate",
            json!({"type": "ExtlClntAppSamlConfigurablePolicies", "fullName": "Voice_ECA_samlPlcy",
                   "set": {"commaSeparatedProfile": "Nope"}}),
        )
        .await;
    assert_eq!(code, 400, "{body}");

    // More InProgress polls on request.
    let (code, _) = s
        .control_post("/__sim/policy", json!({"deployPollsInProgress": 3}))
        .await;
    assert_eq!(code, 200);
    let id = deploy(&s, &t, &bundle(true, "Contact Center Agent"), OPTS).await;
    for _ in 0..3 {
        let x = check(&s, &t, &id).await;
        assert_eq!(text_of(&x, "status").as_deref(), Some("InProgress"));
    }
    let x = check(&s, &t, &id).await;
    assert_eq!(text_of(&x, "status").as_deref(), Some("Succeeded"), "{x}");
    // Unknown id.
    let (status, xml) = s
        .soap(
            &t,
            "<checkDeployStatus><asyncProcessId>0Af000000000000AAA</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>",
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(fault_of(&xml).unwrap().0, "sf:INVALID_CROSS_REFERENCE_KEY");
}

/// Every ECA-related response body validates against the v63.0 WSDL schema.
#[tokio::test]
async fn eca_responses_validate_against_the_wsdl_schema() {
    let Some(schema) = xsd::metadata_xsd() else {
        xsd::skip("WSDL schema validation");
        return;
    };
    let s = Sim::start();
    let t = s.token().await;
    let mut bodies = Vec::new();
    let (_, xml) = s
        .soap(
            &t,
            &deploy_body(&bundle(true, "Contact Center Agent"), OPTS),
        )
        .await;
    let ok_id = text_of(&xml, "id").unwrap();
    bodies.push(xml);
    bodies.push(check(&s, &t, &ok_id).await);
    bodies.push(check(&s, &t, &ok_id).await);
    s.control_post(
        "/__sim/faults",
        json!({"failComponent": "Voice_ECA_plcy", "problem": "boom"}),
    )
    .await;
    let bad_id = deploy(&s, &t, &bundle(true, "Contact Center Agent, Nope"), OPTS).await;
    bodies.push(finish(&s, &t, &bad_id).await);
    for inner in [
        "<readMetadata><type>ExternalClientApplication</type><fullNames>Voice_ECA</fullNames></readMetadata>",
        "<readMetadata><type>ExtlClntAppConfigurablePolicies</type><fullNames>Voice_ECA_plcy</fullNames></readMetadata>",
        "<readMetadata><type>ExtlClntAppSamlConfigurablePolicies</type><fullNames>Voice_ECA_samlPlcy</fullNames></readMetadata>",
        "<listMetadata><queries><type>ExternalClientApplication</type></queries><queries><type>ExtlClntAppSamlConfigurablePolicies</type></queries><asOfVersion>63.0</asOfVersion></listMetadata>",
        r#"<upsertMetadata><metadata xsi:type="ExtlClntAppConfigurablePolicies"><fullName>X</fullName><externalClientApplication>Voice_ECA</externalClientApplication><isEnabled>true</isEnabled></metadata></upsertMetadata>"#,
        "<deleteMetadata><type>ExternalClientApplication</type><fullNames>Voice_ECA</fullNames><fullNames>Nope</fullNames></deleteMetadata>",
    ] {
        let (status, xml) = s.soap(&t, inner).await;
        assert_eq!(status, 200, "{inner}: {xml}");
        bodies.push(xml);
    }
    let mut files = Vec::new();
    for (i, xml) in bodies.iter().enumerate() {
        let path = s.dir.path().join(format!("eca-response-{i}.xml"));
        std::fs::write(&path, xsd::body_payload(xml)).unwrap();
        files.push(path);
    }
    xsd::validate(&schema, &files).unwrap_or_else(|e| panic!("schema validation failed:\n{e}"));
}
