//! The Salesforce client's External Client App calls against `salesforce-sim` (HTTPS).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sso_operator::salesforce::{
    ClientOptions, DeployStatus, ErrorKind, ExternalClientAppBundle, ExtlClntAppSamlBindingType,
    ExtlClntAppSamlSignAlgoType, ExtlClntAppSamlSubjectType, OrgClient, ReadPriority, Salesforce,
    SalesforceError, SamlNameIdFormatType,
};

use crate::common::client::*;

fn client_at(sim: &Sim, api_version: &str) -> Arc<OrgClient> {
    let sf = Salesforce::new(ClientOptions {
        deploy_poll_initial: Duration::from_millis(20),
        deploy_poll_max: Duration::from_millis(100),
        deploy_timeout: Duration::from_secs(20),
        ..sim.options()
    })
    .expect("client");
    let mut conn = sim.conn(sim.client_credentials());
    conn.api_version = api_version.into();
    Arc::new(sf.client("ns/org", conn))
}

fn client(sim: &Sim) -> Arc<OrgClient> {
    client_at(sim, "63.0")
}

fn bundle(name: &str) -> ExternalClientAppBundle {
    let mut b = ExternalClientAppBundle::new_saml(
        name,
        format!("{name} label"),
        format!("https://sp.example.com/{name}/acs"),
        format!("https://sp.example.com/{name}"),
    );
    b.app.contact_email = Some("ops@acme.com".into());
    b.app.description = Some(format!(
        "Partner telephony SSO\nManaged by sso-operator: ns/{name} (uid 1234)"
    ));
    let s = b.saml_policies.as_mut().unwrap();
    s.comma_separated_profile = Some("Contact Center Agent".into());
    s.comma_separated_permission_set = Some("Voice_Agent".into());
    s.name_id_format = Some(SamlNameIdFormatType::Persistent);
    s.signing_algorithm_type = Some(ExtlClntAppSamlSignAlgoType::Sha256);
    s.single_logout_binding_type = Some(ExtlClntAppSamlBindingType::RedirectBinding);
    s.single_logout_url = Some(format!("https://sp.example.com/{name}/slo"));
    s.subject_type = Some(ExtlClntAppSamlSubjectType::FederationId);
    b
}

#[tokio::test]
async fn deploy_round_trip_reads_back_equal() {
    let sim = start_org();
    let c = client(&sim);
    assert!(
        c.read_external_client_app("Voice_ECA", ReadPriority::Required)
            .await
            .unwrap()
            .is_none()
    );
    let want = bundle("Voice_ECA");
    let out = c.deploy_external_client_app(&want).await.expect("deploy");
    assert_eq!(out.status, DeployStatus::Succeeded);
    assert!(out.id.starts_with("0Af"), "{out:?}");
    let deployed: Vec<(&str, &str, bool)> = out
        .components
        .iter()
        .map(|m| (m.component_type.as_str(), m.full_name.as_str(), m.created))
        .collect();
    assert_eq!(
        deployed,
        [
            ("ExternalClientApplication", "Voice_ECA", true),
            ("ExtlClntAppConfigurablePolicies", "Voice_ECA_plcy", true),
            (
                "ExtlClntAppSamlConfigurablePolicies",
                "Voice_ECA_samlPlcy",
                true
            ),
        ]
    );
    let got = c
        .read_external_client_app("Voice_ECA", ReadPriority::Required)
        .await
        .unwrap()
        .expect("deployed app");
    // The org stamps orgScopedExternalApp; everything else reads back as deployed.
    assert_eq!(
        got.app.org_scoped_external_app.as_deref(),
        Some("00D5g000000SIMUEAA:Voice_ECA")
    );
    assert!(got.same_managed_fields(&want), "{got:#?}\n!=\n{want:#?}");
    assert!(
        got.app
            .description
            .as_deref()
            .unwrap()
            .ends_with("Managed by sso-operator: ns/Voice_ECA (uid 1234)")
    );
    // One deploy, polled until done (the simulator answers InProgress first).
    assert_eq!(sim.count("deploy").await, 1);
    assert!(sim.count("checkDeployStatus").await >= 2);

    // Update: a changed ACS URL, deployed over the read bundle (orgScopedExternalApp is not
    // echoed back) without the access fields (a deploy of them adds grants, and a name already
    // granted fails it), reads back changed, grants kept, and not created.
    let mut changed = got.clone();
    changed.saml_policies.as_mut().unwrap().acs_url = "https://sp.example.com/new/acs".into();
    let mut update = changed.clone();
    let saml = update.saml_policies.as_mut().unwrap();
    saml.comma_separated_profile = None;
    saml.comma_separated_permission_set = None;
    let out = c.deploy_external_client_app(&update).await.expect("update");
    assert!(out.components.iter().all(|m| !m.created), "{out:?}");
    let again = c
        .read_external_client_app("Voice_ECA", ReadPriority::Optional)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, changed);

    // The per-app IdP metadata is served for the ECA.
    let md = c
        .fetch_idp_metadata(Some("Voice_ECA"))
        .await
        .expect("metadata");
    assert_eq!(md.entity_id, "https://acme.my.salesforce.com");
}

#[tokio::test]
async fn one_failing_component_is_reported_with_its_problem() {
    let sim = start_org();
    let c = client(&sim);
    sim.fault(
        json!({"operation": "deploy", "failComponent": "Voice_ECA_samlPlcy",
                     "problem": "The ACS URL must use HTTPS"}),
    )
    .await;
    let err = c
        .deploy_external_client_app(&bundle("Voice_ECA"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    match &err {
        SalesforceError::DeployFailed {
            status, problems, ..
        } => {
            assert_eq!(status, "Failed");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(
                problems[0].component_type,
                "ExtlClntAppSamlConfigurablePolicies"
            );
            assert_eq!(problems[0].full_name, "Voice_ECA_samlPlcy");
            assert_eq!(problems[0].problem, "The ACS URL must use HTTPS");
            assert_eq!(problems[0].problem_type, "Error");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(
            "ExtlClntAppSamlConfigurablePolicies 'Voice_ECA_samlPlcy': The ACS URL must use HTTPS"
        ),
        "{text}"
    );
    // Rolled back: nothing was created.
    assert!(
        c.read_external_client_app("Voice_ECA", ReadPriority::Required)
            .await
            .unwrap()
            .is_none()
    );

    // A rule of the org: an unknown profile fails the SAML policies with Salesforce's text.
    let mut b = bundle("Voice_ECA");
    b.saml_policies.as_mut().unwrap().comma_separated_profile = Some("Nope".into());
    let err = c.deploy_external_client_app(&b).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("In field: commaSeparatedProfile - no Profile named Nope found"),
        "{err}"
    );
}

#[tokio::test]
async fn delete_removes_the_app_and_missing_is_ok() {
    let sim = start_org();
    let c = client(&sim);
    c.deploy_external_client_app(&bundle("Voice_ECA"))
        .await
        .unwrap();
    c.delete_external_client_app("Voice_ECA")
        .await
        .expect("delete");
    assert!(
        c.read_external_client_app("Voice_ECA", ReadPriority::Required)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sim.state().await["externalClientApps"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    c.delete_external_client_app("Voice_ECA")
        .await
        .expect("deleting a missing app is Ok");
}

#[tokio::test]
async fn api_versions_below_63_are_refused_before_sending() {
    let sim = start_org();
    let c = client_at(&sim, "62.0");
    let before = sim.total_calls().await;
    let errs = vec![
        c.read_external_client_app("Voice_ECA", ReadPriority::Required)
            .await
            .unwrap_err(),
        c.deploy_external_client_app(&bundle("Voice_ECA"))
            .await
            .unwrap_err(),
        c.delete_external_client_app("Voice_ECA").await.unwrap_err(),
    ];
    for e in errs {
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
        assert!(e.to_string().contains("63.0"), "{e}");
        assert!(e.to_string().contains("62.0"), "{e}");
    }
    assert_eq!(sim.total_calls().await, before, "nothing may be sent");
    // Bad names are refused before sending too.
    let e = client(&sim)
        .read_external_client_app("../x", ReadPriority::Required)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn a_deploy_that_never_finishes_times_out() {
    let sim = start_org();
    let sf = Salesforce::new(ClientOptions {
        deploy_poll_initial: Duration::from_millis(20),
        deploy_poll_max: Duration::from_millis(20),
        deploy_timeout: Duration::from_millis(300),
        ..sim.options()
    })
    .unwrap();
    let c = sf.client("ns/org", sim.conn(sim.client_credentials()));
    sim.control("/__sim/policy", json!({"deployPollsInProgress": 1000}))
        .await;
    let e = c
        .deploy_external_client_app(&bundle("Slow_App"))
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::DeployTimeout { .. }), "{e:?}");
    assert!(e.is_transient());
}
