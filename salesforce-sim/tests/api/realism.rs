//! Reality variants and the contradictions of issue 15: the Metadata endpoint's URL forms, the
//! production edition's refusal of `NoTestRun`, additive ECA access with `SetupEntityAccess`
//! over REST (SOQL subset, sObject delete, refusals), and each `realism` switch both ways.

use serde_json::{Value, json};

use crate::eca::{APP, OPTS, deploy, eca_file, finish, package_xml, plcy_file, text_of, zip_b64};
use crate::harness::{Options, Sim, org};

/// The SAML policies file with the given access fields (None: the element is left out).
fn saml_file(profiles: Option<&str>, permission_sets: Option<&str>) -> String {
    let field = |n: &str, v: Option<&str>| v.map(|v| format!("<{n}>{v}</{n}>")).unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppSamlConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata"><acsUrl>https://voice.example.com/saml/acs</acsUrl>{}{}<entityUrl>https://voice.example.com</entityUrl><externalClientApplication>{APP}</externalClientApplication><subjectType>Username</subjectType></ExtlClntAppSamlConfigurablePolicies>"#,
        field("commaSeparatedPermissionSet", permission_sets),
        field("commaSeparatedProfile", profiles),
    )
}

fn bundle(profiles: Option<&str>, permission_sets: Option<&str>) -> String {
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
        ("externalClientApps/Voice_ECA.eca", eca_file("x", "Local")),
        (
            "extlClntAppPolicies/Voice_ECA_plcy.ecaPlcy",
            plcy_file(true),
        ),
        (
            "extlClntAppSamlConfigurablePolicies/Voice_ECA_samlPlcy.ecaSamlPlcy",
            saml_file(profiles, permission_sets),
        ),
    ])
}

async fn deployed(s: &Sim, t: &str, zip: &str, options: &str) -> String {
    let id = deploy(s, t, zip, options).await;
    finish(s, t, &id).await
}

async fn rest(s: &Sim, t: &str, method: reqwest::Method, path: &str) -> (u16, Value) {
    let r = s
        .client
        .request(method, s.u(path))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The grants of the ECA as (profile or permission set name, grant id), by SOQL.
async fn grants(s: &Sim, t: &str, app_id: &str) -> Vec<(String, String)> {
    let q = format!(
        "SELECT Id, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name FROM SetupEntityAccess WHERE SetupEntityId = '{app_id}' AND SetupEntityType = 'ExternalClientApplication'"
    );
    let path = format!("/services/data/v66.0/query?q={}", urlencode(&q));
    let (status, body) = rest(s, t, reqwest::Method::GET, &path).await;
    assert_eq!(status, 200, "{body}");
    let mut out: Vec<(String, String)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let p = &r["Parent"];
            let name = if p["IsOwnedByProfile"] == true {
                p["Profile"]["Name"].as_str().unwrap()
            } else {
                p["Name"].as_str().unwrap()
            };
            (name.to_owned(), r["Id"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn eca_id(s: &Sim) -> String {
    let state = s.control_get("/__sim/state").await;
    state["externalClientApps"][APP]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn metadata_endpoint_answers_with_and_without_slash_and_org_id() {
    let s = Sim::start();
    let t = s.token().await;
    let org_id = s.control_get("/__sim/state").await["orgId"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = "<readMetadata><type>ConnectedApp</type><fullNames>Existing_Telephony</fullNames></readMetadata>";
    for path in [
        "/services/Soap/m/66.0".to_owned(),
        "/services/Soap/m/66.0/".to_owned(),
        format!("/services/Soap/m/66.0/{org_id}"),
        format!("/services/Soap/m/66.0/{org_id}/"),
    ] {
        let (status, _, xml) = s
            .soap_raw(&path, None, crate::harness::envelope(&t, read))
            .await;
        assert_eq!(status, 200, "{path}: {xml}");
        assert!(
            xml.contains("<fullName>Existing_Telephony</fullName>"),
            "{path}: {xml}"
        );
    }
}

#[tokio::test]
async fn production_refuses_no_test_run_and_deploys_without_a_test_level() {
    let s = Sim::start_with(Options {
        org: salesforce_sim::OrgFile {
            edition: salesforce_sim::Edition::Production,
            ..org(false)
        },
        ..Options::default()
    });
    let t = s.token().await;
    let with_level = format!("{OPTS}<testLevel>NoTestRun</testLevel>");
    let (status, xml) = s
        .soap(
            &t,
            &crate::eca::deploy_body(&bundle(None, None), &with_level),
        )
        .await;
    assert_eq!(status, 500, "{xml}");
    assert!(
        xml.contains("<faultcode>sf:INVALID_OPERATION</faultcode>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "INVALID_OPERATION: testLevel of NoTestRun cannot be used in production organizations"
        ),
        "{xml}"
    );
    let done = deployed(&s, &t, &bundle(Some("Contact Center Agent"), None), OPTS).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
    // A developer org takes NoTestRun.
    let (code, _) = s
        .control_post("/__sim/realism", json!({"edition": "developer"}))
        .await;
    assert_eq!(code, 200);
    let done = deployed(&s, &t, &bundle(None, None), &with_level).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
}

#[tokio::test]
async fn access_is_additive_and_revoked_through_setup_entity_access() {
    let s = Sim::start();
    let t = s.token().await;
    let done = deployed(
        &s,
        &t,
        &bundle(Some("Contact Center Agent"), Some("Voice_Agent")),
        OPTS,
    )
    .await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
    let id = eca_id(&s).await;
    let g = grants(&s, &t, &id).await;
    let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Contact Center Agent", "Voice_Agent"]);
    assert!(
        g.iter()
            .all(|(_, id)| id.starts_with("0J0") && id.len() == 18)
    );
    // The same name again fails the component (any case); the deploy rolls back.
    let again = deployed(&s, &t, &bundle(Some("contact center agent"), None), OPTS).await;
    assert_eq!(
        text_of(&again, "status").as_deref(),
        Some("Failed"),
        "{again}"
    );
    assert!(
        again.contains("profile names are already taken: Contact Center Agent"),
        "{again}"
    );
    // Only the new name: added, the others stay.
    let add = deployed(&s, &t, &bundle(Some("System Administrator"), None), OPTS).await;
    assert_eq!(
        text_of(&add, "status").as_deref(),
        Some("Succeeded"),
        "{add}"
    );
    let g = grants(&s, &t, &id).await;
    assert_eq!(g.len(), 3, "{g:?}");
    // Revoke one grant: 204, then it is gone from the query and from the read.
    let (_, cca) = g.iter().find(|(n, _)| n == "Contact Center Agent").unwrap();
    let (status, _) = rest(
        &s,
        &t,
        reqwest::Method::DELETE,
        &format!("/services/data/v66.0/sobjects/SetupEntityAccess/{cca}"),
    )
    .await;
    assert_eq!(status, 204);
    let g = grants(&s, &t, &id).await;
    let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["System Administrator", "Voice_Agent"]);
    let (_, xml) = s
        .soap(&t, &format!("<readMetadata><type>ExtlClntAppSamlConfigurablePolicies</type><fullNames>{APP}_samlPlcy</fullNames></readMetadata>"))
        .await;
    assert!(
        xml.contains("<commaSeparatedProfile>System Administrator</commaSeparatedProfile>"),
        "{xml}"
    );
    // Deleting it again: Salesforce's 404.
    let (status, body) = rest(
        &s,
        &t,
        reqwest::Method::DELETE,
        &format!("/services/data/v66.0/sobjects/SetupEntityAccess/{cca}"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
    // Replacing variant: the listed names become the grants.
    s.control_post("/__sim/realism", json!({"ecaAccessWrites": "replacing"}))
        .await;
    let done = deployed(&s, &t, &bundle(Some("Contact Center Agent"), None), OPTS).await;
    assert_eq!(
        text_of(&done, "status").as_deref(),
        Some("Succeeded"),
        "{done}"
    );
    let names: Vec<String> = grants(&s, &t, &id)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["Contact Center Agent"]);
}

#[tokio::test]
async fn soql_outside_the_subset_is_refused_as_salesforce_refuses_it() {
    let s = Sim::start();
    let t = s.token().await;
    for (q, code) in [
        ("SELECT Id FROM Account", "INVALID_TYPE"),
        ("SELECT Id, Bogus FROM SetupEntityAccess", "INVALID_FIELD"),
        (
            "SELECT Id FROM SetupEntityAccess ORDER BY Id",
            "MALFORMED_QUERY",
        ),
    ] {
        let path = format!("/services/data/v66.0/query?q={}", urlencode(q));
        let (status, body) = rest(&s, &t, reqwest::Method::GET, &path).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{q}: {body}");
        assert!(body[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Connected apps' grants are rows too.
    let q = "SELECT Id, Parent.Profile.Name FROM SetupEntityAccess WHERE SetupEntityType = 'ConnectedApplication'";
    let path = format!("/services/data/v66.0/query?q={}", urlencode(q));
    let (status, body) = rest(&s, &t, reqwest::Method::GET, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["records"][0]["Parent"]["Profile"]["Name"],
        "Contact Center Agent"
    );
}

async fn read(s: &Sim, t: &str, ty: &str, name: &str) -> String {
    let (status, xml) = s
        .soap(
            t,
            &format!("<readMetadata><type>{ty}</type><fullNames>{name}</fullNames></readMetadata>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    xml
}

#[tokio::test]
async fn read_variants_names_case_defaults_ids_and_policy_reads() {
    let s = Sim::start();
    let t = s.token().await;
    // Case-insensitive by default: any case finds the app, which keeps its name.
    let xml = read(&s, &t, "ConnectedApp", "existing_TELEPHONY").await;
    assert!(
        xml.contains("<fullName>Existing_Telephony</fullName>"),
        "{xml}"
    );
    s.control_post("/__sim/realism", json!({"nameMatching": "caseSensitive"}))
        .await;
    let xml = read(&s, &t, "ConnectedApp", "existing_TELEPHONY").await;
    assert!(xml.contains(r#"xsi:nil="true""#), "{xml}");
    // Defaults left out of reads.
    deployed(&s, &t, &bundle(Some("Contact Center Agent"), None), OPTS).await;
    let xml = read(&s, &t, "ExternalClientApplication", APP).await;
    assert!(
        xml.contains("<distributionState>Local</distributionState>"),
        "{xml}"
    );
    s.control_post(
        "/__sim/realism",
        json!({"defaultsInReads": "omitted", "ecaAccessReads": "ids"}),
    )
    .await;
    let xml = read(&s, &t, "ExternalClientApplication", APP).await;
    assert!(!xml.contains("distributionState"), "{xml}");
    // Access as ids.
    let state = s.control_get("/__sim/state").await;
    let id = state["profileIds"]["Contact Center Agent"]
        .as_str()
        .unwrap();
    let xml = read(
        &s,
        &t,
        "ExtlClntAppSamlConfigurablePolicies",
        &format!("{APP}_samlPlcy"),
    )
    .await;
    assert!(
        xml.contains(&format!(
            "<commaSeparatedProfile>{id}</commaSeparatedProfile>"
        )),
        "{xml}"
    );
    // Policies only through retrieve: readMetadata finds nothing.
    let (_, r) = s
        .control_post("/__sim/realism", json!({"ecaPolicyReads": "retrieveOnly"}))
        .await;
    assert!(
        r["label"]
            .as_str()
            .unwrap()
            .contains("ecaPolicyReads=retrieveOnly"),
        "{r}"
    );
    let xml = read(
        &s,
        &t,
        "ExtlClntAppSamlConfigurablePolicies",
        &format!("{APP}_samlPlcy"),
    )
    .await;
    assert!(xml.contains(r#"xsi:nil="true""#), "{xml}");
    // Unknown switches and values are refused.
    let (code, _) = s.control_post("/__sim/realism", json!({"nope": "x"})).await;
    assert_eq!(code, 400);
    let (code, _) = s
        .control_post("/__sim/realism", json!({"ecaMetadata": "maybe"}))
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn eca_metadata_served_or_not_found() {
    let s = Sim::start();
    let t = s.token().await;
    deployed(&s, &t, &bundle(None, None), OPTS).await;
    let get = |p: &'static str| {
        let s = &s;
        async move { s.client.get(s.u(p)).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/.well-known/samlidp/Voice_ECA.xml").await, 200);
    s.control_post("/__sim/realism", json!({"ecaMetadata": "notFound"}))
        .await;
    assert_eq!(get("/.well-known/samlidp/Voice_ECA.xml").await, 404);
    assert_eq!(
        get("/.well-known/samlidp/Existing_Telephony.xml").await,
        200
    );
    assert_eq!(get("/.well-known/samlidp.xml").await, 200);
}

const ECHO: &str = "<updateMetadata><metadata xsi:type=\"ConnectedApp\"><fullName>Existing_Telephony</fullName><contactEmail>admin@acme.com</contactEmail><label>Existing Telephony</label><oauthConfig><callbackUrl>https://x.example.com/cb</callbackUrl><consumerKey>3MVG9ECHO</consumerKey></oauthConfig></metadata></updateMetadata>";

#[tokio::test]
async fn consumer_key_echo_and_creation_block_forms() {
    let s = Sim::start();
    let t = s.token().await;
    let (_, xml) = s.soap(&t, ECHO).await;
    assert!(
        xml.contains("<statusCode>DUPLICATE_VALUE</statusCode>"),
        "{xml}"
    );
    assert!(xml.contains("The consumer key is already taken"), "{xml}");
    s.control_post("/__sim/realism", json!({"consumerKeyEcho": "accepted"}))
        .await;
    let (_, xml) = s.soap(&t, ECHO).await;
    assert!(xml.contains("<success>true</success>"), "{xml}");
    // Creation blocked: a per-component error by default, a fault for the whole call as variant.
    let create = "<createMetadata><metadata xsi:type=\"ConnectedApp\"><fullName>New_App</fullName><contactEmail>a@acme.com</contactEmail><label>New</label></metadata></createMetadata>";
    let (status, xml) = s.soap(&t, create).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<statusCode>INSUFFICIENT_ACCESS</statusCode>"),
        "{xml}"
    );
    s.control_post("/__sim/realism", json!({"creationBlocked": "fault"}))
        .await;
    let (status, xml) = s.soap(&t, create).await;
    assert_eq!(status, 500, "{xml}");
    assert!(
        xml.contains("<faultcode>sf:INSUFFICIENT_ACCESS</faultcode>"),
        "{xml}"
    );
    assert!(
        xml.contains("connected app creation is restricted"),
        "{xml}"
    );
}
