//! Which kind of Salesforce app a shared test drives, and how each kind looks in the org: the
//! same test code runs for both.

use serde_json::{Value, json};

use super::manifests::unowned_app;
use crate::common::sim::Sim;

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

    /// The key of this kind's apps in `/__sim/state`.
    fn state_key(self) -> &'static str {
        match self {
            Flavor::Connected => "connectedApps",
            Flavor::External => "externalClientApps",
        }
    }

    /// The SAML settings of app `name` as the org holds them, with WSDL field names mapped to the
    /// connected-app names the tests use (`acsUrl`, `entityUrl`, `profiles`).
    pub async fn saml(self, sim: &Sim, name: &str) -> Option<Value> {
        let app = sim.state().await[self.state_key()].get(name)?.clone();
        Some(match self {
            Flavor::Connected => json!({
                "acsUrl": app["samlConfig"]["acsUrl"],
                "entityUrl": app["samlConfig"]["entityUrl"],
                "description": app["description"],
                "profiles": app["profileName"],
            }),
            Flavor::External => {
                let saml = app["samlPolicies"]
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
                json!({
                    "acsUrl": saml["acsUrl"],
                    "entityUrl": saml["entityUrl"],
                    "description": app["app"]["description"],
                    "profiles": profiles,
                })
            }
        })
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
            Flavor::Connected => {
                json!({"type": "ConnectedApp", "fullName": name, "value": unowned_app(name)})
            }
            Flavor::External => {
                json!({"type": "ExternalClientApplication", "fullName": name, "value": {
                "fullName": name, "label": "Hand Made", "contactEmail": "admin@acme.example",
                "description": "created by hand in Setup", "distributionState": "Local"}})
            }
        };
        sim.control("/__sim/mutate", v).await;
    }

    pub async fn exists(self, sim: &Sim, name: &str) -> bool {
        sim.state().await[self.state_key()].get(name).is_some()
    }
}
