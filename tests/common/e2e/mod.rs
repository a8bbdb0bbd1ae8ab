//! End-to-end environment: a fresh namespace on the real kube-apiserver, a simulated org
//! (`sim.rs`, in this process), the JWT Secret and `SalesforceOrg`, and the `sso-operator`
//! binary run as a process watching only that namespace (so tests running in parallel never see
//! each other's resources).
//!
//! Parts: `org.rs` (the org's seed), `operator.rs` (the operator process and its metrics),
//! `manifests.rs` (the objects the tests apply), `flavor.rs` (connected app or External Client
//! App); this file holds [`Env`] and what tests ask of it.

mod flavor;
mod manifests;
mod operator;
mod org;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use sso_operator::api::{SalesforceOrg, SsoConnectedApp, SsoConnectedAppStatus};

use super::cluster;
// What the tests use of the parts (not every binary uses all of it).
#[allow(unused_imports)]
pub use super::sim::{JWT_CLIENT, Sim, USERNAME, rsa_key_pair, secret_client};
#[allow(unused_imports)]
pub use flavor::Flavor;
#[allow(unused_imports)]
pub use manifests::{
    AppOpts, ORG, ORG_SECRET, acme_org, app_manifest, client_credentials_auth, jwt_auth,
    org_manifest, secret, unowned_app,
};
pub use operator::{Operator, OperatorOpts};
pub use org::OrgSeed;

/// A condition's (status, reason, message).
pub type Cond = (String, String, String);

/// Namespace + simulator + org + operator.
pub struct Env {
    pub ns: String,
    pub sim: Sim,
    pub operator: Operator,
    pub client: kube::Client,
    opts: OperatorOpts,
}

impl Env {
    /// The environment with the operator as the admin and its usual flags.
    pub async fn start(prefix: &str, seed: OrgSeed) -> Env {
        Self::start_with(prefix, seed, OperatorOpts::default()).await
    }

    /// The environment: namespace, org, its Secret and `SalesforceOrg` [`ORG`], then the
    /// operator run with `opts`.
    pub async fn start_with(prefix: &str, seed: OrgSeed, opts: OperatorOpts) -> Env {
        let (ns, sim) = Self::namespace_and_org(prefix, &seed).await;
        cluster::apply_yaml(&ns, &secret(ORG_SECRET, &[("tls.key", &sim.key.key_pem)]))
            .expect("apply the JWT Secret");
        cluster::apply_yaml(&ns, &acme_org(&sim.url)).expect("apply the org");
        Self::with_operator(ns, sim, opts).await
    }

    /// Namespace, simulated org and operator, but neither the Secret nor the `SalesforceOrg`.
    pub async fn start_bare(prefix: &str, seed: OrgSeed) -> Env {
        let (ns, sim) = Self::namespace_and_org(prefix, &seed).await;
        Self::with_operator(ns, sim, OperatorOpts::default()).await
    }

    async fn namespace_and_org(prefix: &str, seed: &OrgSeed) -> (String, Sim) {
        cluster::install_crds().await;
        (cluster::fresh_namespace(prefix).await, seed.start())
    }

    async fn with_operator(ns: String, sim: Sim, opts: OperatorOpts) -> Env {
        let operator = Operator::start(&ns, Some(&sim), sim.dir.path(), &opts);
        Env {
            ns,
            sim,
            operator,
            client: cluster::client().await,
            opts,
        }
    }

    /// Applies the default app (`telephony`, `Telephony_SSO`) and waits (30 s) until it is Ready.
    pub async fn apply_app_ready(&self) {
        self.apply(&app_manifest(&AppOpts::default()));
        self.wait_ready("telephony", Duration::from_secs(30)).await;
    }

    /// Another operator process for this namespace and org.
    pub fn spawn_operator(&self, opts: &OperatorOpts) -> Operator {
        Operator::start(&self.ns, Some(&self.sim), self.sim.dir.path(), opts)
    }

    /// Kills the operator (if it still runs) and starts a fresh one with the same options: an
    /// operator with no memory of the last one.
    pub fn restart_operator(&mut self) {
        self.operator.kill();
        self.operator = self.spawn_operator(&self.opts);
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

    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        cluster::kubectl(&a)
    }

    /// The data of ConfigMap `name`, `None` while it does not exist.
    pub async fn config_map(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let cm = self
            .config_maps()
            .get_opt(name)
            .await
            .expect("get configmap")?;
        Some(cm.data.unwrap_or_default())
    }

    /// The data of ConfigMap `name` (panics when it is missing).
    pub async fn config_map_data(&self, name: &str) -> BTreeMap<String, String> {
        let data = self.config_map(name).await;
        data.unwrap_or_else(|| panic!("no ConfigMap {name}"))
    }

    /// The status of app `name`, if it has one.
    pub async fn app_status(&self, name: &str) -> Option<SsoConnectedAppStatus> {
        self.apps().get_opt(name).await.ok()??.status
    }

    /// Condition `type_` of app `name`.
    pub async fn condition(&self, name: &str, type_: &str) -> Option<Cond> {
        let st = self.app_status(name).await?;
        st.conditions.iter().find(|c| c.type_ == type_).map(|c| {
            (
                c.status.to_string(),
                c.reason.to_string(),
                c.message.to_string(),
            )
        })
    }

    /// The `Ready` condition of org `name`, with the generation it observed.
    pub async fn org_ready(&self, name: &str) -> Option<(Cond, Option<i64>)> {
        let o = self.orgs().get_opt(name).await.ok()??;
        let c = o
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        Some((
            (c.status.into(), c.reason.into(), c.message.into()),
            c.observed_generation,
        ))
    }

    /// Waits until condition `type_` of `name` has `status` (and `reason`, if given).
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
        timeout: Duration,
    ) -> Cond {
        let what = format!("{name} {type_}={status} {reason:?}");
        cluster::wait_for_value(timeout, &what, || async {
            let c = self.condition(name, type_).await?;
            (c.0 == status && reason.is_none_or(|r| c.1 == r)).then_some(c)
        })
        .await
    }

    /// Waits until app `name` is Ready; on timeout, panics with its conditions and the
    /// operator's log.
    pub async fn wait_ready(&self, name: &str, timeout: Duration) {
        let ready = || async {
            let c = self.condition(name, "Ready").await;
            c.is_some_and(|c| c.0 == "True").then_some(())
        };
        if cluster::poll_until(timeout, ready).await.is_none() {
            panic!(
                "{name} not Ready within {timeout:?}; conditions: {:?}\noperator log tail:\n{}",
                self.app_status(name).await.map(|s| s.conditions),
                tail(&self.operator.logs(), 30)
            );
        }
    }

    /// Whether app `name` observed `generation` and is Ready.
    pub async fn ready_at(&self, name: &str, generation: i64) -> bool {
        self.app_status(name).await.is_some_and(|s| {
            s.observed_generation == Some(generation)
                && s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    }

    /// Waits until app `name` observed `generation` and is Ready.
    pub async fn wait_ready_at(&self, name: &str, generation: i64, timeout: Duration) {
        let what = format!("{name} generation {generation} Ready");
        cluster::wait_for(timeout, &what, || self.ready_at(name, generation)).await
    }

    /// Waits until the status of app `name` satisfies `pred`.
    pub async fn wait_status(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&SsoConnectedAppStatus) -> bool,
    ) {
        let pred = &pred;
        cluster::wait_for(timeout, what, || async move {
            self.app_status(name).await.is_some_and(|s| pred(&s))
        })
        .await
    }

    /// Deletes app `name` (its finalizer runs next).
    pub async fn delete_app(&self, name: &str) {
        let params = kube::api::DeleteParams::default();
        self.apps().delete(name, &params).await.expect("delete app");
    }

    /// Whether app `name` is gone (its finalizer done).
    pub async fn gone(&self, name: &str) -> bool {
        self.apps().get_opt(name).await.unwrap().is_none()
    }

    /// Waits until app `name` is gone.
    pub async fn wait_deleted(&self, name: &str, timeout: Duration) {
        cluster::wait_for(timeout, &format!("{name} deleted"), || self.gone(name)).await
    }

    /// Waits until the operator finished every app reconcile it started.
    pub async fn wait_idle(&self, timeout: Duration) {
        self.operator.wait_idle("ssoconnectedapp", timeout).await
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

    /// Asks for a reconcile of app `name` (the sync-requested annotation set to `token`).
    pub fn annotate_sync(&self, name: &str, token: &str) {
        let annotation = format!("sso-operator.dev/sync-requested={token}");
        let out = self.kubectl(&["annotate", "--overwrite", "sca", name, &annotation]);
        assert!(
            out.status.success(),
            "annotate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
