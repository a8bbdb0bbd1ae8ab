//! The org's daily API allocation from `/limits`.

use super::OrgClient;
use super::budget::{ApiUsage, ReadPriority};
use crate::salesforce::error::SalesforceError;

impl OrgClient {
    /// `GET /services/data/vXX.X/limits`: an optional call, held back below the reserve.
    pub async fn refresh_limits(&self) -> Result<ApiUsage, SalesforceError> {
        let op = "limits";
        let caller = &self.caller;
        caller.budget.admit(op, ReadPriority::Optional)?;
        let _permit = caller.budget.permit().await?;
        let path = format!("/services/data/v{}/limits", self.connection().api_version);
        let url = caller.endpoint.url(&path, "limits")?;
        let body = caller.rest_get(op, &url).await?;
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SalesforceError::protocol(op, "limits response is not JSON"))?;
        let d = &v["DailyApiRequests"];
        let (max, remaining) = match (d["Max"].as_u64(), d["Remaining"].as_u64()) {
            (Some(m), Some(r)) => (m, r),
            _ => {
                return Err(SalesforceError::protocol(
                    op,
                    "limits response has no DailyApiRequests.Max/Remaining",
                ));
            }
        };
        let usage = ApiUsage {
            used: max.saturating_sub(remaining),
            limit: max,
            observed_at: jiff::Timestamp::now(),
        };
        caller.budget.set_usage(usage);
        Ok(usage)
    }
}
