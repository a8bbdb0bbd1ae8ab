//! Salesforce's rules for External Client App components, version gating, CRUD refusals,
//! per-app IdP metadata and controls, and WSDL validation of the responses.

use serde_json::json;

use super::*;
use crate::harness::{Sim, envelope, fault_of, results_of};
use crate::xsd;

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

    // More InProgress polls on request (the same access again: replacing, not additive, here).
    let (code, _) = s
        .control_post("/__sim/policy", json!({"deployPollsInProgress": 3}))
        .await;
    assert_eq!(code, 200);
    let (code, _) = s
        .control_post("/__sim/realism", json!({"ecaAccessWrites": "replacing"}))
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
