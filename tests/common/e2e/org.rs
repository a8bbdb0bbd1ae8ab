//! The simulated org of an end-to-end test: how it starts ([`OrgSeed`]), shaped from
//! [`sim::base_org`] and started through [`Sim::start`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::sim::{self, CertSpec, OauthClient, Sim, UserSpec};

/// How the simulated org starts.
#[derive(Clone)]
pub struct OrgSeed {
    pub creation_allowed: bool,
    pub idp_enabled: bool,
    /// Apps already in the org, in WSDL field names (e.g. [`super::unowned_app`]).
    pub connected_apps: Vec<Value>,
    /// `expiresAt` of the IdP certificate (`2026-01-02T00:00:00Z`).
    pub cert_expires_at: Option<String>,
    /// Certificates besides the IdP's and `SelfSignedCert_Other`.
    pub extra_certificates: Vec<CertSpec>,
    pub latency_ms: u64,
    /// OAuth clients besides the JWT client.
    pub extra_oauth_clients: Vec<OauthClient>,
    /// Users besides the integration user (e.g. the agents a sign-in test signs in).
    pub extra_users: Vec<UserSpec>,
    /// More fields of users, by username (`Email`, `Department`, custom `X__c` fields): what
    /// the SAML `email` attribute and custom attribute formulas read.
    pub user_fields: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for OrgSeed {
    fn default() -> Self {
        Self {
            creation_allowed: true,
            idp_enabled: false,
            connected_apps: Vec::new(),
            cert_expires_at: None,
            extra_certificates: Vec::new(),
            latency_ms: 0,
            extra_oauth_clients: Vec::new(),
            extra_users: Vec::new(),
            user_fields: BTreeMap::new(),
        }
    }
}

impl OrgSeed {
    /// The org of the seed: [`sim::base_org`] with a second certificate (`SelfSignedCert_Other`),
    /// a large API allocation and the seed's switches, certificates, clients and apps.
    pub fn org(&self) -> sim::OrgFile {
        let mut org = sim::base_org();
        org.certificates[0].expires_at = self
            .cert_expires_at
            .as_ref()
            .map(|e| e.parse().expect("cert_expires_at"));
        org.certificates
            .push(CertSpec::named("SelfSignedCert_Other"));
        org.certificates
            .extend(self.extra_certificates.iter().cloned());
        if self.idp_enabled {
            sim::enable_idp(&mut org);
        }
        org.oauth_clients
            .extend(self.extra_oauth_clients.iter().cloned());
        org.connected_apps = self.connected_apps.clone();
        org.users.extend(self.extra_users.iter().cloned());
        org.user_fields.extend(self.user_fields.clone());
        org.limits.daily_api_requests = 100_000;
        sim::creation_allowed(&mut org, self.creation_allowed);
        org
    }

    /// Starts the simulated org of the seed.
    pub fn start(&self) -> Sim {
        Sim::start(self.org(), self.latency_ms)
    }
}
