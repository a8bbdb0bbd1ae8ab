//! Access grants as Salesforce keeps them: `SetupEntityAccess` records, one per profile (through
//! the permission set the profile owns) or permission set with access to an app. Read with SOQL
//! over REST, revoked with an sObject delete.
//!
//! Sources: the object reference (`SetupEntityAccess`: `query()`, `delete()`; `SetupEntityType`
//! `ExternalClientApplication` from API 60.0, `ConnectedApplication` from 28.0; "View Setup and
//! Configuration"); the REST API guide (`/query?q=`, `DELETE /sobjects/<type>/<id>` → 204); and
//! the field report of issue 15 (External Client App grants are `SetupEntityAccess` rows, and the
//! access fields of a deploy only add).

use super::OrgClient;
use super::budget::ReadPriority;
use super::grant::{AccessGrant, grant_of, is_record_id};
use crate::salesforce::api_name::check_api_names;
use crate::salesforce::error::SalesforceError;

impl OrgClient {
    /// The id of External Client App `name` (matched regardless of case), from `listMetadata`;
    /// `None` when the org does not list it.
    async fn external_client_app_id(&self, name: &str) -> Result<Option<String>, SalesforceError> {
        check_api_names(&[name])?;
        let listed = self.list_external_client_apps().await?;
        Ok(listed
            .into_iter()
            .find(|f| f.full_name.eq_ignore_ascii_case(name))
            .map(|f| f.id)
            .filter(|id| is_record_id(id)))
    }

    /// The grants of External Client App `name` (`None`: the org does not list the app).
    pub async fn read_external_client_app_grants(
        &self,
        name: &str,
    ) -> Result<Option<Vec<AccessGrant>>, SalesforceError> {
        let Some(id) = self.external_client_app_id(name).await? else {
            return Ok(None);
        };
        let op = "query";
        let caller = &self.caller;
        caller.budget.admit(op, ReadPriority::Required)?;
        let _permit = caller.budget.permit().await?;
        let soql = format!(
            "SELECT Id, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name FROM SetupEntityAccess WHERE SetupEntityId = '{id}' AND SetupEntityType = 'ExternalClientApplication'"
        );
        let path = format!("/services/data/v{}/query", self.connection().api_version);
        let mut url = caller.endpoint.url(&path, "query")?;
        url.query_pairs_mut().append_pair("q", &soql);
        let body = caller.rest_get(op, &url).await?;
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SalesforceError::protocol(op, "query response is not JSON"))?;
        let records = v["records"]
            .as_array()
            .ok_or_else(|| SalesforceError::protocol(op, "query response has no records"))?;
        records
            .iter()
            .map(|r| {
                grant_of(r).ok_or_else(|| {
                    SalesforceError::protocol(op, "SetupEntityAccess record without Id or Parent")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Revokes one grant (`DELETE /sobjects/SetupEntityAccess/<id>`).
    pub async fn revoke_grant(&self, id: &str) -> Result<(), SalesforceError> {
        if !is_record_id(id) {
            return Err(SalesforceError::Config {
                reason: format!("'{id}' is not a SetupEntityAccess record id"),
            });
        }
        let op = "sobjectDelete";
        let caller = &self.caller;
        caller.budget.check_paused(op)?;
        let _permit = caller.budget.permit().await?;
        let path = format!(
            "/services/data/v{}/sobjects/SetupEntityAccess/{id}",
            self.connection().api_version
        );
        let url = caller.endpoint.url(&path, "sobjects")?;
        caller
            .rest(op, reqwest::Method::DELETE, &url)
            .await
            .map(|_| ())
    }
}
