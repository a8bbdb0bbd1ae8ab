//! External Client Apps (ECAs): the three metadata types the operator uses
//! (`ExternalClientApplication`, `ExtlClntAppConfigurablePolicies`,
//! `ExtlClntAppSamlConfigurablePolicies`), their semantic checks, and the file-based
//! `deploy()` / `checkDeployStatus()` calls that create and change them.
//!
//! Choices (see docs/simulator.md, "External Client Apps"):
//! - Salesforce documents ECAs as created "using deploy and retrieve operations", so
//!   `createMetadata`/`updateMetadata`/`upsertMetadata` of these types give a per-component
//!   `INVALID_OPERATION`; `readMetadata`, `listMetadata` and `deleteMetadata` work.
//! - Zip layout follows the Metadata API guide: `package.xml`, `externalClientApps/<n>.eca`,
//!   `extlClntAppPolicies/<n>.ecaPlcy`, `extlClntAppSamlConfigurablePolicies/<n>.ecaSamlPlcy`,
//!   and optional `destructiveChanges.xml` / `destructiveChangesPre.xml` /
//!   `destructiveChangesPost.xml`.
//! - A deploy is checked and applied when it completes (on the poll after
//!   `policy.deployPollsInProgress` `InProgress` answers), in dependency order (apps, then
//!   policies, then SAML policies), whatever the order in the zip.
//!
//! Modules, leaves first: `kind` (the three types and the org's store of them), `package` (the
//! deploy zip), `job` (a deploy and its `DeployMessage`s), `check` (semantic checks and storing
//! one component), `apply` (completing a deploy and its `DeployResult`).

pub mod access;
pub mod apply;
pub mod check;
pub mod job;
pub mod kind;
pub mod package;
