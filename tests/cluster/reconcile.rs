//! The Setup procedure end to end, against the real kube-apiserver and `salesforce-sim`, with the
//! operator run as a process: IdP, app, access, metadata ConfigMap, no-op reconciles, updates,
//! drift, ObserveOnly, deletion, adoption, conflicts, blocked creation, certificate rotation and
//! expiry, and Salesforce being unreachable.

use std::time::Duration;

use serde_json::json;

use crate::common::e2e::{self, AppOpts, Env, OrgSeed, app_manifest, unowned_app};
use crate::common::{cluster, sim};

const SHORT: Duration = Duration::from_secs(30);
/// For a republish the operator waits out its cache-lag allowance first (10 s).
const REPUBLISH: Duration = Duration::from_secs(60);
const CM: &str = "telephony-idp-metadata";

/// The app in the org equals the spec, field by field, and carries the ownership marker.
async fn assert_app_matches_the_spec(env: &Env) {
    let app = env.sim.app("Telephony_SSO").await.expect("app created");
    let saml = &app["samlConfig"];
    assert_eq!(app["label"], "Telephony SSO");
    assert_eq!(app["contactEmail"], "voice-admins@acme.example");
    assert_eq!(saml["acsUrl"], "https://sso.vendor.example/saml/acs");
    assert_eq!(saml["entityUrl"], "https://sso.vendor.example/sp");
    assert_eq!(saml["samlSubjectType"], "FederationId");
    assert_eq!(saml["samlNameIdFormat"], "EmailAddress");
    assert_eq!(saml["samlSigningAlgoType"], "SHA256");
    assert_eq!(saml["samlSloUrl"], "https://sso.vendor.example/saml/slo");
    assert_eq!(saml["samlIdpSLOBindingEnum"], "PostBinding");
    assert_eq!(app["profileName"], json!(["Contact Center Agent"]));
    assert_eq!(app["permissionSetName"], json!(["Voice_Agent"]));
    let description = app["description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("SSO for the partner telephony system\n"),
        "{description}"
    );
    assert!(
        description.contains(&format!(
            "Managed by sso-operator: {}/telephony (uid ",
            env.ns
        )),
        "{description}"
    );
}

/// The ConfigMap carries exactly what Salesforce serves for the app, and the status the facts;
/// returns the served metadata.
async fn assert_published_and_reported(env: &Env) -> String {
    let (code, served) = env.sim.get("/.well-known/samlidp/Telephony_SSO.xml").await;
    assert_eq!(code, 200);
    let data = env.config_map_data(CM).await;
    assert_eq!(
        sim::without_valid_until(&data["metadata.xml"]),
        sim::without_valid_until(&served),
        "metadata.xml must be byte-for-byte what the org serves, but for the validUntil Salesforce stamps per download"
    );
    assert_eq!(data["entity-id"], "https://acme.my.salesforce.com");
    assert_eq!(
        data["sso-url-post"],
        "https://acme.my.salesforce.com/idp/endpoint/HttpPost"
    );
    assert_eq!(
        data["sso-url-redirect"],
        "https://acme.my.salesforce.com/idp/endpoint/HttpRedirect"
    );
    let sim_cert = env.sim.certificate("SelfSignedCert_IdP").await;
    assert_eq!(
        data["certificate.pem"].trim(),
        sim_cert["pem"].as_str().unwrap().trim()
    );
    let cm = env.config_maps().get(CM).await.unwrap();
    let owner = &cm.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "SsoConnectedApp");
    assert_eq!(
        cm.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "sso-operator"
    );

    let st = env.app_status("telephony").await.unwrap();
    assert_eq!(st.observed_generation, Some(1));
    let idp = st.identity_provider.unwrap();
    assert_eq!(
        idp.certificate.sha256_fingerprint,
        sim_cert["sha256Fingerprint"].as_str().unwrap()
    );
    assert_eq!(
        st.metadata.unwrap().sha256,
        sso_operator::metadata_configmap::sha256_hex(data["metadata.xml"].as_bytes()),
        "status names the digest of what is published"
    );
    served
}

/// A second full reconcile (a fresh operator has no memory of the first) writes nothing: not
/// to Salesforce, not the status, not the ConfigMap.
async fn assert_a_fresh_operator_writes_nothing(env: &mut Env) {
    let writes = env.sim.writes().await;
    let reads = env.sim.count("readMetadata").await;
    let app_rv = env.resource_version("telephony").await;
    let cm_rv = env
        .config_maps()
        .get(CM)
        .await
        .unwrap()
        .metadata
        .resource_version;
    env.restart_operator();
    cluster::wait_for(SHORT, "the new operator re-reads the app", || async {
        env.sim.count("readMetadata").await > reads && env.sim.count("idpMetadata").await >= 2
    })
    .await;
    // Then wait until every reconcile the new operator started has finished.
    env.wait_idle(SHORT).await;
    assert_eq!(
        env.sim.writes().await,
        writes,
        "no Salesforce write on a no-op reconcile"
    );
    assert_eq!(
        env.resource_version("telephony").await,
        app_rv,
        "no status write on a no-op reconcile"
    );
    let cm2 = env.config_maps().get(CM).await.unwrap();
    assert_eq!(
        cm2.metadata.resource_version, cm_rv,
        "no ConfigMap write on a no-op reconcile"
    );
    let metrics = env.operator.metrics().await;
    assert!(
        metrics.contains("sso_operator_reconciles_total"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("sso_operator_kubernetes_writes_total{kind=\"ssoconnectedapp_status\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn k8s_setup_procedure_end_to_end() {
    let mut env = Env::start("e2e-setup", OrgSeed::default()).await;
    assert_eq!(env.sim.state().await["identityProvider"]["enabled"], false);
    let started = std::time::Instant::now();
    env.apply(&app_manifest(&AppOpts::default()));
    env.wait_ready("telephony", Duration::from_secs(10)).await;
    eprintln!("Ready after {:?}", started.elapsed());

    // The org's IdP is on with the named certificate.
    let state = env.sim.state().await;
    assert_eq!(state["identityProvider"]["enabled"], true);
    assert_eq!(
        state["identityProvider"]["certificate"],
        "SelfSignedCert_IdP"
    );
    assert_app_matches_the_spec(&env).await;
    assert_published_and_reported(&env).await;
    assert_a_fresh_operator_writes_nothing(&mut env).await;
}

#[tokio::test]
async fn k8s_two_resources_naming_one_app_the_second_gets_conflict() {
    let env = Env::start("e2e-dup", OrgSeed::default()).await;
    env.apply_app_ready().await;
    env.apply(&app_manifest(&AppOpts {
        name: "second",
        acs_url: "https://other.example/acs",
        ..Default::default()
    }));
    let (_, _, msg) = env
        .wait_condition("second", "Ready", "False", Some("Conflict"), SHORT)
        .await;
    assert!(msg.contains("telephony"), "{msg}");
    assert_eq!(
        env.sim.app("Telephony_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs"
    );
    // A resource asking for another IdP certificate: Conflict for it alone, naming the current
    // certificate; the org is not flipped and the first team's app stays Ready.
    env.apply(&app_manifest(&AppOpts {
        name: "other-cert",
        api_name: "Other_SSO",
        certificate: "SelfSignedCert_Other",
        ..Default::default()
    }));
    let (_, _, msg) = env
        .wait_condition(
            "other-cert",
            "IdentityProviderReady",
            "False",
            Some("Conflict"),
            SHORT,
        )
        .await;
    assert!(
        msg.contains("signs with certificate SelfSignedCert_IdP"),
        "{msg}"
    );
    let generation = env
        .apps()
        .get("telephony")
        .await
        .unwrap()
        .metadata
        .generation
        .unwrap();
    env.annotate_sync("telephony", "after-other-cert");
    env.wait_ready_at("telephony", generation, SHORT).await;
    assert_eq!(
        env.condition("telephony", "IdentityProviderReady")
            .await
            .map(|c| c.0),
        Some("True".to_string())
    );
    assert_eq!(
        env.sim.state().await["identityProvider"]["certificate"],
        "SelfSignedCert_IdP"
    );
}

#[tokio::test]
async fn k8s_creation_blocked_is_reported_and_retried_slowly() {
    let seed = OrgSeed {
        creation_allowed: false,
        connected_apps: vec![unowned_app("Existing_SSO")],
        ..Default::default()
    };
    let env = Env::start("e2e-blocked", seed).await;
    env.apply(&app_manifest(&AppOpts::default()));
    let (_, _, msg) = env
        .wait_condition(
            "telephony",
            "AppReady",
            "False",
            Some("ConnectedAppCreationBlocked"),
            SHORT,
        )
        .await;
    assert!(msg.contains("Salesforce Support"), "{msg}");
    assert!(msg.contains("External Client App"), "{msg}");
    // An existing app in the same org is still updated.
    env.apply(&app_manifest(&AppOpts {
        name: "existing",
        api_name: "Existing_SSO",
        adoption: "IfUnowned",
        ..Default::default()
    }));
    env.wait_ready("existing", SHORT).await;
    assert_eq!(
        env.sim.app("Existing_SSO").await.unwrap()["samlConfig"]["acsUrl"],
        "https://sso.vendor.example/saml/acs"
    );
    // Only one create attempt for the blocked app, although its own status writes and the org's
    // re-trigger it: the next attempt waits for the slow backoff (minutes).
    let attempts = env.sim.writes_of("Telephony_SSO").await.len();
    assert_eq!(attempts, 1, "one create attempt per backoff period");
    assert!(env.sim.app("Telephony_SSO").await.is_none());
}

#[tokio::test]
async fn k8s_rotated_certificate_reaches_the_configmap_within_one_refresh() {
    let env = Env::start("e2e-rotate", OrgSeed::default()).await;
    env.apply(&app_manifest(&AppOpts {
        refresh: "1m",
        ..Default::default()
    }));
    env.wait_ready("telephony", SHORT).await;
    let old_pem = env.config_map_data(CM).await["certificate.pem"].clone();
    env.sim
        .control("/__sim/certificates", json!({"name": "SelfSignedCert_IdP"}))
        .await;
    let new_pem = env.sim.certificate("SelfSignedCert_IdP").await["pem"]
        .as_str()
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(old_pem.trim(), new_pem);
    cluster::wait_for(
        Duration::from_secs(100),
        "new certificate published",
        || async {
            env.config_map(CM)
                .await
                .is_some_and(|d| d["certificate.pem"].trim() == new_pem)
        },
    )
    .await;
    env.wait_ready("telephony", SHORT).await;
}

#[tokio::test]
async fn k8s_expiring_certificate_is_flagged() {
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 10))
        .strftime("%Y-%m-%dT00:00:00Z")
        .to_string();
    let env = Env::start(
        "e2e-expiry",
        OrgSeed {
            cert_expires_at: Some(soon),
            ..Default::default()
        },
    )
    .await;
    env.apply(&app_manifest(&AppOpts::default()));
    let (_, _, msg) = env
        .wait_condition(
            "telephony",
            "CertificateValid",
            "False",
            Some("ExpiringSoon"),
            SHORT,
        )
        .await;
    assert!(msg.contains("expires"), "{msg}");
    // Still usable: Ready stays True while the certificate is valid.
    env.wait_ready("telephony", SHORT).await;
}

#[tokio::test]
async fn k8s_salesforce_unreachable_keeps_the_configmap_and_recovers() {
    let env = Env::start("e2e-outage", OrgSeed::default()).await;
    env.apply_app_ready().await;
    let before = env.config_map_data(CM).await;
    env.sim
        .fault(json!({"pathPrefix": "/", "count": 100000, "status": 503, "body": "down for maintenance"}))
        .await;
    env.annotate_sync("telephony", "outage");
    let (_, reason, _) = env
        .wait_condition("telephony", "Ready", "False", None, SHORT)
        .await;
    assert_eq!(reason, "SalesforceUnavailable");
    assert_eq!(
        env.config_map_data(CM).await,
        before,
        "last good ConfigMap kept"
    );
    env.sim.clear_faults().await;
    env.wait_ready("telephony", Duration::from_secs(60)).await;
    assert_eq!(env.config_map_data(CM).await, before);
}

#[tokio::test]
async fn k8s_renamed_configmap_replaces_the_old_one() {
    let env = Env::start("e2e-rename", OrgSeed::default()).await;
    env.apply_app_ready().await;
    let renamed = app_manifest(&AppOpts::default()).replace(
        "publish: {refreshInterval: 1h}",
        "publish: {refreshInterval: 1h, configMapName: renamed-idp}",
    );
    env.apply(&renamed);
    cluster::wait_for(
        SHORT,
        "new ConfigMap published, old one removed",
        || async {
            env.config_map("renamed-idp").await.is_some() && env.config_map(CM).await.is_none()
        },
    )
    .await;
    env.wait_status("telephony", "status names the new ConfigMap", SHORT, |s| {
        s.metadata
            .as_ref()
            .is_some_and(|m| m.config_map_name == "renamed-idp")
    })
    .await;
}

/// A new resource whose app the org's listing lacks is created without a read (one
/// `listMetadata` for the org, then `createMetadata`). An app someone makes in Setup after that
/// listing is refused by Salesforce rather than overwritten: the operator then reads it and, as
/// it carries no marker, reports `Conflict` and leaves it exactly as it was.
#[tokio::test]
async fn k8s_app_created_after_the_listing_is_refused_not_overwritten() {
    let env = Env::start("rec-listing", OrgSeed::default()).await;
    env.apply_app_ready().await;
    assert_eq!(env.sim.count("listMetadata").await, 1);
    assert_eq!(env.sim.count("createMetadata").await, 1);
    let log = env.sim.log().await;
    let names_app = |e: &serde_json::Value| sim::names(e, "Telephony_SSO");
    let create = log
        .iter()
        .position(|e| e["operation"] == "createMetadata" && names_app(e))
        .expect("the app was created");
    assert!(
        !log[..create]
            .iter()
            .any(|e| e["operation"] == "readMetadata" && names_app(e)),
        "the new app is not read before its create: {log:?}"
    );

    e2e::Flavor::Connected
        .create_unowned(&env.sim, "Other_SSO")
        .await;
    let before = env.sim.app("Other_SSO").await.unwrap();
    env.apply(&app_manifest(&AppOpts {
        name: "other",
        api_name: "Other_SSO",
        ..Default::default()
    }));
    let (_, _, msg) = env
        .wait_condition("other", "AppReady", "False", Some("Conflict"), SHORT)
        .await;
    assert!(msg.contains("IfUnowned"), "{msg}");
    let writes = env.sim.writes_of("Other_SSO").await;
    assert_eq!(writes.len(), 1, "only the refused create: {writes:?}");
    assert_eq!(writes[0]["operation"], "createMetadata");
    assert_eq!(env.sim.app("Other_SSO").await.unwrap(), before);
    assert_eq!(
        env.sim.count("listMetadata").await,
        1,
        "the listing is reused"
    );
}

/// The published ConfigMap edited or deleted by someone is republished, byte for byte, within
/// seconds, with no Salesforce write (the operator keeps only digests of what it published).
#[tokio::test]
async fn k8s_edited_or_deleted_configmap_is_republished() {
    let env = Env::start("rec-republish", OrgSeed::default()).await;
    env.apply_app_ready().await;
    let published = env.config_map_data(CM).await;
    let writes = env.sim.writes().await;

    let edit = json!({"data": {"metadata.xml": "<edited/>"}});
    env.config_maps()
        .patch(
            CM,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&edit),
        )
        .await
        .unwrap();
    // Restored from a fresh download: the same document but for Salesforce's download stamp.
    let same = |d: &std::collections::BTreeMap<String, String>| {
        let normal = |d: &std::collections::BTreeMap<String, String>| {
            let mut d = d.clone();
            if let Some(x) = d.get_mut("metadata.xml") {
                *x = sim::without_valid_until(x);
            }
            d
        };
        normal(d) == normal(&published)
    };
    // The operator blames a mismatch within 10 s of its own write on watch-cache lag (memo.rs,
    // CACHE_LAG) and looks again after that, so each step takes over 10 s by design; on a loaded
    // machine 30 s was not always enough.
    cluster::wait_for(REPUBLISH, "the edited ConfigMap restored", || async {
        same(&env.config_map_data(CM).await)
    })
    .await;

    env.config_maps()
        .delete(CM, &Default::default())
        .await
        .unwrap();
    cluster::wait_for(REPUBLISH, "the deleted ConfigMap republished", || async {
        env.config_map(CM).await.is_some_and(|d| same(&d))
    })
    .await;
    assert_eq!(env.sim.writes().await, writes, "no Salesforce write");
}
