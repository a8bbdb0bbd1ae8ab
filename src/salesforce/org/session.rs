//! The org's token session: mints an access token (JWT bearer or client credentials) when there is
//! none or it is older than `token_max_age`, drops it when Salesforce calls it invalid (once, even
//! when many calls fail with it at the same time), and runs a call with one retry on a new token.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tracing::{Instrument, debug, info_span};

use super::endpoint::Endpoint;
use crate::salesforce::auth::{self, Identity};
use crate::salesforce::connection::Credentials;
use crate::salesforce::error::SalesforceError;
use crate::salesforce::secret::{RsaSigningKey, SecretString, parse_private_key};

/// How one attempt with a given token ended.
pub enum Attempt<T> {
    Done(T),
    /// `INVALID_SESSION_ID`, with Salesforce's message.
    InvalidSession(String),
}

struct Token {
    access: SecretString,
    identity: Identity,
    minted: Instant,
    /// Which mint this is, so that only the first of many failures with it drops it.
    generation: u64,
}

pub struct Session {
    endpoint: Arc<Endpoint>,
    /// The JWT bearer key, parsed once.
    signing_key: OnceLock<Result<RsaSigningKey, SalesforceError>>,
    token: tokio::sync::Mutex<Option<Token>>,
    generation: AtomicU64,
}

impl Session {
    pub fn new(endpoint: Arc<Endpoint>) -> Self {
        Session {
            endpoint,
            signing_key: OnceLock::new(),
            token: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    fn signing_key(&self) -> Result<Option<&RsaSigningKey>, SalesforceError> {
        match &self.endpoint.conn.credentials {
            Credentials::JwtBearer {
                private_key_pem, ..
            } => {
                let r = self
                    .signing_key
                    .get_or_init(|| parse_private_key(private_key_pem.expose()));
                match r {
                    Ok(k) => Ok(Some(k)),
                    Err(e) => Err(e.clone()),
                }
            }
            Credentials::ClientCredentials { .. } => Ok(None),
        }
    }

    /// The current token, minting one if there is none or it is older than `token_max_age`.
    pub async fn token(&self) -> Result<(SecretString, u64, Identity), SalesforceError> {
        let ep = &self.endpoint;
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && t.minted.elapsed() < ep.opts.token_max_age
        {
            return Ok((t.access.clone(), t.generation, t.identity.clone()));
        }
        let key = self.signing_key()?;
        let started = Instant::now();
        let res = auth::mint(&ep.http, &ep.opts, &ep.conn, key)
            .instrument(
                info_span!("salesforce_token", org = %ep.key, flow = ep.conn.credentials.flow()),
            )
            .await;
        ep.observe("token", &res, started, None, 0);
        let minted = res?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let t = Token {
            access: minted.access_token,
            identity: minted.identity,
            minted: Instant::now(),
            generation,
        };
        let out = (t.access.clone(), t.generation, t.identity.clone());
        *guard = Some(t);
        Ok(out)
    }

    /// Drops the token if it is still the one that failed, so concurrent failures re-mint once.
    async fn invalidate(&self, generation: u64) {
        let mut guard = self.token.lock().await;
        if guard.as_ref().is_some_and(|t| t.generation == generation) {
            *guard = None;
        }
    }

    /// Runs `attempt` with the cached token; on `INVALID_SESSION_ID` mints a new token and runs it
    /// once more, then reports.
    pub async fn authed<T, F, Fut>(
        &self,
        op: &'static str,
        metadata_type: Option<&'static str>,
        count: usize,
        attempt: F,
    ) -> Result<T, SalesforceError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<Attempt<T>, SalesforceError>>,
    {
        let started = Instant::now();
        let res = async {
            let (tok, generation, _) = self.token().await?;
            match attempt(tok).await? {
                Attempt::Done(v) => Ok(v),
                Attempt::InvalidSession(_) => {
                    debug!(org = %self.endpoint.key, operation = op, "session invalid; minting a new token and retrying once");
                    self.invalidate(generation).await;
                    let (tok, _, _) = self.token().await?;
                    match attempt(tok).await? {
                        Attempt::Done(v) => Ok(v),
                        Attempt::InvalidSession(message) => {
                            Err(SalesforceError::SessionInvalid { operation: op, message })
                        }
                    }
                }
            }
        }
        .await;
        self.endpoint
            .observe(op, &res, started, metadata_type, count);
        res
    }
}
