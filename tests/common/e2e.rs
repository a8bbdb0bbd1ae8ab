//! End-to-end fixture: a fresh namespace on the real kube-apiserver, a simulated org
//! (`sim.rs`, in this process), the JWT Secret and `SalesforceOrg`, and the `sso-operator`
//! binary run as a process watching only that namespace (so tests running in parallel never see
//! each other's resources).
//!
//! Include after the cluster harness:
//! ```ignore
//! #[path = "common/cluster.rs"] mod cluster;
//! #[path = "common/e2e.rs"] mod e2e;
//! ```
#![allow(dead_code)]

#[path = "sim.rs"]
mod sim;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use sso_operator::api::{SalesforceOrg, SsoConnectedApp};

use super::cluster;
pub use sim::{JWT_CLIENT, OauthClient, USERNAME};
// For the test files that generate keys or add clients (not all do).
#[allow(unused_imports)]
pub use sim::{rsa_key_pair, secret_client};

/// How the simulated org starts.
#[derive(Clone)]
pub struct OrgSeed {
    pub creation_allowed: bool,
    pub idp_enabled: bool,
    /// Apps already in the org, in WSDL field names (e.g. [`unowned_app`]).
    pub connected_apps: Vec<Value>,
    /// `expiresAt` of the IdP certificate (`2026-01-02T00:00:00Z`).
    pub cert_expires_at: Option<String>,
    pub latency_ms: u64,
    /// OAuth clients besides the JWT client.
    pub extra_oauth_clients: Vec<OauthClient>,
}

impl Default for OrgSeed {
    fn default() -> Self {
        Self {
            creation_allowed: true,
            idp_enabled: false,
            connected_apps: Vec::new(),
            cert_expires_at: None,
            latency_ms: 0,
            extra_oauth_clients: Vec::new(),
        }
    }
}

/// The org of a seed: [`sim::base_org`] with a second certificate, a large API allocation and
/// the seed's switches, clients and apps.
fn org(seed: &OrgSeed) -> sim::OrgFile {
    let mut org = sim::base_org();
    org.certificates[0].expires_at = seed
        .cert_expires_at
        .as_ref()
        .map(|e| e.parse().expect("cert_expires_at"));
    org.certificates
        .push(sim::CertSpec::named("SelfSignedCert_Other"));
    if seed.idp_enabled {
        sim::enable_idp(&mut org);
    }
    org.oauth_clients
        .extend(seed.extra_oauth_clients.iter().cloned());
    org.connected_apps = seed.connected_apps.clone();
    org.limits.daily_api_requests = 100_000;
    sim::creation_allowed(&mut org, seed.creation_allowed);
    org
}

/// A running simulated org.
pub struct Sim {
    org: sim::Org,
    pub base: String,
    pub port: u16,
    pub ca_file: PathBuf,
    pub key_pem: String,
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub fn start(seed: &OrgSeed) -> Sim {
        let sim::Started {
            org,
            dir,
            ca_file,
            key,
            ..
        } = sim::start(org(seed), seed.latency_ms);
        Sim {
            base: org.url.clone(),
            port: org.port(),
            org,
            ca_file,
            key_pem: key.key_pem,
            dir,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        self.org.get(path).await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.org.post(path, body).await
    }

    /// `DELETE path` (e.g. `/__sim/faults` to clear every injected fault).
    pub async fn delete(&self, path: &str) {
        self.org.delete(path).await
    }

    pub async fn state(&self) -> Value {
        self.org.state().await
    }

    pub async fn calls(&self) -> Value {
        self.org.calls().await
    }

    pub async fn count(&self, op: &str) -> u64 {
        self.org.count(op).await
    }

    /// Calls that change the org (create, update, upsert, delete; deploy).
    pub async fn writes(&self) -> u64 {
        let c = self.calls().await;
        [
            "createMetadata",
            "updateMetadata",
            "upsertMetadata",
            "deleteMetadata",
            "deploy",
        ]
        .iter()
        .map(|op| c["counts"][op].as_u64().unwrap_or(0))
        .sum()
    }

    /// Writes whose component list names `full_name`.
    pub async fn writes_of(&self, full_name: &str) -> Vec<Value> {
        let c = self.calls().await;
        c["log"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                let op = e["operation"].as_str().unwrap_or("");
                matches!(
                    op,
                    "createMetadata"
                        | "updateMetadata"
                        | "upsertMetadata"
                        | "deleteMetadata"
                        | "deploy"
                ) && e["fullNames"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|x| x == full_name))
            })
            .collect()
    }

    pub async fn app(&self, full_name: &str) -> Option<Value> {
        self.state().await["connectedApps"].get(full_name).cloned()
    }

    pub async fn stop(&mut self) {
        self.org.stop();
    }
}

/// A running operator process.
pub struct Operator {
    child: Option<Child>,
    pub log: PathBuf,
    pub metrics_port: u16,
}

impl Operator {
    pub fn start(ns: &str, sim: &Sim, dir: &std::path::Path, extra: &[&str]) -> Operator {
        Self::start_as(ns, sim, dir, extra, cluster::kubeconfig())
    }

    /// Like [`Operator::start`], with extra environment (e.g. another `RUST_LOG`).
    pub fn start_env(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Operator {
        Self::spawn(ns, sim, dir, extra, cluster::kubeconfig(), env)
    }

    /// Like [`Operator::start`], with another identity's kubeconfig.
    pub fn start_as(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        kubeconfig: &std::path::Path,
    ) -> Operator {
        Self::spawn(ns, sim, dir, extra, kubeconfig, &[])
    }

    fn spawn(
        ns: &str,
        sim: &Sim,
        dir: &std::path::Path,
        extra: &[&str],
        kubeconfig: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Operator {
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join(format!("operator-{metrics_port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_sso-operator"))
            .arg("run")
            .args(["--namespace", ns])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--allow-host", &format!("localhost:{}", sim.port)])
            .arg("--salesforce-ca-file")
            .arg(&sim.ca_file)
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,sso_operator=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start sso-operator");
        Operator {
            child: Some(child),
            log,
            metrics_port,
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status if the process has exited (e.g. crashed), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

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

fn metric(text: &str, name: &str, controller: &str) -> Option<f64> {
    let prefix = format!("{name}{{controller=\"{controller}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// True once the operator has finished every reconcile of `controller` it started (and started
/// at least one): reconciles counted at start equal reconciles timed at the end.
pub async fn operator_idle(port: u16, controller: &str) -> bool {
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return false;
    };
    let text = r.text().await.unwrap_or_default();
    match (
        metric(&text, "sso_operator_reconciles_total", controller),
        metric(
            &text,
            "sso_operator_reconcile_duration_seconds_count",
            controller,
        ),
    ) {
        (Some(started), Some(done)) => started > 0.0 && started == done,
        _ => false,
    }
}

/// The operator's `/metrics` text.
pub async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
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
