//! Deploys of External Client Apps: progress, success, reads and lists of what was deployed,
//! injected component failures with roll-back, destructive changes.

use serde_json::json;

use super::*;
use crate::harness::Sim;

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
