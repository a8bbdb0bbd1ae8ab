//! Connected apps: read (coalesced, optionally held back below the reserve), upsert and create
//! (coalesced), delete, and list.

use super::OrgClient;
use super::budget::ReadPriority;
use super::classify::is_not_found;
use super::coalesce::{ReadResult, SaveMode, UpsertOutcome};
use crate::salesforce::error::SalesforceError;
use crate::salesforce::model::{CONNECTED_APP, ConnectedApp};
use crate::salesforce::soap::{self, FileProperties};
use crate::salesforce::xml;

impl OrgClient {
    /// Reads one connected app (coalesced with concurrent reads of this org).
    pub async fn read_connected_app(&self, full_name: &str) -> ReadResult {
        self.read_connected_app_with(full_name, ReadPriority::Required)
            .await
    }

    /// As [`Self::read_connected_app`], but an `Optional` read (drift check) fails fast with
    /// `Quota` when the remaining allocation is below the org's reserve.
    pub async fn read_connected_app_with(
        &self,
        full_name: &str,
        priority: ReadPriority,
    ) -> ReadResult {
        self.caller.budget.admit("readMetadata", priority)?;
        self.batches.read(full_name).await
    }

    /// Creates or updates one connected app (coalesced with concurrent upserts of this org).
    pub async fn upsert_connected_app(
        &self,
        app: &ConnectedApp,
    ) -> Result<UpsertOutcome, SalesforceError> {
        self.save_connected_app(app, SaveMode::Upsert).await
    }

    /// Creates one connected app that is believed not to exist (coalesced with concurrent creates
    /// of this org). An app of that name that exists after all is left alone and reported as an
    /// error for which [`SalesforceError::is_already_exists`] holds.
    pub async fn create_connected_app(
        &self,
        app: &ConnectedApp,
    ) -> Result<UpsertOutcome, SalesforceError> {
        self.save_connected_app(app, SaveMode::Create).await
    }

    async fn save_connected_app(
        &self,
        app: &ConnectedApp,
        mode: SaveMode,
    ) -> Result<UpsertOutcome, SalesforceError> {
        self.caller.budget.check_paused(mode.operation())?;
        self.batches.save(app, mode).await
    }

    /// Deletes a connected app; a missing app counts as deleted.
    pub async fn delete_connected_app(&self, full_name: &str) -> Result<(), SalesforceError> {
        let op = "deleteMetadata";
        self.caller.budget.check_paused(op)?;
        let _permit = self.caller.budget.permit().await?;
        let body = soap::delete_body(CONNECTED_APP, &[full_name]);
        let results = self
            .caller
            .metadata_call(op, CONNECTED_APP, 1, &body, |resp| {
                soap::component_results(op, resp)
            })
            .await?;
        match soap::match_results(&[full_name], &results)[0] {
            None => Err(SalesforceError::protocol(
                op,
                format!("no result for '{full_name}'"),
            )),
            Some(r) if r.success => Ok(()),
            Some(r) if is_not_found(&r.errors) => Ok(()),
            Some(r) => Err(SalesforceError::Component {
                operation: op,
                metadata_type: CONNECTED_APP,
                full_name: full_name.to_string(),
                errors: r.errors.clone(),
            }),
        }
    }

    /// Lists the org's connected apps (`listMetadata`).
    pub async fn list_connected_apps(&self) -> Result<Vec<FileProperties>, SalesforceError> {
        self.list_metadata(CONNECTED_APP).await
    }

    /// Lists the org's components of one metadata type (`listMetadata`).
    pub(crate) async fn list_metadata(
        &self,
        metadata_type: &'static str,
    ) -> Result<Vec<FileProperties>, SalesforceError> {
        let op = "listMetadata";
        self.caller.budget.check_paused(op)?;
        let _permit = self.caller.budget.permit().await?;
        let body = soap::list_body(metadata_type, &self.caller.endpoint.conn.api_version);
        self.caller
            .metadata_call(op, metadata_type, 1, &body, |resp| {
                xml::children(resp, "result")
                    .map(|r| FileProperties::parse(r).map_err(|e| SalesforceError::protocol(op, e)))
                    .collect()
            })
            .await
    }
}
