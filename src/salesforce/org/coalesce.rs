//! Request coalescing for connected apps: concurrent reads of one org ride in one `readMetadata` of
//! up to 10 names, concurrent saves in one `upsertMetadata` or `createMetadata`. One dispatcher
//! task per queue waits briefly for company (longer while requests keep arriving), then takes an
//! in-flight permit and sends the batch (with whatever piled up while it waited for the permit);
//! each caller gets its own component's result. With coalescing off, every request is a batch of
//! one, sent from the caller's task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::debug;

use super::batch::{Batcher, Pending};
use super::budget::CallPermit;
use super::call::Caller;
use super::classify::is_creation_blocked;
use crate::salesforce::error::ComponentError;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::model::{CONNECTED_APP, ConnectedApp};
use crate::salesforce::soap::{self, ComponentResult, MAX_COMPONENTS};
use crate::salesforce::xml;

/// How often a busy batcher looks whether 10 requests are queued.
const BUSY_POLL: Duration = Duration::from_millis(20);

pub type ReadResult = Result<Option<ConnectedApp>, SalesforceError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub created: bool,
}

/// How a batch of connected apps is saved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SaveMode {
    /// `upsertMetadata`: create or update.
    Upsert,
    /// `createMetadata`: refused per component for a name that exists, so it can never overwrite.
    Create,
}

impl SaveMode {
    pub fn operation(self) -> &'static str {
        match self {
            SaveMode::Upsert => "upsertMetadata",
            SaveMode::Create => "createMetadata",
        }
    }
}

/// The org's queues of connected-app reads and saves.
pub struct Coalescer {
    caller: Arc<Caller>,
    reads: Batcher<(), Option<ConnectedApp>>,
    upserts: Batcher<ConnectedApp, UpsertOutcome>,
    creates: Batcher<ConnectedApp, UpsertOutcome>,
}

impl Coalescer {
    pub fn new(caller: Arc<Caller>) -> Self {
        Coalescer {
            caller,
            reads: Batcher::new(true),
            upserts: Batcher::new(false),
            creates: Batcher::new(false),
        }
    }

    /// Reads one connected app in the next read batch.
    pub async fn read(self: &Arc<Self>, full_name: &str) -> ReadResult {
        if !self.caller.endpoint.opts.coalescing {
            let permit = self.caller.budget.permit().await?;
            let (p, rx) = pending(full_name, ());
            self.run_read_batch(vec![p], permit).await;
            return recv(rx).await;
        }
        let (p, rx) = pending(full_name, ());
        if self.reads.push(p) {
            let me = self.clone();
            tokio::spawn(async move { me.dispatch_reads().await });
        }
        recv(rx).await
    }

    /// Saves one connected app in the next save batch of `mode`.
    pub async fn save(
        self: &Arc<Self>,
        app: &ConnectedApp,
        mode: SaveMode,
    ) -> Result<UpsertOutcome, SalesforceError> {
        let (p, rx) = pending(&app.full_name, app.clone());
        if !self.caller.endpoint.opts.coalescing {
            let permit = self.caller.budget.permit().await?;
            self.run_save_batch(mode, vec![p], permit).await;
            return recv(rx).await;
        }
        if self.saves(mode).push(p) {
            let me = self.clone();
            tokio::spawn(async move { me.dispatch_saves(mode).await });
        }
        recv(rx).await
    }

    fn saves(&self, mode: SaveMode) -> &Batcher<ConnectedApp, UpsertOutcome> {
        match mode {
            SaveMode::Upsert => &self.upserts,
            SaveMode::Create => &self.creates,
        }
    }

    /// Waits for company while fewer than 10 are queued: the short window when the org is quiet;
    /// while requests keep arriving (a converge, a refresh tick), up to the busy window, ending
    /// early at 10 or when arrivals stop.
    async fn gather<Req, Resp>(&self, queue: &Batcher<Req, Resp>, busy_window: Duration) {
        if queue.len() >= MAX_COMPONENTS {
            return;
        }
        let opts = &self.caller.endpoint.opts;
        tokio::time::sleep(opts.coalesce_window).await;
        if !queue.busy() {
            return;
        }
        let deadline = Instant::now() + busy_window;
        while queue.len() < MAX_COMPONENTS && Instant::now() < deadline && queue.arriving() {
            tokio::time::sleep(BUSY_POLL.min(deadline - Instant::now())).await;
        }
    }

    async fn dispatch_reads(self: Arc<Self>) {
        loop {
            // Company first, then the slot: a dispatcher waiting for company holds none of the
            // org's few in-flight slots (default 2), which downloads and other calls need.
            let window = self.caller.endpoint.opts.coalesce_window_busy;
            self.gather(&self.reads, window).await;
            let permit = match self.caller.budget.permit().await {
                Ok(p) => p,
                Err(_) => return,
            };
            let batch = self.reads.take(MAX_COMPONENTS);
            if batch.is_empty() {
                return;
            }
            let me = self.clone();
            tokio::spawn(async move { me.run_read_batch(batch, permit).await });
        }
    }

    async fn dispatch_saves(self: Arc<Self>, mode: SaveMode) {
        let queue = self.saves(mode);
        loop {
            match mode {
                // Creates arrive as resources do, like reads.
                SaveMode::Create => {
                    let window = self.caller.endpoint.opts.coalesce_window_create;
                    self.gather(queue, window).await
                }
                // Updates come in clumps already (the reconciles of one read batch), so they
                // wait only the short window.
                SaveMode::Upsert => {
                    if queue.len() < MAX_COMPONENTS {
                        tokio::time::sleep(self.caller.endpoint.opts.coalesce_window).await;
                    }
                }
            }
            let permit = match self.caller.budget.permit().await {
                Ok(p) => p,
                Err(_) => return,
            };
            let batch = queue.take(MAX_COMPONENTS);
            if batch.is_empty() {
                return;
            }
            let me = self.clone();
            tokio::spawn(async move { me.run_save_batch(mode, batch, permit).await });
        }
    }

    /// One `readMetadata` for the batch's distinct names; every caller gets its app, `None` or
    /// the call's error.
    async fn run_read_batch(
        &self,
        batch: Vec<Pending<(), Option<ConnectedApp>>>,
        _permit: CallPermit,
    ) {
        let op = "readMetadata";
        let mut names: Vec<&str> = Vec::new();
        for p in &batch {
            if !names.contains(&p.name.as_str()) {
                names.push(&p.name);
            }
        }
        let body = soap::read_body(CONNECTED_APP, &names);
        let result = self
            .caller
            .metadata_call(op, CONNECTED_APP, names.len(), &body, |resp| {
                let mut found = HashMap::new();
                for rec in soap::read_records(resp, CONNECTED_APP) {
                    let name = xml::child_text(rec, "fullName").unwrap_or_default();
                    let parsed = ConnectedApp::parse(rec).map_err(|e| {
                        SalesforceError::protocol(op, format!("ConnectedApp '{name}': {e}"))
                    });
                    found.insert(name, parsed);
                }
                Ok(found)
            })
            .await;
        for p in batch {
            let r = match &result {
                Err(e) => Err(e.clone()),
                Ok(found) => match found.get(&p.name) {
                    None => Ok(None),
                    Some(Ok(app)) => Ok(Some(app.clone())),
                    Some(Err(e)) => Err(e.clone()),
                },
            };
            let _ = p.tx.send(r);
        }
    }

    /// One `upsertMetadata` or `createMetadata` for the batch; every caller gets its component's
    /// result.
    async fn run_save_batch(
        &self,
        mode: SaveMode,
        batch: Vec<Pending<ConnectedApp, UpsertOutcome>>,
        _permit: CallPermit,
    ) {
        let op = mode.operation();
        let rendered: Vec<String> = batch.iter().map(|p| p.req.render_metadata()).collect();
        let body = soap::save_body(op, &rendered);
        let result = self
            .caller
            .metadata_call(op, CONNECTED_APP, batch.len(), &body, |resp| {
                soap::component_results(op, resp)
            })
            .await;
        let names: Vec<&str> = batch.iter().map(|p| p.name.as_str()).collect();
        let outcomes: Vec<Result<UpsertOutcome, SalesforceError>> = match &result {
            Err(e) => batch
                .iter()
                .map(|p| Err(creation_blocked_fault(&p.name, e)))
                .collect(),
            Ok(results) => soap::match_results(&names, results)
                .into_iter()
                .zip(&batch)
                .map(|(r, p)| save_outcome(mode, &p.name, r))
                .collect(),
        };
        for (p, r) in batch.into_iter().zip(outcomes) {
            if let Err(e) = &r
                && matches!(
                    e,
                    SalesforceError::Component { .. } | SalesforceError::CreationBlocked { .. }
                )
            {
                debug!(org = %self.caller.endpoint.key, operation = op, full_name = %p.name, error = %e, "component failed");
            }
            let _ = p.tx.send(r);
        }
    }
}

/// The creation block as a fault for the whole call (one of its two plausible forms: no source
/// shows the real one) is [`SalesforceError::CreationBlocked`] too, recognised by its text.
fn creation_blocked_fault(name: &str, e: &SalesforceError) -> SalesforceError {
    if let SalesforceError::Fault { code, message, .. } = e {
        let as_error = ComponentError {
            status_code: code.trim_start_matches("sf:").to_string(),
            message: message.clone(),
            fields: vec![],
        };
        if is_creation_blocked(std::slice::from_ref(&as_error)) {
            return SalesforceError::CreationBlocked {
                full_name: name.to_string(),
                status_code: as_error.status_code,
                message: as_error.message,
            };
        }
    }
    e.clone()
}

/// One app's result of a save: created or updated, creation blocked in this org, or refused.
fn save_outcome(
    mode: SaveMode,
    name: &str,
    result: Option<&ComponentResult>,
) -> Result<UpsertOutcome, SalesforceError> {
    let op = mode.operation();
    match result {
        None => Err(SalesforceError::protocol(
            op,
            format!("no result for ConnectedApp '{name}'"),
        )),
        Some(r) if r.success => Ok(UpsertOutcome {
            created: r.created.unwrap_or(mode == SaveMode::Create),
        }),
        Some(r) if is_creation_blocked(&r.errors) => {
            let first = r.errors.first();
            Err(SalesforceError::CreationBlocked {
                full_name: name.to_string(),
                status_code: first.map(|e| e.status_code.clone()).unwrap_or_default(),
                message: first.map(|e| e.message.clone()).unwrap_or_default(),
            })
        }
        Some(r) => Err(SalesforceError::Component {
            operation: op,
            metadata_type: CONNECTED_APP,
            full_name: name.to_string(),
            errors: r.errors.clone(),
        }),
    }
}

type Reply<Resp> = oneshot::Receiver<Result<Resp, SalesforceError>>;

/// A queued request for `name` and the receiver of its result.
fn pending<Req, Resp>(name: &str, req: Req) -> (Pending<Req, Resp>, Reply<Resp>) {
    let (tx, rx) = oneshot::channel();
    (
        Pending {
            name: name.to_string(),
            req,
            tx,
        },
        rx,
    )
}

/// The result the dispatcher sent, or an error when the batch was dropped unsent.
async fn recv<T>(rx: Reply<T>) -> Result<T, SalesforceError> {
    rx.await.unwrap_or_else(|_| {
        Err(SalesforceError::Network {
            operation: "batch",
            host: String::new(),
            reason: "the batched call was abandoned (client shutting down)".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::error::ErrorKind;

    fn fault(code: &str, message: &str) -> SalesforceError {
        SalesforceError::Fault {
            operation: "upsertMetadata",
            code: code.into(),
            message: message.into(),
            kind: ErrorKind::Rejected,
        }
    }

    #[test]
    fn a_creation_block_as_a_fault_is_the_creation_block() {
        let e = creation_blocked_fault(
            "Voice",
            &fault(
                "sf:CANNOT_CREATE_CONNECTED_APP",
                "CANNOT_CREATE_CONNECTED_APP: Creating connected apps is no longer allowed",
            ),
        );
        assert!(
            matches!(&e, SalesforceError::CreationBlocked { full_name, status_code, .. }
                if full_name == "Voice" && status_code == "CANNOT_CREATE_CONNECTED_APP"),
            "{e:?}"
        );
        // Any other fault stays what it was.
        let other = fault("sf:INVALID_SESSION_ID", "expired");
        assert!(matches!(
            creation_blocked_fault("Voice", &other),
            SalesforceError::Fault { .. }
        ));
    }
}
