//! External Client Apps: read (three `readMetadata` calls), deploy, and delete by destructive
//! deploy, with `checkDeployStatus` polled until the deploy is done. Refused before anything is
//! sent when the org's API version is below 63.0.

use std::time::Instant;

use super::OrgClient;
use super::budget::ReadPriority;
use crate::salesforce::api_name::check_api_names;
use crate::salesforce::eca::{
    self, DeployFlags, DeployOutcome, DeployResult, ECA_MIN_API_VERSION,
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES, ExternalClientAppBundle, ExternalClientApplication,
    ExtlClntAppConfigurablePolicies, ExtlClntAppSamlConfigurablePolicies,
};
use crate::salesforce::error::SalesforceError;
use crate::salesforce::xml;

impl OrgClient {
    /// Refuses ECA calls below API 63.0 before anything is sent (kind `Invalid`).
    fn require_eca_version(&self) -> Result<(), SalesforceError> {
        let v = &self.connection().api_version;
        let major = v
            .split_once('.')
            .and_then(|(a, _)| a.parse::<u32>().ok())
            .unwrap_or(0);
        if major >= 63 {
            return Ok(());
        }
        Err(SalesforceError::Config {
            reason: format!(
                "External Client Apps with SAML need Metadata API version {ECA_MIN_API_VERSION} or later (ExtlClntAppSamlConfigurablePolicies); this org is configured for API version {v}: raise SalesforceOrg spec.apiVersion or use a connected app"
            ),
        })
    }

    /// Lists the org's External Client Apps (`listMetadata` of `ExternalClientApplication`).
    pub async fn list_external_client_apps(
        &self,
    ) -> Result<Vec<crate::salesforce::FileProperties>, SalesforceError> {
        self.require_eca_version()?;
        self.list_metadata(EXTERNAL_CLIENT_APPLICATION).await
    }

    /// Reads one External Client App: `ExternalClientApplication` `name`, then its
    /// `ExtlClntAppConfigurablePolicies` `<name>_plcy` and `ExtlClntAppSamlConfigurablePolicies`
    /// `<name>_samlPlcy` (three `readMetadata` calls; one when the app is absent). `None` when
    /// the app does not exist; absent policies are `None` inside the bundle.
    pub async fn read_external_client_app(
        &self,
        name: &str,
        priority: ReadPriority,
    ) -> Result<Option<ExternalClientAppBundle>, SalesforceError> {
        self.require_eca_version()?;
        check_api_names(&[name])?;
        let caller = &self.caller;
        let Some(app) = caller
            .read_one(
                EXTERNAL_CLIENT_APPLICATION,
                name,
                priority,
                ExternalClientApplication::parse,
            )
            .await?
        else {
            return Ok(None);
        };
        let policies = caller
            .read_one(
                EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
                &ExternalClientAppBundle::policies_name(name),
                priority,
                ExtlClntAppConfigurablePolicies::parse,
            )
            .await?;
        let saml_policies = caller
            .read_one(
                EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
                &ExternalClientAppBundle::saml_policies_name(name),
                priority,
                ExtlClntAppSamlConfigurablePolicies::parse,
            )
            .await?;
        Ok(Some(ExternalClientAppBundle {
            app,
            policies,
            saml_policies,
        }))
    }

    /// The name under which `readMetadata` of `ExternalClientApplication` `name` answers (any
    /// case; `None`: nothing): `sso-operator check-org` asks it with another case than the app's.
    pub async fn external_client_app_name_as_read(
        &self,
        name: &str,
    ) -> Result<Option<String>, SalesforceError> {
        self.require_eca_version()?;
        check_api_names(&[name])?;
        self.caller
            .read_full_name(EXTERNAL_CLIENT_APPLICATION, name, ReadPriority::Required)
            .await
    }

    /// Creates or updates the bundle's components with one `deploy()` (rollbackOnError, no
    /// tests) and polls `checkDeployStatus` with backoff until it is done, at most
    /// `ClientOptions::deploy_timeout`. A deploy that does not succeed is
    /// [`SalesforceError::DeployFailed`] (kind `Rejected`) naming each failing component with
    /// Salesforce's `problem`.
    pub async fn deploy_external_client_app(
        &self,
        bundle: &ExternalClientAppBundle,
    ) -> Result<DeployOutcome, SalesforceError> {
        self.require_eca_version()?;
        let components = bundle.components();
        let names: Vec<&str> = components.iter().map(|(_, n)| *n).collect();
        check_api_names(&names)?;
        let app = bundle.name();
        let parents = [
            bundle
                .policies
                .as_ref()
                .map(|p| p.external_client_application.as_str()),
            bundle
                .saml_policies
                .as_ref()
                .map(|p| p.external_client_application.as_str()),
        ];
        if let Some(other) = parents.into_iter().flatten().find(|p| *p != app) {
            return Err(SalesforceError::Config {
                reason: format!(
                    "policies of External Client App '{app}' name '{other}' as their externalClientApplication"
                ),
            });
        }
        let zip = eca::build_zip(&bundle.files(&self.connection().api_version))?;
        self.run_deploy(
            zip,
            DeployFlags {
                check_only: false,
                ignore_warnings: false,
                rollback_on_error: true,
            },
            components.len(),
        )
        .await
    }

    /// Deletes an External Client App and the policies the operator names (`<name>_plcy`,
    /// `<name>_samlPlcy`) with a destructive deploy (`destructiveChanges.xml`,
    /// ignoreWarnings). A missing app is only a warning, so it counts as deleted.
    pub async fn delete_external_client_app(&self, name: &str) -> Result<(), SalesforceError> {
        self.require_eca_version()?;
        check_api_names(&[name])?;
        let v = &self.connection().api_version;
        let saml = ExternalClientAppBundle::saml_policies_name(name);
        let plcy = ExternalClientAppBundle::policies_name(name);
        let members = [
            (EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES, saml.as_str()),
            (EXTL_CLNT_APP_CONFIGURABLE_POLICIES, plcy.as_str()),
            (EXTERNAL_CLIENT_APPLICATION, name),
        ];
        let zip = eca::build_zip(&[
            ("package.xml".to_string(), eca::package_xml(&[], v)),
            (
                "destructiveChanges.xml".to_string(),
                eca::package_xml(&members, v),
            ),
        ])?;
        self.run_deploy(
            zip,
            DeployFlags {
                check_only: false,
                ignore_warnings: true,
                rollback_on_error: true,
            },
            members.len(),
        )
        .await
        .map(|_| ())
    }

    /// `deploy()` then `checkDeployStatus` until done. The in-flight permit is held per call,
    /// not while waiting.
    async fn run_deploy(
        &self,
        zip: Vec<u8>,
        flags: DeployFlags,
        count: usize,
    ) -> Result<DeployOutcome, SalesforceError> {
        let caller = &self.caller;
        let op = "deploy";
        caller.budget.check_paused(op)?;
        let body = eca::deploy_body(&zip, flags);
        let id = {
            let _permit = caller.budget.permit().await?;
            caller
                .metadata_call(op, EXTERNAL_CLIENT_APPLICATION, count, &body, |resp| {
                    xml::child(resp, "result")
                        .and_then(|r| xml::child_text(r, "id"))
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| {
                            SalesforceError::protocol(op, "deployResponse without an id")
                        })
                })
                .await?
        };
        let op = "checkDeployStatus";
        let opts = &caller.endpoint.opts;
        let started = Instant::now();
        let mut wait = opts.deploy_poll_initial;
        loop {
            tokio::time::sleep(wait).await;
            caller.budget.check_paused(op)?;
            let body = eca::check_status_body(&id);
            let result = {
                let _permit = caller.budget.permit().await?;
                caller
                    .metadata_call(op, EXTERNAL_CLIENT_APPLICATION, 1, &body, |resp| {
                        let r = xml::child(resp, "result")
                            .ok_or_else(|| SalesforceError::protocol(op, "no <result>"))?;
                        DeployResult::parse(r).map_err(|e| SalesforceError::protocol(op, e))
                    })
                    .await?
            };
            if result.done {
                return result.into_outcome();
            }
            if started.elapsed() >= opts.deploy_timeout {
                return Err(SalesforceError::DeployTimeout {
                    id,
                    status: result.status.to_string(),
                    waited: started.elapsed(),
                });
            }
            wait = (wait * 3 / 2).min(opts.deploy_poll_max);
        }
    }
}
