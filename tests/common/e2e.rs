//! End-to-end fixture: a fresh namespace on the real kube-apiserver, a simulated org
//! (`sim.rs`, in this process), the JWT Secret and `SalesforceOrg`, and the `sso-operator`
//! binary run as a process watching only that namespace (so tests running in parallel never see
//! each other's resources).
//!
//! Parts: `e2e/org.rs` (the org's seed and the running org's controls), `e2e/operator.rs` (the
//! operator process and its metrics), `sim.rs` (starting the simulator); this file holds [`Env`],
//! the manifests and [`Flavor`].
//!
//! Include after the cluster harness:
//! ```ignore
//! #[path = "common/cluster.rs"] mod cluster;
//! #[path = "common/e2e.rs"] mod e2e;
//! ```
#![allow(dead_code)]

#[path = "e2e/operator.rs"]
mod operator;
#[path = "e2e/org.rs"]
mod org;
#[path = "sim.rs"]
mod sim;

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

use super::cluster;
// Not every test file uses every part.
#[allow(unused_imports)]
pub use operator::{Operator, metrics, operator_idle};
#[allow(unused_imports)]
pub use org::{OrgSeed, Sim};
pub use sim::{JWT_CLIENT, USERNAME};
#[allow(unused_imports)]
pub use sim::{rsa_key_pair, secret_client};

/// Namespace + simulator + org + operator.
pub struct Env {
    pub ns: String,
    pub sim: Sim,
    pub operator: Operator,
    pub client: kube::Client,
}

pub const ORG: &str = "acme";

impl Env {
    pub async fn start(prefix: &str, seed: OrgSeed) -> Env {
        Self::start_with(prefix, seed, &[]).await
    }

    pub async fn start_with(prefix: &str, seed: OrgSeed, operator_args: &[&str]) -> Env {
        cluster::install_crds().await;
        let ns = cluster::fresh_namespace(prefix).await;
        let sim = Sim::start(&seed);
        let key = sim.dir.path().join("jwt.key");
        std::fs::write(&key, &sim.key_pem).expect("key");
        let out = cluster::kubectl(&[
            "-n",
            &ns,
            "create",
            "secret",
            "generic",
            "acme-jwt",
            &format!("--from-file=tls.key={}", key.display()),
        ]);
        assert!(
            out.status.success(),
            "create secret: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&key).ok();
        cluster::apply_yaml(&ns, &org_manifest(&sim.base)).expect("apply org");
        let operator = Operator::start(&ns, &sim, sim.dir.path(), operator_args);
        let client = cluster::client().await;
        Env {
            ns,
            sim,
            operator,
            client,
        }
    }

    pub fn apps(&self) -> Api<SsoConnectedApp> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn orgs(&self) -> Api<SalesforceOrg> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn apply(&self, yaml: &str) {
        cluster::apply_yaml(&self.ns, yaml).unwrap_or_else(|e| panic!("apply: {e}"));
    }

    /// The status of condition `type_` on app `name`: (status, reason, message).
    pub async fn condition(&self, name: &str, type_: &str) -> Option<(String, String, String)> {
        let app = self.apps().get_opt(name).await.ok()??;
        let st = app.status?;
        st.conditions
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    }

    /// Waits until condition `type_` of `name` has `status` (and `reason`, if given).
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
        timeout: Duration,
    ) -> (String, String, String) {
        let what = format!("{name} {type_}={status} {reason:?}");
        cluster::wait_for_value(timeout, &what, || async {
            let c = self.condition(name, type_).await?;
            (c.0 == status && reason.is_none_or(|r| c.1 == r)).then_some(c)
        })
        .await
    }

    pub async fn wait_ready(&self, name: &str, timeout: Duration) {
        let ok = tokio::time::timeout(timeout, async {
            loop {
                if self
                    .condition(name, "Ready")
                    .await
                    .is_some_and(|c| c.0 == "True")
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        if ok.is_err() {
            panic!(
                "{name} not Ready within {timeout:?}; conditions: {:?}\noperator log tail:\n{}",
                self.apps()
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|a| a.status)
                    .map(|s| s.conditions),
                tail(&self.operator.logs(), 30)
            );
        }
    }

    /// Waits until the status of app `name` satisfies `pred`.
    pub async fn wait_status(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&sso_operator::api::SsoConnectedAppStatus) -> bool,
    ) {
        let pred = &pred;
        cluster::wait_for(timeout, what, || async move {
            self.apps()
                .get_opt(name)
                .await
                .ok()
                .flatten()
                .and_then(|a| a.status)
                .is_some_and(|s| pred(&s))
        })
        .await
    }

    /// Waits until the simulator's app `full_name` has `value` at JSON pointer `pointer`
    /// (e.g. `/samlConfig/acsUrl`).
    pub async fn wait_sim_app(
        &self,
        full_name: &str,
        pointer: &str,
        value: &str,
        timeout: Duration,
    ) {
        let what = format!("{full_name}{pointer} == {value}");
        cluster::wait_for(timeout, &what, || async {
            self.sim
                .app(full_name)
                .await
                .is_some_and(|a| a.pointer(pointer).and_then(Value::as_str) == Some(value))
        })
        .await
    }

    pub async fn resource_version(&self, name: &str) -> String {
        self.apps()
            .get(name)
            .await
            .expect("get app")
            .metadata
            .resource_version
            .unwrap_or_default()
    }

    pub fn annotate_sync(&self, name: &str, token: &str) {
        let out = cluster::kubectl(&[
            "-n",
            &self.ns,
            "annotate",
            "--overwrite",
            "sca",
            name,
            &format!("sso-operator.dev/sync-requested={token}"),
        ]);
        assert!(
            out.status.success(),
            "annotate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        cluster::kubectl(&a)
    }
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn org_manifest(base: &str) -> String {
    format!(
        r#"apiVersion: sso-operator.dev/v1alpha1
kind: SalesforceOrg
metadata: {{name: {ORG}}}
spec:
  instanceUrl: {base}
  login: {{url: {base}}}
  auth:
    jwtBearer: {{clientId: {JWT_CLIENT}, username: {USERNAME}, privateKeySecretRef: {{name: acme-jwt}}}}
"#
    )
}

/// Knobs for [`app_manifest`].
pub struct AppOpts<'a> {
    pub name: &'a str,
    pub api_name: &'a str,
    pub acs_url: &'a str,
    pub deletion: &'a str,
    pub adoption: &'a str,
    pub management: &'a str,
    pub refresh: &'a str,
    pub certificate: &'a str,
    pub app_type: &'a str,
}

impl Default for AppOpts<'_> {
    fn default() -> Self {
        Self {
            name: "telephony",
            api_name: "Telephony_SSO",
            acs_url: "https://sso.vendor.example/saml/acs",
            deletion: "Delete",
            adoption: "Never",
            management: "Full",
            refresh: "1h",
            certificate: "SelfSignedCert_IdP",
            app_type: "ConnectedApp",
        }
    }
}

pub fn app_manifest(o: &AppOpts) -> String {
    format!(
        r#"apiVersion: sso-operator.dev/v1alpha1
kind: SsoConnectedApp
metadata: {{name: {name}}}
spec:
  orgRef: {{name: {ORG}}}
  identityProvider: {{certificate: {cert}}}
  app:
    type: {ty}
    apiName: {api}
    label: Telephony SSO
    contactEmail: voice-admins@acme.example
    description: SSO for the partner telephony system
  saml:
    acsUrl: {acs}
    entityId: https://sso.vendor.example/sp
    subjectType: FederationId
    nameIdFormat: EmailAddress
    singleLogout: {{url: https://sso.vendor.example/saml/slo, binding: Post}}
  access:
    profiles: [Contact Center Agent]
    permissionSets: [Voice_Agent]
  publish: {{refreshInterval: {refresh}}}
  policy: {{deletion: {del}, adoption: {adopt}, management: {mgmt}}}
"#,
        name = o.name,
        cert = o.certificate,
        ty = o.app_type,
        api = o.api_name,
        acs = o.acs_url,
        refresh = o.refresh,
        del = o.deletion,
        adopt = o.adoption,
        mgmt = o.management,
    )
}

/// An app already in the org, without the ownership marker (for adoption tests).
pub fn unowned_app(full_name: &str) -> Value {
    json!({
        "fullName": full_name,
        "label": "Hand Made",
        "contactEmail": "admin@acme.example",
        "description": "created by hand in Setup",
        "profileName": ["System Administrator"],
        "samlConfig": {
            "acsUrl": "https://old.vendor.example/acs",
            "entityUrl": "https://old.vendor.example/sp",
            "samlSubjectType": "Username",
        },
    })
}

pub fn json_str(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default().to_string()
}

pub fn no_json() -> Value {
    json!({})
}

/// Which kind of Salesforce app a shared test drives: the same test code runs for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Connected,
    External,
}

impl Flavor {
    pub fn app_type(self) -> &'static str {
        match self {
            Flavor::Connected => "ConnectedApp",
            Flavor::External => "ExternalClientApp",
        }
    }

    /// The SAML settings of app `name` as the org holds them, with WSDL field names mapped to the
    /// connected-app names the tests use (`acsUrl`, `entityUrl`, `profiles`).
    pub async fn saml(self, sim: &Sim, name: &str) -> Option<Value> {
        let state = sim.state().await;
        match self {
            Flavor::Connected => {
                let app = state["connectedApps"].get(name)?.clone();
                Some(json!({
                    "acsUrl": app["samlConfig"]["acsUrl"],
                    "entityUrl": app["samlConfig"]["entityUrl"],
                    "description": app["description"],
                    "profiles": app["profileName"],
                }))
            }
            Flavor::External => {
                let eca = state["externalClientApps"].get(name)?.clone();
                let saml = eca["samlPolicies"]
                    .as_object()
                    .and_then(|m| m.values().next().cloned())
                    .unwrap_or(Value::Null);
                let profiles: Vec<Value> = saml["commaSeparatedProfile"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect();
                Some(json!({
                    "acsUrl": saml["acsUrl"],
                    "entityUrl": saml["entityUrl"],
                    "description": eca["app"]["description"],
                    "profiles": profiles,
                }))
            }
        }
    }

    /// An admin changing the ACS URL in Setup.
    pub fn mutate_acs(self, name: &str, url: &str) -> Value {
        match self {
            Flavor::Connected => {
                json!({"type": "ConnectedApp", "fullName": name, "set": {"samlConfig.acsUrl": url}})
            }
            Flavor::External => {
                json!({"type": "ExtlClntAppSamlConfigurablePolicies", "fullName": format!("{name}_samlPlcy"), "set": {"acsUrl": url}})
            }
        }
    }

    /// An app made by hand in Setup (no ownership marker), created through the simulator's controls.
    pub async fn create_unowned(self, sim: &Sim, name: &str) {
        let v = match self {
            Flavor::Connected => json!({"type": "ConnectedApp", "fullName": name, "value": {
                "fullName": name, "label": "Hand Made", "contactEmail": "admin@acme.example",
                "description": "created by hand in Setup", "profileName": ["System Administrator"],
                "samlConfig": {"acsUrl": "https://old.vendor.example/acs", "entityUrl": "https://old.vendor.example/sp", "samlSubjectType": "Username"}}}),
            Flavor::External => {
                json!({"type": "ExternalClientApplication", "fullName": name, "value": {
                "fullName": name, "label": "Hand Made", "contactEmail": "admin@acme.example",
                "description": "created by hand in Setup", "distributionState": "Local"}})
            }
        };
        sim.control("/__sim/mutate", v).await;
    }

    pub async fn exists(self, sim: &Sim, name: &str) -> bool {
        let state = sim.state().await;
        let key = match self {
            Flavor::Connected => "connectedApps",
            Flavor::External => "externalClientApps",
        };
        state[key].get(name).is_some()
    }
}
