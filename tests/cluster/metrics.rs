//! The series users alert on (docs/monitoring.md, the chart's PrometheusRule), read from the
//! operator's `/metrics` while it reconciles real resources: readiness per resource, a suspended
//! app's marker, the app's certificate end of validity, the org's API usage, `build_info`; and
//! their removal with the resource.

use std::time::Duration;

use crate::common::cluster;
use crate::common::e2e::{AppOpts, Env, ORG, OrgSeed, app_manifest};

const SHORT: Duration = Duration::from_secs(30);

/// The value of series `name{kind=..,namespace=..,name=..}` in `text`.
fn series(text: &str, metric: &str, kind: &str, ns: &str, name: &str) -> Option<f64> {
    let prefix = format!("{metric}{{kind=\"{kind}\",namespace=\"{ns}\",name=\"{name}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn k8s_alerting_series_follow_the_resources() {
    let env = Env::start("metrics", OrgSeed::default()).await;
    let ns = env.ns.as_str();
    env.apply_app_ready().await;
    let paused = app_manifest(&AppOpts {
        name: "paused",
        api_name: "Paused_SSO",
        acs_url: "https://paused.vendor.example/saml/acs",
        ..Default::default()
    });
    env.apply(&format!("{paused}  suspend: true\n"));
    env.wait_condition("paused", "Ready", "False", Some("Suspended"), SHORT)
        .await;

    // Each series as the resource's status says, once the reconcile that wrote it has also
    // recorded it (the status is written first).
    let not_after = env
        .app_status("telephony")
        .await
        .and_then(|s| s.identity_provider)
        .expect("the Ready app reports its IdP certificate")
        .certificate
        .not_after
        .0
        .as_second() as f64;
    cluster::wait_for(SHORT, "the app's series on /metrics", || async {
        let m = env.operator.metrics().await;
        let app = |metric| series(&m, metric, "ssoconnectedapp", ns, "telephony");
        let paused = |metric| series(&m, metric, "ssoconnectedapp", ns, "paused");
        app("sso_operator_resource_ready") == Some(1.0)
            && app("sso_operator_certificate_expiration_timestamp_seconds") == Some(not_after)
            && app("sso_operator_resource_suspended").is_none()
            && paused("sso_operator_resource_ready") == Some(0.0)
            && paused("sso_operator_resource_suspended") == Some(1.0)
    })
    .await;
    // The series is live; status keeps a figure until it moved by 5% of the limit or aged an hour.
    cluster::wait_for(SHORT, "the org's series match its status", || async {
        let status = env
            .orgs()
            .get(ORG)
            .await
            .unwrap()
            .status
            .unwrap_or_default();
        let Some(usage) = status.api_usage else {
            return false;
        };
        let m = env.operator.metrics().await;
        let org = |metric| series(&m, metric, "salesforceorg", ns, ORG);
        org("sso_operator_resource_ready") == Some(1.0)
            && org("sso_operator_org_api_requests_used").is_some_and(|u| u >= usage.used as f64)
            && org("sso_operator_org_api_requests_limit") == Some(usage.limit as f64)
            && usage.limit > 0
    })
    .await;
    let m = env.operator.metrics().await;
    let build = format!(
        "sso_operator_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(m.lines().any(|l| l == build), "{build} missing:\n{m}");

    // A deleted resource takes its series with it.
    env.delete_app("telephony").await;
    env.wait_deleted("telephony", SHORT).await;
    cluster::wait_for(SHORT, "the deleted app's series gone", || async {
        let m = env.operator.metrics().await;
        !m.is_empty() && !m.contains(&format!("namespace=\"{ns}\",name=\"telephony\"}}"))
    })
    .await;
    let m = env.operator.metrics().await;
    assert_eq!(
        series(
            &m,
            "sso_operator_resource_suspended",
            "ssoconnectedapp",
            ns,
            "paused"
        ),
        Some(1.0),
        "{m}"
    );
}
