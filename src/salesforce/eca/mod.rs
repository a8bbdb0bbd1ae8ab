//! External Client Apps (ECAs): typed models of `ExternalClientApplication`,
//! `ExtlClntAppConfigurablePolicies` and `ExtlClntAppSamlConfigurablePolicies` that match the
//! v63.0 WSDL element for element, the deploy zip (package.xml plus one file per component), and
//! the `deploy` / `checkDeployStatus` wire formats.
//!
//! Salesforce documents ECAs as created "using deploy and retrieve operations in the Metadata
//! API", so writes go through `deploy()` (file-based); reads use CRUD `readMetadata`.
//!
//! Zip layout (Metadata API guide; salesforce-api.md §8.2):
//! `package.xml`, `externalClientApps/<app>.eca`, `extlClntAppPolicies/<app>_plcy.ecaPlcy`,
//! `extlClntAppSamlConfigurablePolicies/<app>_samlPlcy.ecaSamlPlcy`; deletion is a deploy of an
//! empty `package.xml` plus `destructiveChanges.xml`.

mod app;
mod bundle;
mod deploy;
mod saml_policies;

pub use app::{
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES, ExternalClientApplication,
    ExtlClntAppConfigurablePolicies, ExtlClntAppDistState, ExtlClntAppManagedType,
    ExtlClntAppStartPage,
};
pub use bundle::ExternalClientAppBundle;
pub use deploy::{
    DeployFlags, DeployMessage, DeployOutcome, DeployResult, DeployStatus, build_zip,
    check_status_body, deploy_body, package_xml,
};
pub use saml_policies::{
    ECA_MIN_API_VERSION, EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES, ExtlClntAppNameIdFormatType,
    ExtlClntAppSamlAttribute, ExtlClntAppSamlBindingType, ExtlClntAppSamlConfigurablePolicies,
    ExtlClntAppSamlEncryptType, ExtlClntAppSamlSignAlgoType, ExtlClntAppSamlSubjectType,
};
