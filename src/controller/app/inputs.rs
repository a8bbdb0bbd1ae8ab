//! What every stage of one `SsoConnectedApp` reconcile reads: the resource, and the facts derived
//! from it once (management mode, whether this generation was applied before, read priority).

use std::time::Duration;

use kube::ResourceExt;

use crate::api::SsoConnectedApp;
use crate::api::app::{AppType, ManagementPolicy, SsoConnectedAppSpec};
use crate::api::conditions::{self, types};
use crate::controller::rotation::OrgIdpView;
use crate::ownership;
use crate::salesforce::ReadPriority;

/// The inputs of one reconcile.
pub struct Inputs<'a> {
    pub app: &'a SsoConnectedApp,
    pub spec: &'a SsoConnectedAppSpec,
    pub namespace: String,
    pub name: String,
    /// `publish.refreshInterval`, parsed (at least one minute).
    pub refresh: Duration,
    /// `policy.management: ObserveOnly`: read and publish, never write to Salesforce.
    pub observe_only: bool,
    /// This generation was applied before: differences now were made in Salesforce (drift).
    pub applied: bool,
    /// Re-reads of an applied generation are drift checks, which the budget may hold back.
    pub priority: ReadPriority,
    /// This cluster's name in ownership markers.
    pub cluster: &'a str,
    /// The ownership marker this resource writes into its app's description.
    pub marker: String,
    /// When the reconcile runs (certificate expiry is judged against it).
    pub now: jiff::Timestamp,
    /// The `SalesforceOrg`'s choice of IdP certificate (and rotation), if it makes one.
    pub org_idp: Option<OrgIdpView>,
}

impl<'a> Inputs<'a> {
    pub fn new(app: &'a SsoConnectedApp, cluster: &'a str, now: jiff::Timestamp) -> Self {
        let namespace = app.namespace().unwrap_or_default();
        let name = app.name_any();
        let applied = app.status.as_ref().is_some_and(|s| {
            s.observed_generation == app.metadata.generation
                && conditions::find(&s.conditions, types::APP_READY)
                    .is_some_and(|c| c.status == "True")
        });
        let uid = app.uid().unwrap_or_default();
        let marker = ownership::marker(&ownership::Claimant {
            namespace: &namespace,
            name: &name,
            uid: &uid,
            cluster,
        });
        Inputs {
            cluster,
            app,
            spec: &app.spec,
            refresh: refresh_interval(app),
            observe_only: app.spec.policy.management == ManagementPolicy::ObserveOnly,
            applied,
            priority: if applied {
                ReadPriority::Optional
            } else {
                ReadPriority::Required
            },
            marker,
            namespace,
            name,
            now,
            org_idp: None,
        }
    }

    pub fn api_name(&self) -> &str {
        &self.spec.app.api_name
    }

    /// "connected app" or "External Client App", for messages.
    pub fn kind(&self) -> &'static str {
        app_kind(self.spec.app.type_)
    }

    /// The certificate the IdP should sign with for this app: the org's choice, else the app's.
    pub fn wanted_certificate(&self) -> Option<&str> {
        match &self.org_idp {
            Some(v) => Some(&v.current),
            None => self.spec.identity_provider.certificate.as_deref(),
        }
    }

    /// This resource as an ownership marker names it.
    pub fn claimant(&self) -> ownership::Claimant<'_> {
        ownership::Claimant {
            namespace: &self.namespace,
            name: &self.name,
            uid: self.app.metadata.uid.as_deref().unwrap_or_default(),
            cluster: self.cluster,
        }
    }

    /// The user asked to take over an app marked for this resource's predecessor.
    pub fn reclaims(&self) -> bool {
        self.app
            .annotations()
            .get(crate::api::RECLAIM_ANNOTATION)
            .is_some_and(|v| v == "true")
    }

    /// The resource has never got as far as the app (no `status.app` yet).
    pub fn first_time(&self) -> bool {
        self.app.status.as_ref().is_none_or(|s| s.app.is_none())
    }
}

pub fn app_kind(t: AppType) -> &'static str {
    match t {
        AppType::ConnectedApp => "connected app",
        AppType::ExternalClientApp => "External Client App",
    }
}

/// `publish.refreshInterval`, at least one minute; one hour for a value stored before the schema
/// had its current rule (admission refuses anything else).
pub fn refresh_interval(app: &SsoConnectedApp) -> Duration {
    app.spec
        .publish
        .refresh()
        .unwrap_or(Duration::from_secs(3600))
}

/// Whether an org at API version `v` can hold External Client Apps with SAML.
pub fn eca_version_ok(v: &str) -> bool {
    let min: f64 = crate::salesforce::ECA_MIN_API_VERSION
        .parse()
        .unwrap_or(63.0);
    v.parse::<f64>().is_ok_and(|v| v >= min)
}
