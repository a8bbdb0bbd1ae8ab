//! The three External Client App metadata types (salesforce-api.md §8.2: their WSDL tables,
//! zip folders and file suffixes, first API versions; id prefixes are an assumption) and the
//! org's store of ECA components.

use std::collections::BTreeMap;

use crate::component::StoredApp;
use crate::metadata_types::{self as mt, ComplexDef};
use crate::wsdl_types::{
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
};

/// The three ECA types, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    App,
    Policies,
    Saml,
}

pub struct KindInfo {
    pub name: &'static str,
    pub def: &'static ComplexDef,
    /// Folder in a deploy/retrieve zip.
    pub folder: &'static str,
    /// File suffix (without the dot).
    pub suffix: &'static str,
    /// First API version (major) that knows the type.
    pub min_version: u32,
    /// Key prefix of the ids the simulator hands out (assumption; not documented).
    pub id_prefix: &'static str,
}

pub static APP_INFO: KindInfo = KindInfo {
    name: "ExternalClientApplication",
    def: &EXTERNAL_CLIENT_APPLICATION,
    folder: "externalClientApps",
    suffix: "eca",
    min_version: 59,
    id_prefix: "0xI",
};
pub static POLICIES_INFO: KindInfo = KindInfo {
    name: "ExtlClntAppConfigurablePolicies",
    def: &EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    folder: "extlClntAppPolicies",
    suffix: "ecaPlcy",
    min_version: 60,
    id_prefix: "0xP",
};
pub static SAML_INFO: KindInfo = KindInfo {
    name: "ExtlClntAppSamlConfigurablePolicies",
    def: &EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
    folder: "extlClntAppSamlConfigurablePolicies",
    suffix: "ecaSamlPlcy",
    min_version: 63,
    id_prefix: "0xS",
};

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::App, Kind::Policies, Kind::Saml];

    pub fn info(self) -> &'static KindInfo {
        match self {
            Kind::App => &APP_INFO,
            Kind::Policies => &POLICIES_INFO,
            Kind::Saml => &SAML_INFO,
        }
    }

    pub fn from_type(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.info().name == name)
    }

    pub fn available(self, version: u32) -> bool {
        version >= self.info().min_version
    }

    pub fn file_name(self, name: &str) -> String {
        format!("{}/{name}.{}", self.info().folder, self.info().suffix)
    }
}

/// The org's ECA components, keyed by fullName.
#[derive(Debug, Clone, Default)]
pub struct EcaStore {
    pub apps: BTreeMap<String, StoredApp>,
    pub policies: BTreeMap<String, StoredApp>,
    pub saml: BTreeMap<String, StoredApp>,
}

impl EcaStore {
    pub fn map(&self, k: Kind) -> &BTreeMap<String, StoredApp> {
        match k {
            Kind::App => &self.apps,
            Kind::Policies => &self.policies,
            Kind::Saml => &self.saml,
        }
    }

    pub fn map_mut(&mut self, k: Kind) -> &mut BTreeMap<String, StoredApp> {
        match k {
            Kind::App => &mut self.apps,
            Kind::Policies => &mut self.policies,
            Kind::Saml => &mut self.saml,
        }
    }

    /// The component of kind `k` whose `externalClientApplication` is `app`.
    pub fn child_of(&self, k: Kind, app: &str) -> Option<(&String, &StoredApp)> {
        self.map(k)
            .iter()
            .find(|(_, c)| mt::text(&c.fields, "externalClientApplication") == Some(app))
    }

    /// Deletes a component; deleting an app also deletes its policies (cascade, assumption).
    /// Returns whether it existed.
    pub fn delete(&mut self, k: Kind, name: &str) -> bool {
        let existed = self.map_mut(k).remove(name).is_some();
        if existed && k == Kind::App {
            for child in [Kind::Policies, Kind::Saml] {
                self.map_mut(child)
                    .retain(|_, c| mt::text(&c.fields, "externalClientApplication") != Some(name));
            }
        }
        existed
    }
}
