//! Bad `SsoConnectedApp`s of a good org: an API name another resource manages, an app in the
//! org without the ownership marker, profiles or permission sets the org lacks, an org that does
//! not exist; and IdP certificates (one the org lacks, two resources of one org asking for
//! different ones). An External Client App on an org below API 63.0 (`Unsupported`) is covered
//! by `app_kinds.rs` `k8s_external_client_app_needs_api_63`.

use super::{Case, Expect, WAIT, app_yaml, assert_no_failures, run, settle};
use crate::common::e2e::{self, AppOpts, Env, OrgSeed, app_manifest, unowned_app};

/// Case `i`: app `x<i>` of the good org with API name `api` (default `App_Case_<i>`), the
/// standard manifest edited by `edit`.
fn app_case(
    i: usize,
    (name, api, edit, expect, writes): (&str, Option<&str>, Edit, Expect, usize),
) -> Case {
    let app = format!("x{i}");
    let api_name = api.map_or(format!("App_Case_{i}"), str::to_owned);
    let yaml = edit(app_yaml(&app, &api_name, e2e::ORG));
    Case {
        name: format!("app: {name}"),
        yaml,
        app,
        api_name,
        org: e2e::ORG.into(),
        expect,
        writes,
    }
}

type Edit = fn(String) -> String;

/// (name, API name, edit of the manifest, expectation, write calls allowed).
fn app_cases() -> Vec<Case> {
    let table: [(&str, Option<&str>, Edit, Expect, usize); 5] = [
        (
            "duplicate apiName across resources",
            Some("Baseline_SSO"),
            |y| y,
            Expect::App("AppReady", "Conflict", "already manages app Baseline_SSO"),
            0,
        ),
        (
            "existing app without marker (adoption Never)",
            Some("Hand_Made"),
            |y| y,
            Expect::App("AppReady", "Conflict", "IfUnowned"),
            0,
        ),
        (
            "unknown profile",
            None,
            |y| {
                y.replace(
                    "profiles: [Contact Center Agent]",
                    "profiles: [No Such Profile]",
                )
            },
            Expect::App("AppReady", "Rejected", "no Profile named No Such Profile"),
            1,
        ),
        (
            "unknown permission set",
            None,
            |y| {
                y.replace(
                    "permissionSets: [Voice_Agent]",
                    "permissionSets: [No_Such_Set]",
                )
            },
            Expect::App("AppReady", "Rejected", "No_Such_Set"),
            1,
        ),
        (
            "unknown org reference",
            None,
            |y| y.replace("orgRef: {name: acme}", "orgRef: {name: no-such-org}"),
            Expect::App("Ready", "OrgNotFound", "no-such-org"),
            0,
        ),
    ];
    table
        .into_iter()
        .enumerate()
        .map(|(i, c)| app_case(i, c))
        .collect()
}

#[tokio::test]
async fn k8s_bad_input_app_specs() {
    let seed = OrgSeed {
        connected_apps: vec![unowned_app("Hand_Made")],
        ..Default::default()
    };
    let env = Env::start("bad-app", seed).await;
    // A Ready app first: the duplicate-apiName case needs an earlier owner.
    env.apply(&app_yaml("baseline", "Baseline_SSO", e2e::ORG));
    env.wait_ready("baseline", WAIT).await;
    let cases = app_cases();
    assert!(cases.len() >= 5, "at least 5 cases");
    run(&env, &cases).await;
}

/// An unknown IdP certificate (`CertificateNotFound`), then a second resource of the same org
/// asking for another one (`Conflict`, naming the first one's wish); the org is never written.
/// In an org of their own: they would conflict with every other app of an org.
#[tokio::test]
async fn k8s_bad_input_idp_certificates() {
    // The org's IdP is on, signing with SelfSignedCert_IdP (what the other apps of the org use).
    let seed = OrgSeed {
        idp_enabled: true,
        ..OrgSeed::default()
    };
    let env = Env::start("bad-cert", seed).await;
    let case = |name: &str, app: &str, api: &str, cert: &str, reason, needle| Case {
        name: format!("app: {name}"),
        yaml: app_manifest(&AppOpts {
            name: app,
            api_name: api,
            certificate: cert,
            deletion: "Orphan",
            ..Default::default()
        }),
        app: app.into(),
        api_name: api.into(),
        org: e2e::ORG.into(),
        expect: Expect::App("IdentityProviderReady", reason, needle),
        writes: 0,
    };
    let cases = [
        case(
            "unknown IdP certificate",
            "nocert",
            "No_Cert_SSO",
            "No_Such_Cert",
            "Conflict",
            "signs with certificate SelfSignedCert_IdP",
        ),
        case(
            "an app asks for another certificate than the org's IdP uses",
            "othercert",
            "Other_Cert_SSO",
            "SelfSignedCert_Other",
            "Conflict",
            "an app never switches the org-wide certificate",
        ),
    ];
    let mut failures = Vec::new();
    for case in &cases {
        env.apply(&case.yaml);
        failures.extend(settle(&env, std::slice::from_ref(case)).await);
    }
    let writes = env.sim.writes().await;
    if writes != 0 {
        let calls = env.sim.calls().await;
        failures.push(format!("{writes} Salesforce writes: {calls}"));
    }
    assert_eq!(
        env.sim.state().await["identityProvider"]["certificate"],
        "SelfSignedCert_IdP",
        "the org's IdP certificate is never switched by an app"
    );
    assert_no_failures(&env, cases.len(), &failures);
}

/// An unknown certificate for an org whose IdP is off: reported, nothing written, the IdP stays off.
#[tokio::test]
async fn k8s_bad_input_unknown_idp_certificate() {
    let env = Env::start("bad-nocert", OrgSeed::default()).await;
    let app = "nocert";
    let case = Case {
        name: "app: unknown IdP certificate (IdP off)".into(),
        yaml: app_manifest(&AppOpts {
            name: app,
            api_name: "No_Cert_SSO",
            certificate: "No_Such_Cert",
            deletion: "Orphan",
            ..Default::default()
        }),
        app: app.into(),
        api_name: "No_Cert_SSO".into(),
        org: e2e::ORG.into(),
        expect: Expect::App(
            "IdentityProviderReady",
            "CertificateNotFound",
            "No_Such_Cert",
        ),
        writes: 0,
    };
    env.apply(&case.yaml);
    let mut failures = settle(&env, std::slice::from_ref(&case)).await;
    if env.sim.writes().await != 0 {
        failures.push(format!("Salesforce writes: {}", env.sim.calls().await));
    }
    assert_eq!(env.sim.state().await["identityProvider"]["enabled"], false);
    assert_no_failures(&env, 1, &failures);
}
