//! Metadata API SOAP endpoint of the simulator, driven with hand-written envelopes.

use crate::harness as sim;
use crate::xsd;

use serde_json::json;
use sim::{Options, Sim, envelope, fault_of, results_of, saml_app};

#[tokio::test]
async fn read_returns_records_in_order_and_nil_for_missing_names() {
    let s = Sim::start();
    let t = s.token().await;
    let (status, xml) = s
        .soap(
            &t,
            "<readMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames><fullNames>Missing_App</fullNames></readMetadata>",
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let records: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "records")
        .collect();
    assert_eq!(records.len(), 2);
    let xsi = "http://www.w3.org/2001/XMLSchema-instance";
    assert_eq!(records[0].attribute((xsi, "type")), Some("ConnectedApp"));
    assert_eq!(records[1].attribute((xsi, "nil")), Some("true"));
    // WSDL sequence order: fullName, contactEmail, label, profileName, samlConfig.
    let names: Vec<&str> = records[0]
        .children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect();
    assert_eq!(
        names,
        [
            "fullName",
            "contactEmail",
            "label",
            "profileName",
            "samlConfig"
        ]
    );
}

#[tokio::test]
async fn creation_is_blocked_by_default_but_update_and_delete_work() {
    let s = Sim::start();
    let t = s.token().await;
    let (status, xml) = s.soap(&t, &sim::upsert(&saml_app("New_App"))).await;
    assert_eq!(status, 200, "{xml}");
    let r = &results_of(&xml)[0];
    assert!(!r.success);
    assert_eq!(r.created, Some(false));
    assert_eq!(r.status_codes, ["INSUFFICIENT_ACCESS"]);
    assert!(r.messages[0].contains("Spring '26") && r.messages[0].contains("Salesforce Support"));
    let (_, xml) = s
        .soap(
            &t,
            &format!("<createMetadata>{}</createMetadata>", saml_app("New_App")),
        )
        .await;
    assert_eq!(results_of(&xml)[0].status_codes, ["INSUFFICIENT_ACCESS"]);

    // Update of the existing app works.
    let (_, xml) = s
        .soap(
            &t,
            &format!(
                "<updateMetadata>{}</updateMetadata>",
                saml_app("Existing_Telephony")
            ),
        )
        .await;
    let r = &results_of(&xml)[0];
    assert!(r.success, "{xml}");
    // Upsert of an existing app: created=false.
    let (_, xml) = s
        .soap(&t, &sim::upsert(&saml_app("Existing_Telephony")))
        .await;
    let r = &results_of(&xml)[0];
    assert!(r.success && r.created == Some(false), "{xml}");
    // Delete works; a second delete reports the missing component.
    let del = "<deleteMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames></deleteMetadata>";
    let (_, xml) = s.soap(&t, del).await;
    assert!(results_of(&xml)[0].success, "{xml}");
    let (_, xml) = s.soap(&t, del).await;
    let r = &results_of(&xml)[0];
    assert!(!r.success);
    assert_eq!(r.status_codes, ["INVALID_CROSS_REFERENCE_KEY"]);
}

#[tokio::test]
async fn upsert_creates_when_allowed_with_partial_success() {
    let s = Sim::start_with(Options {
        org: sim::org(true),
        ..Options::default()
    });
    let t = s.token().await;
    let bad_profile = saml_app("Bad_Profile").replace("Contact Center Agent", "No Such Profile");
    let (_, xml) = s
        .soap(
            &t,
            &format!(
                "<upsertMetadata>{}{}</upsertMetadata>",
                saml_app("App_One"),
                bad_profile
            ),
        )
        .await;
    let r = results_of(&xml);
    assert_eq!(r.len(), 2);
    assert!(r[0].success && r[0].created == Some(true), "{xml}");
    assert!(!r[1].success);
    assert_eq!(r[1].status_codes, ["INVALID_CROSS_REFERENCE_KEY"]);
    assert!(r[1].messages[0].contains("no Profile named No Such Profile"));
    let (_, xml) = s.soap(&t, &sim::upsert(&saml_app("App_One"))).await;
    assert_eq!(results_of(&xml)[0].created, Some(false));
    // Unknown permission set.
    let ps = saml_app("Ps_App").replace(
        "<profileName>",
        "<permissionSetName>Nope_PS</permissionSetName><profileName>",
    );
    let (_, xml) = s
        .soap(&t, &format!("<createMetadata>{ps}</createMetadata>"))
        .await;
    assert!(results_of(&xml)[0].messages[0].contains("no PermissionSet named Nope_PS"));
}

/// Developer names are unique regardless of case: a create or an upsert of `app_one` next to
/// `App_One` is `DUPLICATE_DEVELOPER_NAME`; an update still names the exact app.
#[tokio::test]
async fn a_name_in_another_case_is_a_duplicate() {
    let s = Sim::start_with(Options {
        org: sim::org(true),
        ..Options::default()
    });
    let t = s.token().await;
    let (_, xml) = s.soap(&t, &sim::upsert(&saml_app("App_One"))).await;
    assert!(results_of(&xml)[0].success, "{xml}");
    let call = |op: &str| format!("<{op}>{}</{op}>", saml_app("app_one"));
    // Names matched regardless of case (the default variant): a create is a duplicate of the
    // stored app, an upsert finds and updates it; never a second app.
    let (_, xml) = s.soap(&t, &call("createMetadata")).await;
    let r = &results_of(&xml)[0];
    assert_eq!(r.status_codes, ["DUPLICATE_DEVELOPER_NAME"], "{xml}");
    assert!(r.messages[0].contains("App_One"), "{xml}");
    let (_, xml) = s.soap(&t, &call("upsertMetadata")).await;
    assert!(results_of(&xml)[0].success, "{xml}");
    // Reads matching names exactly (caseSensitive): both are duplicates, names being unique
    // regardless of case all the same.
    s.control_post("/__sim/realism", json!({"nameMatching": "caseSensitive"}))
        .await;
    for op in ["createMetadata", "upsertMetadata"] {
        let (_, xml) = s.soap(&t, &call(op)).await;
        let r = &results_of(&xml)[0];
        assert!(!r.success, "{op}: {xml}");
        assert_eq!(r.status_codes, ["DUPLICATE_DEVELOPER_NAME"], "{op}");
        assert!(r.messages[0].contains("App_One"), "{op}: {xml}");
    }
    let state = s.control_get("/__sim/state").await;
    let apps = state["connectedApps"].as_object().unwrap();
    assert_eq!(
        apps.keys()
            .filter(|k| k.eq_ignore_ascii_case("app_one"))
            .count(),
        1,
        "{apps:?}"
    );
}

#[tokio::test]
async fn all_or_none_rolls_back() {
    let s = Sim::start_with(Options {
        org: sim::org(true),
        ..Options::default()
    });
    let t = s.token().await;
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>{t}</sessionId></SessionHeader><AllOrNoneHeader><allOrNone>true</allOrNone></AllOrNoneHeader></soapenv:Header><soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata"><createMetadata>{}{}</createMetadata></soapenv:Body></soapenv:Envelope>"#,
        saml_app("Good_App"),
        saml_app("Existing_Telephony")
    );
    let (_, _, xml) = s.soap_raw("/services/Soap/m/66.0", None, body).await;
    let r = results_of(&xml);
    assert!(
        !r[0].success && r[0].status_codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"],
        "{xml}"
    );
    let state = s.control_get("/__sim/state").await;
    assert!(state["connectedApps"].get("Good_App").is_none());
}

#[tokio::test]
async fn bad_enum_token_is_a_client_fault() {
    let s = Sim::start();
    let t = s.token().await;
    let app = saml_app("Existing_Telephony").replace(
        "<samlSubjectType>FederationId</samlSubjectType>",
        "<samlSubjectType>federationId</samlSubjectType>",
    );
    let (status, xml) = s
        .soap(&t, &format!("<updateMetadata>{app}</updateMetadata>"))
        .await;
    assert_eq!(status, 500);
    let (code, msg) = fault_of(&xml).expect("fault");
    assert_eq!(code, "soapenv:Client");
    assert_eq!(
        msg,
        "'federationId' is not a valid value for the enum 'SamlSubjectType'"
    );
    // A URN where a token is expected, and a bad encryption type.
    for (from, to, en) in [
        (
            "<samlNameIdFormat>Persistent</samlNameIdFormat>",
            "<samlNameIdFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</samlNameIdFormat>",
            "SamlNameIdFormatType",
        ),
        (
            "<entityUrl>",
            "<encryptionType>None</encryptionType><entityUrl>",
            "SamlEncryptionType",
        ),
    ] {
        let app = saml_app("Existing_Telephony").replace(from, to);
        let (status, xml) = s
            .soap(&t, &format!("<updateMetadata>{app}</updateMetadata>"))
            .await;
        assert_eq!(status, 500);
        let (_, msg) = fault_of(&xml).unwrap();
        assert!(msg.ends_with(&format!("for the enum '{en}'")), "{msg}");
    }
}

#[tokio::test]
async fn unknown_element_is_a_client_fault() {
    let s = Sim::start();
    let t = s.token().await;
    let app = saml_app("Existing_Telephony").replace(
        "<samlSubjectType>",
        "<samlIdpSLOBinding>RedirectBinding</samlIdpSLOBinding><samlSubjectType>",
    );
    let (status, xml) = s
        .soap(&t, &format!("<upsertMetadata>{app}</upsertMetadata>"))
        .await;
    assert_eq!(status, 500);
    let (code, msg) = fault_of(&xml).unwrap();
    assert_eq!(code, "soapenv:Client");
    assert_eq!(
        msg,
        "Element {http://soap.sforce.com/2006/04/metadata}samlIdpSLOBinding invalid at this location"
    );
}

#[tokio::test]
async fn missing_required_elements_are_per_component_errors() {
    let s = Sim::start();
    let t = s.token().await;
    let app = saml_app("Existing_Telephony")
        .replace("<label>Existing_Telephony label</label>", "")
        .replace(
            "<acsUrl>https://sp.example.com/Existing_Telephony/acs</acsUrl>",
            "",
        );
    let (status, xml) = s
        .soap(&t, &format!("<updateMetadata>{app}</updateMetadata>"))
        .await;
    assert_eq!(status, 200, "{xml}");
    let r = &results_of(&xml)[0];
    assert!(!r.success);
    assert_eq!(
        r.status_codes,
        ["REQUIRED_FIELD_MISSING", "REQUIRED_FIELD_MISSING"]
    );
    assert_eq!(
        r.messages,
        [
            "Required field is missing: label",
            "Required field is missing: acsUrl"
        ]
    );
    // IdentityProviderSettings needs both fields, and an existing certificate.
    let (_, xml) = s
        .soap(&t, r#"<updateMetadata><metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><enableIdentityProvider>true</enableIdentityProvider></metadata></updateMetadata>"#)
        .await;
    assert_eq!(
        results_of(&xml)[0].messages,
        ["Required field is missing: certificateName"]
    );
    let (_, xml) = s
        .soap(&t, r#"<upsertMetadata><metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><certificateName>Nope</certificateName><enableIdentityProvider>true</enableIdentityProvider></metadata></upsertMetadata>"#)
        .await;
    assert_eq!(
        results_of(&xml)[0].status_codes,
        ["INVALID_CROSS_REFERENCE_KEY"]
    );
}

#[tokio::test]
async fn more_than_ten_components_are_refused() {
    let s = Sim::start();
    let t = s.token().await;
    let many: String = (0..11).map(|i| saml_app(&format!("App_{i}"))).collect();
    let (status, xml) = s
        .soap(&t, &format!("<upsertMetadata>{many}</upsertMetadata>"))
        .await;
    assert_eq!(status, 500);
    let (code, msg) = fault_of(&xml).unwrap();
    assert_eq!(code, "sf:EXCEEDED_ID_LIMIT");
    assert!(msg.contains("more than 10"), "{msg}");
    let names: String = (0..11)
        .map(|i| format!("<fullNames>A{i}</fullNames>"))
        .collect();
    let (status, _) = s
        .soap(
            &t,
            &format!("<readMetadata><type>ConnectedApp</type>{names}</readMetadata>"),
        )
        .await;
    assert_eq!(status, 500);
    // Ten is fine.
    let ten: String = (0..10).map(|i| saml_app(&format!("App_{i}"))).collect();
    let (status, xml) = s
        .soap(&t, &format!("<upsertMetadata>{ten}</upsertMetadata>"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(results_of(&xml).len(), 10);
}

#[tokio::test]
async fn missing_or_unknown_session_is_invalid_session_id() {
    let s = Sim::start();
    let (status, ct, xml) = s
        .soap_raw(
            "/services/Soap/m/66.0",
            None,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>ConnectedApp</type></readMetadata></soapenv:Body></soapenv:Envelope>"#.into(),
        )
        .await;
    assert_eq!(status, 500);
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert_eq!(fault_of(&xml).unwrap().0, "sf:INVALID_SESSION_ID");
    let (status, xml) = s
        .soap(
            "00D5g000000SIMU!bogus",
            "<readMetadata><type>ConnectedApp</type></readMetadata>",
        )
        .await;
    assert_eq!(status, 500);
    let (code, msg) = fault_of(&xml).unwrap();
    assert_eq!(code, "sf:INVALID_SESSION_ID");
    assert!(msg.starts_with("INVALID_SESSION_ID: Invalid Session ID found in SessionHeader"));
}

#[tokio::test]
async fn exhausted_daily_allocation_is_request_limit_exceeded() {
    let s = Sim::start();
    let t = s.token().await;
    s.control_post("/__sim/limits", json!({"used": 15000}))
        .await;
    let (status, xml) = s
        .soap(&t, "<readMetadata><type>ConnectedApp</type></readMetadata>")
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        fault_of(&xml).unwrap(),
        (
            "sf:REQUEST_LIMIT_EXCEEDED".to_owned(),
            "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.".to_owned()
        )
    );
    // The allocation returns after 24 h on the simulator clock.
    s.control_post("/__sim/clock", json!({"advanceSeconds": 86_401}))
        .await;
    let t = s.token().await;
    let (status, _) = s
        .soap(&t, "<readMetadata><type>ConnectedApp</type></readMetadata>")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn interop_request_shapes_are_accepted() {
    let s = Sim::start();
    let t = s.token().await;
    // zeep / simple-salesforce: prefixed elements, met: prefix on xsi:type, quoted SOAPAction,
    // org id in the URL.
    let zeep = format!(
        r#"<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Header><ns0:SessionHeader xmlns:ns0="http://soap.sforce.com/2006/04/metadata"><ns0:sessionId>{t}</ns0:sessionId></ns0:SessionHeader></soap-env:Header><soap-env:Body><ns0:updateMetadata xmlns:ns0="http://soap.sforce.com/2006/04/metadata"><ns0:metadata xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:met="http://soap.sforce.com/2006/04/metadata" xsi:type="met:ConnectedApp"><ns0:fullName>Existing_Telephony</ns0:fullName><ns0:label>Zeep</ns0:label><ns0:contactEmail>z@acme.com</ns0:contactEmail></ns0:metadata></ns0:updateMetadata></soap-env:Body></soap-env:Envelope>"#
    );
    for (path, action) in [
        (
            "/services/Soap/m/63.0/00D5g000000SIMUEAA",
            Some("\"updateMetadata\""),
        ),
        (
            "/services/Soap/m/66.0/00D5g000000SIMU",
            Some("updateMetadata"),
        ),
        ("/services/Soap/m/57.0", None),
    ] {
        let (status, ct, xml) = s.soap_raw(path, action, zeep.clone()).await;
        assert_eq!(status, 200, "{path}: {xml}");
        assert_eq!(ct, "text/xml; charset=utf-8");
        assert!(results_of(&xml)[0].success, "{xml}");
    }
    // Children in non-WSDL order are accepted (jsforce serialises in caller key order),
    // and the read-back is in WSDL order.
    let (_, xml) = s
        .soap(&t, r#"<updateMetadata><metadata xsi:type="ConnectedApp"><label>Reordered</label><samlConfig><samlSubjectType>Username</samlSubjectType><entityUrl>https://e</entityUrl><acsUrl>https://a</acsUrl></samlConfig><contactEmail>r@acme.com</contactEmail><fullName>Existing_Telephony</fullName></metadata></updateMetadata>"#)
        .await;
    assert!(results_of(&xml)[0].success, "{xml}");
    let (_, xml) = s
        .soap(&t, "<readMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames></readMetadata>")
        .await;
    assert!(xml.contains("<fullName>Existing_Telephony</fullName><contactEmail>r@acme.com</contactEmail><label>Reordered</label><samlConfig><acsUrl>https://a</acsUrl><entityUrl>https://e</entityUrl><samlSubjectType>Username</samlSubjectType></samlConfig>"), "{xml}");
    // An unknown operation.
    let (status, xml) = s.soap(&t, "<retrieveEverything/>").await;
    assert_eq!(status, 500);
    assert!(
        fault_of(&xml)
            .unwrap()
            .1
            .starts_with("No operation available for request")
    );
    // DTDs are refused.
    let (status, _, xml) = s
        .soap_raw(
            "/services/Soap/m/66.0",
            None,
            format!(
                "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
                envelope(&t, "<listMetadata/>")
            ),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(fault_of(&xml).unwrap().0, "soapenv:Client");
}

#[tokio::test]
async fn identity_provider_settings_and_certificates() {
    let s = Sim::start();
    let t = s.token().await;
    let (_, xml) = s
        .soap(&t, r#"<upsertMetadata><metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><certificateName>SelfSignedCert_Next</certificateName><enableIdentityProvider>true</enableIdentityProvider></metadata></upsertMetadata>"#)
        .await;
    let r = &results_of(&xml)[0];
    assert!(r.success && r.created == Some(false), "{xml}");
    let state = s.control_get("/__sim/state").await;
    assert_eq!(
        state["identityProvider"]["certificate"],
        "SelfSignedCert_Next"
    );
    let (_, xml) = s
        .soap(&t, "<readMetadata><type>Certificate</type><fullNames>SelfSignedCert_IdP</fullNames></readMetadata>")
        .await;
    assert!(xml.contains("<caSigned>false</caSigned>"));
    assert!(
        xml.contains("<expirationDate>2099-11-27T00:00:00.000Z</expirationDate>"),
        "{xml}"
    );
    assert!(xml.contains("<keySize>2048</keySize><masterLabel>SelfSignedCert IdP</masterLabel>"));
    let (_, xml) = s
        .soap(&t, "<listMetadata><queries><type>ConnectedApp</type></queries><queries><type>Certificate</type></queries><asOfVersion>66.0</asOfVersion></listMetadata>")
        .await;
    assert_eq!(xml.matches("<result>").count(), 4, "{xml}");
    assert!(xml.contains("<fileName>connectedApps/Existing_Telephony.connectedApp</fileName>"));
}

/// Every SOAP response body the simulator returns validates against the v63.0 WSDL schema.
#[tokio::test]
async fn responses_validate_against_the_wsdl_schema() {
    let Some(schema) = xsd::metadata_xsd() else {
        xsd::skip("WSDL schema validation");
        return;
    };
    let s = Sim::start_with(Options {
        org: sim::org(true),
        ..Options::default()
    });
    let t = s.token().await;
    let calls = [
        "<readMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames></readMetadata>".to_owned(),
        "<readMetadata><type>IdentityProviderSettings</type><fullNames>IdentityProvider</fullNames></readMetadata>".to_owned(),
        "<readMetadata><type>Certificate</type><fullNames>SelfSignedCert_IdP</fullNames><fullNames>SelfSignedCert_Next</fullNames></readMetadata>".to_owned(),
        "<readMetadata><type>ConnectedApp</type></readMetadata>".to_owned(),
        format!("<createMetadata>{}{}</createMetadata>", saml_app("Created_App"), saml_app("Created_App")),
        format!("<upsertMetadata>{}{}</upsertMetadata>", saml_app("Upserted_App"), saml_app("Existing_Telephony").replace("<label>Existing_Telephony label</label>", "")),
        format!("<updateMetadata>{}{}</updateMetadata>", saml_app("Existing_Telephony"), saml_app("Not_There")),
        "<deleteMetadata><type>ConnectedApp</type><fullNames>Created_App</fullNames><fullNames>Not_There</fullNames></deleteMetadata>".to_owned(),
        "<listMetadata><queries><type>ConnectedApp</type></queries><queries><type>Certificate</type></queries><queries><type>Settings</type></queries><asOfVersion>66.0</asOfVersion></listMetadata>".to_owned(),
        "<listMetadata><queries><type>Workflow</type></queries></listMetadata>".to_owned(),
        r#"<upsertMetadata><metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><certificateName>SelfSignedCert_Next</certificateName><enableIdentityProvider>true</enableIdentityProvider></metadata></upsertMetadata>"#.to_owned(),
    ];
    let mut files = Vec::new();
    for (i, inner) in calls.iter().enumerate() {
        let (status, xml) = s.soap(&t, inner).await;
        assert_eq!(status, 200, "{inner}: {xml}");
        let path = s.dir.path().join(format!("response-{i}.xml"));
        std::fs::write(&path, xsd::body_payload(&xml)).unwrap();
        files.push(path);
    }
    xsd::validate(&schema, &files).unwrap_or_else(|e| panic!("schema validation failed:\n{e}"));
}
