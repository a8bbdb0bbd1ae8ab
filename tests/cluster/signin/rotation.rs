//! Certificate rotation without a sign-in outage (issue 19): a service provider that reloads the
//! ConfigMap throughout (it polls it and signs an agent in continuously, one app of each kind)
//! sees no refused sign-in across a planned rotation (announce, switch by annotation, grace,
//! retire); the same switch made by hand in the org, without a plan, refuses sign-ins until the
//! operator republishes. Both tests share the SP loop, so the difference is the rotation's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::e2e::{
    Env, Flavor, JWT_CLIENT, ORG, ORG_SECRET, USERNAME, jwt_auth, org_manifest,
};
use crate::common::sp::{FLOWS, Sp, SpApp, metadata_keys, pem_body, verify_both};
use crate::signin::{AGENT, SamlApp, idp_certificate, org_cert_file, seed};

const IDP: &str = "SelfSignedCert_IdP";
const NEXT: &str = "SelfSignedCert_Other";
const PHASE_TIMEOUT: Duration = Duration::from_secs(90);

/// One sign-in of the loop.
#[derive(Debug)]
struct Attempt {
    phase: &'static str,
    app: String,
    ok: bool,
    reason: String,
}

/// The SP side: per app, the metadata it loaded last and its signing keys; every attempt.
struct Reloader {
    sp: Sp,
    apps: Vec<SamlApp>,
    loaded: BTreeMap<String, (String, SpApp, Vec<String>)>,
    attempts: Vec<Attempt>,
    /// The `samlResponse` of the last round, per app.
    last: BTreeMap<String, String>,
    n: usize,
}

impl Reloader {
    fn new(apps: Vec<SamlApp>) -> Reloader {
        Reloader {
            sp: Sp::start(),
            apps,
            loaded: BTreeMap::new(),
            attempts: Vec::new(),
            last: BTreeMap::new(),
            n: 0,
        }
    }

    /// One round: for each app, reload the ConfigMap when `reload` (the SP polls it) and it
    /// changed, then sign the agent in (the flows in turn).
    async fn round(&mut self, env: &Env, reload: bool, phase: &'static str) {
        for app in self.apps.clone() {
            if reload || !self.loaded.contains_key(&app.name) {
                let data = env.config_map_data(&app.config_map()).await;
                let xml = data["metadata.xml"].clone();
                if self
                    .loaded
                    .get(&app.name)
                    .is_none_or(|(old, _, _)| *old != xml)
                {
                    let cfg = self.sp.load(&data, &app.entity_id, &app.acs_url);
                    let keys = metadata_keys(&xml).1;
                    self.loaded.insert(app.name.clone(), (xml, cfg, keys));
                }
            }
            let cfg = self.loaded[&app.name].1.clone();
            let flow = FLOWS[self.n % FLOWS.len()];
            self.n += 1;
            let v = self
                .sp
                .sign_in(&env.sim, &cfg, flow, &app.api_name, AGENT, None);
            if v["ok"] == true {
                assert_eq!(v["nameId"], AGENT, "{v}");
            }
            if let Some(r) = v["samlResponse"].as_str() {
                self.last.insert(app.name.clone(), r.to_owned());
            }
            self.attempts.push(Attempt {
                phase,
                app: app.name.clone(),
                ok: v["ok"] == true,
                reason: v["reason"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }

    /// Rounds (the SP reloading when `reload`) until `done` holds after one, at most
    /// [`PHASE_TIMEOUT`].
    async fn rounds_until(
        &mut self,
        env: &Env,
        reload: bool,
        phase: &'static str,
        done: impl AsyncFn(&Reloader) -> bool,
    ) {
        let deadline = Instant::now() + PHASE_TIMEOUT;
        loop {
            self.round(env, reload, phase).await;
            if done(self).await {
                return;
            }
            if Instant::now() >= deadline {
                let _ = std::fs::write("/tmp/signin-operator.log", env.operator.logs());
            }
            assert!(
                Instant::now() < deadline,
                "{phase}: not done within {PHASE_TIMEOUT:?}; keys loaded: {:?}\noperator log:\n{}",
                self.loaded.values().map(|l| &l.2).collect::<Vec<_>>(),
                crate::common::e2e::tail(&env.operator.logs(), 30)
            );
            // The SP's polling cadence.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether every app's SP loaded exactly these signing keys, in this order.
    fn all_loaded(&self, keys: &[&str]) -> bool {
        self.apps.len() == self.loaded.len() && self.loaded.values().all(|(_, _, k)| k == keys)
    }

    fn in_phase(&self, phase: &str) -> Vec<&Attempt> {
        self.attempts.iter().filter(|a| a.phase == phase).collect()
    }

    fn refused(&self) -> Vec<&Attempt> {
        self.attempts.iter().filter(|a| !a.ok).collect()
    }
}

/// One app of each kind, following the org's certificate (no `identityProvider.certificate`).
fn apps() -> Vec<SamlApp> {
    [(Flavor::Connected, "Rot_Ca"), (Flavor::External, "Rot_Eca")]
        .into_iter()
        .map(|(f, n)| SamlApp {
            certificate: None,
            ..SamlApp::new(f, n)
        })
        .collect()
}

/// Both apps Ready and the SP signing in to them ("before": six sign-ins with the current key);
/// with the base64 DER of the current and the next certificate.
async fn signing_in(env: &Env) -> (Vec<SamlApp>, Reloader, String, String) {
    let apps = apps();
    for app in &apps {
        env.apply(&app.manifest());
    }
    for app in &apps {
        env.wait_ready(&app.name, Duration::from_secs(60)).await;
    }
    let (old, new) = (key_of(env, IDP).await, key_of(env, NEXT).await);
    let mut r = Reloader::new(apps.clone());
    r.rounds_until(env, true, "before", async |r: &Reloader| {
        r.attempts.len() >= 6 && r.all_loaded(&[&old])
    })
    .await;
    (apps, r, old, new)
}

/// The environment's org, choosing the IdP certificate, with `rotation` (a YAML flow map) if any.
fn org_choosing(env: &Env, rotation: Option<&str>) -> String {
    let auth = jwt_auth(ORG_SECRET, "tls.key", USERNAME, JWT_CLIENT);
    let mut yaml = org_manifest(ORG, &env.sim.url, &env.sim.url, &auth);
    yaml.push_str(&format!("  identityProvider:\n    certificate: {IDP}\n"));
    if let Some(r) = rotation {
        yaml.push_str(&format!("    rotation: {r}\n"));
    }
    yaml
}

/// The base64 DER of the org's certificate `name`.
async fn key_of(env: &Env, name: &str) -> String {
    pem_body(
        env.sim.certificate(name).await["pem"]
            .as_str()
            .expect("pem"),
    )
}

#[tokio::test]
async fn k8s_rotation_planned_no_sign_in_is_refused_before_during_or_after_the_switch() {
    let env = Env::start("signin-rotate", seed(true)).await;
    env.apply(&org_choosing(&env, None));
    let (apps, mut r, old, new) = signing_in(&env).await;

    // Announce: both keys, the current one first, and next-certificate.pem.
    env.apply(&org_choosing(
        &env,
        Some("{nextCertificate: SelfSignedCert_Other, overlap: 1h, gracePeriod: 20s}"),
    ));
    r.rounds_until(&env, true, "announced", async |r: &Reloader| {
        r.all_loaded(&[&old, &new])
    })
    .await;
    for app in &apps {
        let data = env.config_map_data(&app.config_map()).await;
        let next = data.get("next-certificate.pem").map(|p| pem_body(p));
        assert_eq!(next.as_deref(), Some(new.as_str()), "{}", app.name);
    }
    assert_eq!(
        idp_certificate(&env).await,
        IDP,
        "announcing does not switch"
    );

    // Switch now (the annotation names the certificate). The SP keeps signing in with the
    // metadata of the announcement (its next poll not yet due): through the second key.
    let out = env.kubectl(&[
        "annotate",
        "--overwrite",
        "salesforceorg",
        ORG,
        &format!("sso-operator.dev/switch-certificate-now={NEXT}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.rounds_until(&env, false, "switching", async |_: &Reloader| {
        idp_certificate(&env).await == NEXT
    })
    .await;
    // The org signs with the next certificate now.
    let next_pem = org_cert_file(&env, NEXT, r.sp.dir.path()).await;
    for _ in 0..2 {
        r.round(&env, false, "switched, SP not reloaded").await;
        assert!(r.all_loaded(&[&old, &new]));
        for (app, response) in &r.last {
            verify_both(response, &next_pem, r.sp.dir.path())
                .unwrap_or_else(|e| panic!("{app}: not signed by {NEXT} after the switch: {e}"));
        }
    }
    // Republished: the new key first, the old one kept for the grace period.
    r.rounds_until(&env, true, "switched", async |r: &Reloader| {
        r.all_loaded(&[&new, &old])
    })
    .await;
    // Retired after the grace period: only the new key.
    r.rounds_until(&env, true, "grace period", async |r: &Reloader| {
        r.all_loaded(&[&new])
    })
    .await;
    r.rounds_until(&env, true, "retired", async |r: &Reloader| {
        r.in_phase("retired").len() >= 6
    })
    .await;

    let counts: Vec<(&str, usize)> = [
        "before",
        "announced",
        "switching",
        "switched, SP not reloaded",
        "switched",
        "grace period",
        "retired",
    ]
    .into_iter()
    .map(|p| (p, r.in_phase(p).len()))
    .collect();
    eprintln!(
        "planned rotation: {} sign-ins, by phase {counts:?}, refused {}",
        r.attempts.len(),
        r.refused().len()
    );
    assert!(r.refused().is_empty(), "refused: {:?}", r.refused());
    for (phase, n) in counts {
        assert!(n > 0, "no sign-in in phase {phase}");
    }
    let org = env.orgs().get(ORG).await.expect("org");
    let rotation = org.status.and_then(|s| s.identity_provider?.rotation);
    assert_eq!(
        rotation.map(|r| format!("{:?}", r.phase)).as_deref(),
        Some("Retired")
    );
}

#[tokio::test]
async fn k8s_rotation_by_hand_refuses_sign_ins_until_the_operator_republishes() {
    // The org does not choose the certificate and the apps name none: they follow the IdP.
    let env = Env::start("signin-hand", seed(true)).await;
    let (apps, mut r, old, new) = signing_in(&env).await;
    assert!(r.all_loaded(&[&old]));

    // An admin switches the IdP to the other certificate in Setup: nothing was announced.
    env.sim
        .control(
            "/__sim/mutate",
            json!({"type": "IdentityProviderSettings", "set": {"certificateName": NEXT}}),
        )
        .await;
    r.rounds_until(&env, true, "window", async |r: &Reloader| {
        r.in_phase("window").len() >= 6
    })
    .await;
    // The operator republishes at its next refresh of each app (asked for at once here).
    for (i, app) in apps.iter().enumerate() {
        env.annotate_sync(&app.name, &format!("after-switch-{i}"));
    }
    r.rounds_until(&env, true, "republishing", async |r: &Reloader| {
        r.all_loaded(&[&new])
    })
    .await;
    r.rounds_until(&env, true, "after", async |r: &Reloader| {
        r.in_phase("after").len() >= 6
    })
    .await;

    let refused = r.refused();
    eprintln!(
        "switch by hand: {} sign-ins, refused {} (window {}, republishing {})",
        r.attempts.len(),
        refused.len(),
        r.in_phase("window").iter().filter(|a| !a.ok).count(),
        r.in_phase("republishing").iter().filter(|a| !a.ok).count(),
    );
    assert!(r.in_phase("before").iter().all(|a| a.ok));
    assert!(r.in_phase("after").iter().all(|a| a.ok));
    // Every sign-in between the switch and the republish is refused, for its signature.
    let window = r.in_phase("window");
    assert!(
        window.iter().all(|a| !a.ok && a.reason == "signature"),
        "{window:?}"
    );
    assert!(
        refused.iter().all(|a| a.reason == "signature"),
        "{refused:?}"
    );
    let apps_refused: BTreeSet<&str> = window.iter().map(|a| a.app.as_str()).collect();
    assert_eq!(
        apps_refused.len(),
        apps.len(),
        "both kinds refused: {window:?}"
    );
}
