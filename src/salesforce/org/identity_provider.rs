//! The org's identity provider: `IdentityProviderSettings` (read, upsert) and the `Certificate`
//! components it can sign with (read).

use super::OrgClient;
use super::budget::ReadPriority;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::model::{
    CERTIFICATE, CertificateMetadata, IDENTITY_PROVIDER_FULL_NAME, IDENTITY_PROVIDER_SETTINGS,
    IdentityProviderSettings,
};
use crate::salesforce::soap;

impl OrgClient {
    pub async fn read_identity_provider(
        &self,
    ) -> Result<Option<IdentityProviderSettings>, SalesforceError> {
        self.read_identity_provider_with(ReadPriority::Required)
            .await
    }

    pub async fn read_identity_provider_with(
        &self,
        priority: ReadPriority,
    ) -> Result<Option<IdentityProviderSettings>, SalesforceError> {
        self.caller
            .read_one(
                IDENTITY_PROVIDER_SETTINGS,
                IDENTITY_PROVIDER_FULL_NAME,
                priority,
                IdentityProviderSettings::parse,
            )
            .await
    }

    pub async fn upsert_identity_provider(
        &self,
        s: &IdentityProviderSettings,
    ) -> Result<(), SalesforceError> {
        let op = "upsertMetadata";
        self.caller.budget.check_paused(op)?;
        let _permit = self.caller.budget.permit().await?;
        let body = soap::upsert_body(&[s.render_metadata()]);
        let results = self
            .caller
            .metadata_call(op, IDENTITY_PROVIDER_SETTINGS, 1, &body, |resp| {
                soap::component_results(op, resp)
            })
            .await?;
        match soap::match_results(&[IDENTITY_PROVIDER_FULL_NAME], &results)[0] {
            Some(r) if r.success => Ok(()),
            Some(r) => Err(SalesforceError::Component {
                operation: op,
                metadata_type: IDENTITY_PROVIDER_SETTINGS,
                full_name: IDENTITY_PROVIDER_FULL_NAME.into(),
                errors: r.errors.clone(),
            }),
            None => Err(SalesforceError::protocol(
                op,
                "no result for IdentityProvider",
            )),
        }
    }

    pub async fn read_certificate(
        &self,
        name: &str,
    ) -> Result<Option<CertificateMetadata>, SalesforceError> {
        self.read_certificate_with(name, ReadPriority::Required)
            .await
    }

    pub async fn read_certificate_with(
        &self,
        name: &str,
        priority: ReadPriority,
    ) -> Result<Option<CertificateMetadata>, SalesforceError> {
        self.caller
            .read_one(CERTIFICATE, name, priority, CertificateMetadata::parse)
            .await
    }
}
