//! Where one org client's calls go and who hears about them: the org's key and connection
//! settings, the process's HTTP client and options, and the report of each call (the metrics
//! observer and one log line).

use std::sync::Arc;
use std::time::Instant;

use tracing::{debug, warn};
use url::Url;

use crate::salesforce::connection::OrgConnection;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::options::ClientOptions;

pub struct Endpoint {
    /// The registry key (`namespace/name` of the `SalesforceOrg`), for log lines.
    pub key: String,
    pub conn: OrgConnection,
    pub http: reqwest::Client,
    pub opts: Arc<ClientOptions>,
}

impl Endpoint {
    /// `path` on the org's My Domain; `what` names the URL in the error.
    pub fn url(&self, path: &str, what: &str) -> Result<Url, SalesforceError> {
        self.conn
            .instance_url
            .join(path)
            .map_err(|e| SalesforceError::Config {
                reason: format!("cannot build the {what} URL: {e}"),
            })
    }

    /// Reports one finished call: to the metrics observer, and as a debug line (a warning when it
    /// failed).
    pub fn observe<T>(
        &self,
        op: &'static str,
        res: &Result<T, SalesforceError>,
        started: Instant,
        metadata_type: Option<&'static str>,
        count: usize,
    ) {
        let secs = started.elapsed().as_secs_f64();
        let outcome = match res {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        };
        if let Some(o) = &self.opts.observer {
            o.on_call(op, outcome, secs);
        }
        match res {
            Ok(_) => {
                debug!(org = %self.key, operation = op, metadata_type = metadata_type.unwrap_or(""), count, outcome, elapsed_ms = (secs * 1000.0) as u64, "salesforce call")
            }
            Err(e) => {
                warn!(org = %self.key, operation = op, metadata_type = metadata_type.unwrap_or(""), count, outcome, elapsed_ms = (secs * 1000.0) as u64, error = %e, "salesforce call failed")
            }
        }
    }
}
