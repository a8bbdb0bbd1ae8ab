//! One org: cached token, in-flight cap, daily-allocation view, quota pause, coalescing, and the
//! typed Metadata API operations the reconciler calls.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::{Instrument, debug, info_span, warn};
use url::Url;

use super::api_name::{check_api_names, is_api_name};
use super::auth;
use super::auth::Identity;
use super::batch::{Batcher, Pending};
use super::eca::{
    self, DeployFlags, DeployOutcome, DeployResult, ECA_MIN_API_VERSION,
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES, ExternalClientAppBundle, ExternalClientApplication,
    ExtlClntAppConfigurablePolicies, ExtlClntAppSamlConfigurablePolicies,
};
use super::error::{ComponentError, ErrorKind, SalesforceError};
use super::idp::{IdpMetadata, parse_idp_metadata};
use super::model::{
    CERTIFICATE, CONNECTED_APP, CertificateMetadata, ConnectedApp, IDENTITY_PROVIDER_FULL_NAME,
    IDENTITY_PROVIDER_SETTINGS, IdentityProviderSettings,
};
use super::options::ClientOptions;
use super::secret::{RsaSigningKey, SecretString, parse_private_key};
use super::soap::{self, Fault, FileProperties, MAX_COMPONENTS};
use super::transport::{self, MAX_METADATA_BODY, Raw};
use super::xml;
use super::{ApiUsage, Credentials, OrgConnection, ReadPriority, UpsertOutcome};

struct Token {
    access: SecretString,
    identity: Identity,
    minted: Instant,
    generation: u64,
}

/// How one attempt with a given token ended.
enum Attempt<T> {
    Done(T),
    /// `INVALID_SESSION_ID`, with Salesforce's message.
    InvalidSession(String),
}

type ReadResult = Result<Option<ConnectedApp>, SalesforceError>;

/// The client for one org. Cheap to share: hold it in an `Arc` (the registry does).
pub struct OrgClient {
    inner: Arc<Inner>,
}

/// How often a busy batcher looks whether 10 requests are queued.
const BUSY_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// How long calls stay one at a time after Salesforce reported its concurrent-request limit.
pub const SERIAL_AFTER_CONCURRENT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// IdP metadata downloads in flight per org. They are not API calls (no permit), but unbounded
/// they follow the reconcile concurrency: dozens of connections to one My Domain, each kept open
/// by the pool (and its buffers in memory). Not fewer than 10: reconciles waiting here hold their
/// slots, and with 6 the reads of a refresh tick no longer filled batches of 10 (measured: 205
/// instead of 200 reads per 2 intervals at N = 1,000).
const METADATA_DOWNLOADS_PER_ORG: usize = 10;

/// Leave to make one call: a slot of the org's `maxConcurrentCalls`, plus the single slot while
/// calls are serialized after a concurrent-request refusal.
struct CallPermit {
    _main: OwnedSemaphorePermit,
    _serial: Option<OwnedSemaphorePermit>,
}

struct Inner {
    key: String,
    conn: OrgConnection,
    http: reqwest::Client,
    opts: Arc<ClientOptions>,
    signing_key: OnceLock<Result<RsaSigningKey, SalesforceError>>,
    token: tokio::sync::Mutex<Option<Token>>,
    generation: AtomicU64,
    permits: Arc<Semaphore>,
    /// Taken as well while `serial_until` lies ahead: calls then go one at a time.
    serial: Arc<Semaphore>,
    /// Set when Salesforce reported its concurrent-request limit.
    serial_until: Mutex<Option<Instant>>,
    usage: Mutex<Option<ApiUsage>>,
    /// Set when the daily allocation ran out: (until, Salesforce's message).
    paused_until: Mutex<Option<(Instant, String)>>,
    /// Slots for IdP metadata downloads ([`METADATA_DOWNLOADS_PER_ORG`]).
    downloads: Semaphore,
    reads: Batcher<(), Option<ConnectedApp>>,
    upserts: Batcher<ConnectedApp, UpsertOutcome>,
    creates: Batcher<ConnectedApp, UpsertOutcome>,
}

/// How a batch of connected apps is saved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SaveMode {
    /// `upsertMetadata`: create or update.
    Upsert,
    /// `createMetadata`: refused per component for a name that exists, so it can never overwrite.
    Create,
}

impl SaveMode {
    fn operation(self) -> &'static str {
        match self {
            SaveMode::Upsert => "upsertMetadata",
            SaveMode::Create => "createMetadata",
        }
    }
}

impl OrgClient {
    pub(crate) fn new(
        key: String,
        conn: OrgConnection,
        http: reqwest::Client,
        opts: Arc<ClientOptions>,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(conn.max_concurrent_calls.max(1) as usize));
        OrgClient {
            inner: Arc::new(Inner {
                key,
                conn,
                http,
                opts,
                signing_key: OnceLock::new(),
                token: tokio::sync::Mutex::new(None),
                generation: AtomicU64::new(0),
                permits,
                serial: Arc::new(Semaphore::new(1)),
                serial_until: Mutex::new(None),
                usage: Mutex::new(None),
                paused_until: Mutex::new(None),
                downloads: Semaphore::new(METADATA_DOWNLOADS_PER_ORG),
                reads: Batcher::new(true),
                upserts: Batcher::new(false),
                creates: Batcher::new(false),
            }),
        }
    }

    pub fn key(&self) -> &str {
        &self.inner.key
    }

    pub fn connection(&self) -> &OrgConnection {
        &self.inner.conn
    }

    /// Returns the cached token's identity, minting a token if there is none or it is too old.
    pub async fn authenticate(&self) -> Result<Identity, SalesforceError> {
        self.inner.check_paused("token")?;
        let (_, _, identity) = self.inner.token().await?;
        Ok(identity)
    }

    /// Calls this client lets run at once right now: the org's `maxConcurrentCalls`, or 1 for a
    /// while after Salesforce reported its concurrent-request limit.
    pub fn effective_concurrency(&self) -> u32 {
        if self.inner.serialized() {
            1
        } else {
            self.inner.conn.max_concurrent_calls.max(1)
        }
    }

    /// Last seen daily API usage.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *lock(&self.inner.usage)
    }

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
        let inner = &self.inner;
        inner.check_paused("readMetadata")?;
        if priority == ReadPriority::Optional {
            inner.check_reserve("readMetadata")?;
        }
        if !inner.opts.coalescing {
            let permit = inner.permit().await?;
            let (tx, rx) = oneshot::channel();
            let p = Pending {
                name: full_name.to_string(),
                req: (),
                tx,
            };
            inner.clone().run_read_batch(vec![p], permit).await;
            return recv(rx).await;
        }
        let (tx, rx) = oneshot::channel();
        let start = inner.reads.push(Pending {
            name: full_name.to_string(),
            req: (),
            tx,
        });
        if start {
            let me = inner.clone();
            tokio::spawn(async move { me.dispatch_reads().await });
        }
        recv(rx).await
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
        let inner = &self.inner;
        inner.check_paused(mode.operation())?;
        let (tx, rx) = oneshot::channel();
        let p = Pending {
            name: app.full_name.clone(),
            req: app.clone(),
            tx,
        };
        if !inner.opts.coalescing {
            let permit = inner.permit().await?;
            inner.clone().run_save_batch(mode, vec![p], permit).await;
            return recv(rx).await;
        }
        if inner.saves(mode).push(p) {
            let me = inner.clone();
            tokio::spawn(async move { me.dispatch_saves(mode).await });
        }
        recv(rx).await
    }

    /// Deletes a connected app; a missing app counts as deleted.
    pub async fn delete_connected_app(&self, full_name: &str) -> Result<(), SalesforceError> {
        let op = "deleteMetadata";
        let inner = &self.inner;
        inner.check_paused(op)?;
        let _permit = inner.permit().await?;
        let body = soap::delete_body(CONNECTED_APP, &[full_name]);
        let text = inner.soap_call(op, CONNECTED_APP, 1, &body).await?;
        let doc = xml::parse(op, &text)?;
        let resp = response_node(op, &doc)?;
        let results = soap::component_results(op, resp)?;
        let matched = soap::match_results(&[full_name], &results);
        match matched[0] {
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
        let op = "listMetadata";
        let inner = &self.inner;
        inner.check_paused(op)?;
        let _permit = inner.permit().await?;
        let body = soap::list_body(CONNECTED_APP, &inner.conn.api_version);
        let text = inner.soap_call(op, CONNECTED_APP, 1, &body).await?;
        let doc = xml::parse(op, &text)?;
        let resp = response_node(op, &doc)?;
        xml::children(resp, "result")
            .map(|r| FileProperties::parse(r).map_err(|e| SalesforceError::protocol(op, e)))
            .collect()
    }

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
        self.read_single(
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
        let inner = &self.inner;
        inner.check_paused(op)?;
        let _permit = inner.permit().await?;
        let body = soap::upsert_body(&[s.render_metadata()]);
        let text = inner
            .soap_call(op, IDENTITY_PROVIDER_SETTINGS, 1, &body)
            .await?;
        let doc = xml::parse(op, &text)?;
        let resp = response_node(op, &doc)?;
        let results = soap::component_results(op, resp)?;
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
        self.read_single(CERTIFICATE, name, priority, CertificateMetadata::parse)
            .await
    }

    async fn read_single<T>(
        &self,
        metadata_type: &'static str,
        name: &str,
        priority: ReadPriority,
        parse: fn(roxmltree::Node<'_, '_>) -> Result<T, String>,
    ) -> Result<Option<T>, SalesforceError> {
        let op = "readMetadata";
        let inner = &self.inner;
        inner.check_paused(op)?;
        if priority == ReadPriority::Optional {
            inner.check_reserve(op)?;
        }
        let _permit = inner.permit().await?;
        let body = soap::read_body(metadata_type, &[name]);
        let text = inner.soap_call(op, metadata_type, 1, &body).await?;
        let doc = xml::parse(op, &text)?;
        let resp = response_node(op, &doc)?;
        for rec in soap::read_records(resp, metadata_type) {
            if xml::child_text(rec, "fullName").as_deref() == Some(name) {
                return parse(rec).map(Some).map_err(|e| {
                    SalesforceError::protocol(op, format!("{metadata_type} '{name}': {e}"))
                });
            }
        }
        Ok(None)
    }

    // === External Client Apps ===

    /// Refuses ECA calls below API 63.0 before anything is sent (kind `Invalid`).
    fn require_eca_version(&self) -> Result<(), SalesforceError> {
        let v = &self.inner.conn.api_version;
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
        let Some(app) = self
            .read_single(
                EXTERNAL_CLIENT_APPLICATION,
                name,
                priority,
                ExternalClientApplication::parse,
            )
            .await?
        else {
            return Ok(None);
        };
        let policies = self
            .read_single(
                EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
                &ExternalClientAppBundle::policies_name(name),
                priority,
                ExtlClntAppConfigurablePolicies::parse,
            )
            .await?;
        let saml_policies = self
            .read_single(
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
        let zip = eca::build_zip(&bundle.files(&self.inner.conn.api_version))?;
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
        let v = &self.inner.conn.api_version;
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
        let inner = &self.inner;
        let op = "deploy";
        inner.check_paused(op)?;
        let body = eca::deploy_body(&zip, flags);
        let id = {
            let _permit = inner.permit().await?;
            let text = inner
                .soap_call(op, EXTERNAL_CLIENT_APPLICATION, count, &body)
                .await?;
            let doc = xml::parse(op, &text)?;
            let resp = response_node(op, &doc)?;
            xml::child(resp, "result")
                .and_then(|r| xml::child_text(r, "id"))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| SalesforceError::protocol(op, "deployResponse without an id"))?
        };
        let op = "checkDeployStatus";
        let started = Instant::now();
        let mut wait = inner.opts.deploy_poll_initial;
        loop {
            tokio::time::sleep(wait).await;
            inner.check_paused(op)?;
            let result = {
                let _permit = inner.permit().await?;
                let text = inner
                    .soap_call(
                        op,
                        EXTERNAL_CLIENT_APPLICATION,
                        1,
                        &eca::check_status_body(&id),
                    )
                    .await?;
                let doc = xml::parse(op, &text)?;
                let resp = response_node(op, &doc)?;
                let r = xml::child(resp, "result")
                    .ok_or_else(|| SalesforceError::protocol(op, "no <result>"))?;
                DeployResult::parse(r).map_err(|e| SalesforceError::protocol(op, e))?
            };
            if result.done {
                return result.into_outcome();
            }
            if started.elapsed() >= inner.opts.deploy_timeout {
                return Err(SalesforceError::DeployTimeout {
                    id,
                    status: result.status.to_string(),
                    waited: started.elapsed(),
                });
            }
            wait = (wait * 3 / 2).min(inner.opts.deploy_poll_max);
        }
    }

    /// Fetches IdP metadata from the org's own My Domain (`/.well-known/samlidp.xml`, or
    /// `/.well-known/samlidp/<app>.xml`). Never from a URL taken from a resource.
    ///
    /// Unauthenticated and not an API call (it does not count against the daily allocation), so
    /// it neither takes an in-flight permit nor honours the quota pause; downloads have their own
    /// cap per org ([`METADATA_DOWNLOADS_PER_ORG`]).
    pub async fn fetch_idp_metadata(
        &self,
        app: Option<&str>,
    ) -> Result<IdpMetadata, SalesforceError> {
        let op = "fetchIdpMetadata";
        let inner = &self.inner;
        let path = match app {
            None => "/.well-known/samlidp.xml".to_string(),
            Some(a) => {
                if !is_api_name(a) {
                    return Err(SalesforceError::Config {
                        reason: format!("'{a}' is not a valid connected app API name"),
                    });
                }
                format!("/.well-known/samlidp/{a}.xml")
            }
        };
        let url = inner
            .conn
            .instance_url
            .join(&path)
            .map_err(|e| SalesforceError::Config {
                reason: format!("cannot build the metadata URL: {e}"),
            })?;
        let _slot = inner
            .downloads
            .acquire()
            .await
            .map_err(|_| SalesforceError::Config {
                reason: "org client closed".into(),
            })?;
        let started = Instant::now();
        let res = async {
            let req = inner.http.get(url.clone());
            let raw = transport::send(op, &inner.opts, &url, req, MAX_METADATA_BODY).await?;
            match raw.status {
                200 if raw.content_type.contains("html") => Err(SalesforceError::protocol(
                    op,
                    format!(
                        "got an HTML page (Content-Type {}) where SAML metadata was expected",
                        raw.content_type
                    ),
                )),
                200 => parse_idp_metadata(raw.body, jiff::Timestamp::now()),
                404 => Err(SalesforceError::NotFound {
                    operation: op,
                    what: match app {
                        Some(a) => {
                            format!("IdP metadata for app '{a}' (IdP off, app unknown or not SAML)")
                        }
                        None => "IdP metadata (identity provider not enabled)".to_string(),
                    },
                }),
                s => Err(http_error(op, &url, s, &raw.body)),
            }
        }
        .await;
        inner.observe(op, &res, started, None, 0);
        res
    }

    /// `GET /services/data/vXX.X/limits`: an optional call, held back below the reserve.
    pub async fn refresh_limits(&self) -> Result<ApiUsage, SalesforceError> {
        let op = "limits";
        let inner = &self.inner;
        inner.check_paused(op)?;
        inner.check_reserve(op)?;
        let _permit = inner.permit().await?;
        let url = inner
            .conn
            .instance_url
            .join(&format!(
                "/services/data/v{}/limits",
                inner.conn.api_version
            ))
            .map_err(|e| SalesforceError::Config {
                reason: format!("cannot build the limits URL: {e}"),
            })?;
        let body = inner
            .authed(op, None, 0, |tok| {
                let inner = inner.clone();
                let url = url.clone();
                async move {
                    let req = inner
                        .http
                        .get(url.clone())
                        .header(
                            reqwest::header::AUTHORIZATION,
                            format!("Bearer {}", tok.expose()),
                        )
                        .header(reqwest::header::ACCEPT, "application/json");
                    let raw =
                        transport::send(op, &inner.opts, &url, req, inner.opts.max_response_bytes)
                            .await?;
                    inner.note_usage(raw.limit_info);
                    inner.classify_rest(op, &url, raw)
                }
            })
            .await?;
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
        *lock(&inner.usage) = Some(usage);
        Ok(usage)
    }
}

impl std::fmt::Debug for OrgClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgClient")
            .field("key", &self.inner.key)
            .field("instance_url", &self.inner.conn.instance_url.as_str())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn recv<T>(rx: oneshot::Receiver<Result<T, SalesforceError>>) -> Result<T, SalesforceError> {
    rx.await.unwrap_or_else(|_| {
        Err(SalesforceError::Network {
            operation: "batch",
            host: String::new(),
            reason: "the batched call was abandoned (client shutting down)".into(),
        })
    })
}

fn response_node<'a, 'i>(
    op: &'static str,
    doc: &'a roxmltree::Document<'i>,
) -> Result<roxmltree::Node<'a, 'i>, SalesforceError> {
    // Faults were handled in soap_call; one here means the body changed between parses, which
    // cannot happen, so report it as a protocol error rather than panic.
    soap::response(op, doc)?
        .map_err(|f| SalesforceError::protocol(op, format!("unexpected fault {}", f.code)))
}

/// Delete of a missing component: Salesforce answers with a per-component error.
fn is_not_found(errors: &[ComponentError]) -> bool {
    errors.iter().any(|e| {
        let m = e.message.to_ascii_lowercase();
        matches!(
            e.status_code.as_str(),
            "INVALID_CROSS_REFERENCE_KEY" | "NOT_FOUND" | "ITEM_NOT_FOUND" | "RECORD_NOT_FOUND"
        ) || m.contains("not found")
            || m.contains("does not exist")
    })
}

/// The Spring '26 restriction. Salesforce has published no status code for it, so look at the
/// message: it speaks of creating connected apps being blocked/not allowed/restricted.
fn is_creation_blocked(errors: &[ComponentError]) -> bool {
    errors.iter().any(|e| {
        let m = e.message.to_ascii_lowercase();
        (m.contains("connected app") || m.contains("connectedapp"))
            && m.contains("creat")
            && [
                "not allowed",
                "blocked",
                "restricted",
                "no longer",
                "disabled",
                "cannot",
                "can't",
                "can not",
                "not permitted",
            ]
            .iter()
            .any(|w| m.contains(w))
    })
}

fn http_error(op: &'static str, url: &Url, status: u16, body: &str) -> SalesforceError {
    if (300..400).contains(&status) {
        return SalesforceError::protocol(
            op,
            format!("HTTP {status} redirect refused (redirects are not followed)"),
        );
    }
    SalesforceError::Http {
        operation: op,
        host: transport::host_of(url),
        status,
        snippet: transport::snippet(body),
    }
}

impl Inner {
    fn check_paused(&self, op: &'static str) -> Result<(), SalesforceError> {
        let mut p = lock(&self.paused_until);
        if let Some((until, msg)) = p.as_ref() {
            let now = Instant::now();
            if now < *until {
                return Err(SalesforceError::QuotaExhausted {
                    operation: op,
                    message: msg.clone(),
                    retry_after: Some(*until - now),
                });
            }
            *p = None;
        }
        Ok(())
    }

    fn check_reserve(&self, op: &'static str) -> Result<(), SalesforceError> {
        let reserve = u64::from(self.conn.reserve_percent);
        if let Some(u) = *lock(&self.usage)
            && u.limit > 0
            && u.remaining() * 100 < reserve * u.limit
        {
            return Err(SalesforceError::BudgetReserve {
                operation: op,
                remaining: u.remaining(),
                limit: u.limit,
                reserve_percent: self.conn.reserve_percent,
            });
        }
        Ok(())
    }

    fn pause_for_quota(&self, message: &str) {
        warn!(org = %self.key, backoff_secs = self.opts.quota_backoff.as_secs(), "daily API allocation exhausted; pausing calls to this org");
        *lock(&self.paused_until) = Some((
            Instant::now() + self.opts.quota_backoff,
            message.to_string(),
        ));
    }

    fn note_usage(&self, info: Option<(u64, u64)>) {
        if let Some((used, limit)) = info {
            *lock(&self.usage) = Some(ApiUsage {
                used,
                limit,
                observed_at: jiff::Timestamp::now(),
            });
        }
    }

    async fn permit(&self) -> Result<CallPermit, SalesforceError> {
        let closed = |_| SalesforceError::Config {
            reason: "org client closed".into(),
        };
        let main = self.permits.clone().acquire_owned().await.map_err(closed)?;
        let serial = if self.serialized() {
            Some(self.serial.clone().acquire_owned().await.map_err(closed)?)
        } else {
            None
        };
        Ok(CallPermit {
            _main: main,
            _serial: serial,
        })
    }

    fn serialized(&self) -> bool {
        lock(&self.serial_until).is_some_and(|until| Instant::now() < until)
    }

    /// Salesforce refused a call for too many concurrent requests: the next calls to this org go
    /// one at a time for [`SERIAL_AFTER_CONCURRENT_LIMIT`] (restarted by each further refusal).
    fn note_concurrent_limit(&self) {
        let mut until = lock(&self.serial_until);
        if !until.is_some_and(|u| Instant::now() < u) {
            warn!(org = %self.key, secs = SERIAL_AFTER_CONCURRENT_LIMIT.as_secs(), "Salesforce concurrent-request limit reached; calls to this org go one at a time for a while");
        }
        *until = Some(Instant::now() + SERIAL_AFTER_CONCURRENT_LIMIT);
    }

    fn signing_key(&self) -> Result<Option<&RsaSigningKey>, SalesforceError> {
        match &self.conn.credentials {
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
    async fn token(&self) -> Result<(SecretString, u64, Identity), SalesforceError> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && t.minted.elapsed() < self.opts.token_max_age
        {
            return Ok((t.access.clone(), t.generation, t.identity.clone()));
        }
        let key = self.signing_key()?;
        let started = Instant::now();
        let res = auth::mint(&self.http, &self.opts, &self.conn, key)
            .instrument(info_span!("salesforce_token", org = %self.key, flow = self.conn.credentials.flow()))
            .await;
        self.observe("token", &res, started, None, 0);
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
    async fn authed<T, F, Fut>(
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
                    debug!(org = %self.key, operation = op, "session invalid; minting a new token and retrying once");
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
        self.observe(op, &res, started, metadata_type, count);
        res
    }

    fn observe<T>(
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

    fn soap_url(&self) -> Result<Url, SalesforceError> {
        let v = &self.conn.api_version;
        if !v.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
        }) {
            return Err(SalesforceError::Config {
                reason: format!("API version '{v}' is not of the form NN.N"),
            });
        }
        self.conn
            .instance_url
            .join(&format!("/services/Soap/m/{v}"))
            .map_err(|e| SalesforceError::Config {
                reason: format!("cannot build the SOAP URL: {e}"),
            })
    }

    /// One Metadata API call (caller holds a permit). Returns the response text once it is known
    /// to be a well-formed SOAP response without a fault.
    async fn soap_call(
        &self,
        op: &'static str,
        metadata_type: &'static str,
        count: usize,
        body: &str,
    ) -> Result<String, SalesforceError> {
        let url = self.soap_url()?;
        self.authed(op, Some(metadata_type), count, |tok| {
            let url = url.clone();
            let envelope = soap::envelope(&tok, body);
            async move {
                let req = self
                    .http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
                    .header("SOAPAction", format!("\"{op}\""))
                    .body(envelope);
                let raw = transport::send(op, &self.opts, &url, req, self.opts.max_response_bytes)
                    .await?;
                self.note_usage(raw.limit_info);
                self.classify_soap(op, &url, raw)
            }
        })
        .await
    }

    fn classify_soap(
        &self,
        op: &'static str,
        url: &Url,
        raw: Raw,
    ) -> Result<Attempt<String>, SalesforceError> {
        if raw.status != 200 && raw.status != 500 {
            return Err(http_error(op, url, raw.status, &raw.body));
        }
        let parsed = xml::parse(op, &raw.body).and_then(|doc| {
            let lim = soap::limit_info(&doc);
            soap::response(op, &doc).map(|r| (r.err(), lim))
        });
        let (fault, lim) = match parsed {
            Ok(v) => v,
            // A 500 whose body is not a SOAP fault is a server problem, not a hostile answer.
            Err(_) if raw.status == 500 => return Err(http_error(op, url, raw.status, &raw.body)),
            Err(e) => return Err(e),
        };
        self.note_usage(lim);
        match fault {
            None if raw.status == 200 => Ok(Attempt::Done(raw.body)),
            None => Err(http_error(op, url, raw.status, &raw.body)),
            Some(f) => self.classify_fault(op, f),
        }
    }

    fn classify_fault<T>(&self, op: &'static str, f: Fault) -> Result<Attempt<T>, SalesforceError> {
        match f.code.as_str() {
            "INVALID_SESSION_ID" => Ok(Attempt::InvalidSession(f.message)),
            "REQUEST_LIMIT_EXCEEDED" => Err(self.limit_exceeded(op, f.message)),
            code => {
                let kind = match code {
                    "Client"
                    | "INVALID_TYPE"
                    | "INVALID_CROSS_REFERENCE_KEY"
                    | "FIELD_INTEGRITY_EXCEPTION" => ErrorKind::Rejected,
                    "INSUFFICIENT_ACCESS"
                    | "API_DISABLED_FOR_ORG"
                    | "API_CURRENTLY_DISABLED"
                    | "INVALID_OPERATION_WITH_EXPIRED_PASSWORD" => ErrorKind::Auth,
                    "UNKNOWN_EXCEPTION" | "Server" | "SERVER_UNAVAILABLE" => ErrorKind::Transient,
                    // Unknown codes: refuse to guess that a retry helps.
                    _ => ErrorKind::Rejected,
                };
                Err(SalesforceError::Fault {
                    operation: op,
                    code: f.code,
                    message: f.message,
                    kind,
                })
            }
        }
    }

    /// `REQUEST_LIMIT_EXCEEDED` covers both the daily total and the concurrency cap; only the
    /// message tells them apart.
    fn limit_exceeded(&self, op: &'static str, message: String) -> SalesforceError {
        if message.contains("TotalRequests") {
            self.pause_for_quota(&message);
            SalesforceError::QuotaExhausted {
                operation: op,
                message,
                retry_after: Some(self.opts.quota_backoff),
            }
        } else {
            self.note_concurrent_limit();
            SalesforceError::ConcurrentLimit {
                operation: op,
                message,
            }
        }
    }

    fn classify_rest(
        &self,
        op: &'static str,
        url: &Url,
        raw: Raw,
    ) -> Result<Attempt<String>, SalesforceError> {
        if raw.status == 200 {
            if raw.body.trim_start().starts_with('<') {
                return Err(SalesforceError::protocol(
                    op,
                    "got HTML/XML where JSON was expected",
                ));
            }
            return Ok(Attempt::Done(raw.body));
        }
        // REST errors: `[{"message": .., "errorCode": ..}]`.
        #[derive(serde::Deserialize)]
        struct RestError {
            #[serde(default)]
            message: String,
            #[serde(rename = "errorCode", default)]
            error_code: String,
        }
        let errs: Option<Vec<RestError>> = serde_json::from_str(&raw.body).ok();
        let first = errs.and_then(|mut v| {
            if v.is_empty() {
                None
            } else {
                Some(v.remove(0))
            }
        });
        match first {
            Some(e) if e.error_code == "INVALID_SESSION_ID" => {
                Ok(Attempt::InvalidSession(e.message))
            }
            Some(e) if e.error_code == "REQUEST_LIMIT_EXCEEDED" => {
                Err(self.limit_exceeded(op, e.message))
            }
            Some(e) => Err(SalesforceError::Fault {
                operation: op,
                kind: if raw.status >= 500 {
                    ErrorKind::Transient
                } else if raw.status == 401 || raw.status == 403 {
                    ErrorKind::Auth
                } else {
                    ErrorKind::Rejected
                },
                code: e.error_code,
                message: e.message,
            }),
            None if raw.status == 401 => Ok(Attempt::InvalidSession(format!(
                "HTTP 401 from {}",
                transport::host_of(url)
            ))),
            None => Err(http_error(op, url, raw.status, &raw.body)),
        }
    }

    // === coalescing ===

    /// Waits for company before a read while fewer than 10 are queued: the short window when
    /// the org is quiet, up to the busy window (ending early at 10) when reads keep arriving.
    async fn gather<Req, Resp>(&self, queue: &Batcher<Req, Resp>) {
        if queue.len() >= MAX_COMPONENTS {
            return;
        }
        tokio::time::sleep(self.opts.coalesce_window).await;
        if !queue.busy() {
            return;
        }
        let deadline = Instant::now() + self.opts.coalesce_window_busy;
        while queue.len() < MAX_COMPONENTS && Instant::now() < deadline {
            tokio::time::sleep(BUSY_POLL.min(deadline - Instant::now())).await;
        }
    }

    async fn dispatch_reads(self: Arc<Self>) {
        loop {
            let permit = match self.permit().await {
                Ok(p) => p,
                Err(_) => return,
            };
            self.gather(&self.reads).await;
            let batch = self.reads.take(MAX_COMPONENTS);
            if batch.is_empty() {
                return;
            }
            let me = self.clone();
            tokio::spawn(async move { me.run_read_batch(batch, permit).await });
        }
    }

    fn saves(&self, mode: SaveMode) -> &Batcher<ConnectedApp, UpsertOutcome> {
        match mode {
            SaveMode::Upsert => &self.upserts,
            SaveMode::Create => &self.creates,
        }
    }

    async fn dispatch_saves(self: Arc<Self>, mode: SaveMode) {
        let queue = self.saves(mode);
        loop {
            let permit = match self.permit().await {
                Ok(p) => p,
                Err(_) => return,
            };
            match mode {
                // Creates arrive as resources do, like reads.
                SaveMode::Create => self.gather(queue).await,
                // Updates come in clumps already (the reconciles of one read batch), so they
                // wait only the short window.
                SaveMode::Upsert => {
                    if queue.len() < MAX_COMPONENTS {
                        tokio::time::sleep(self.opts.coalesce_window).await;
                    }
                }
            }
            let batch = queue.take(MAX_COMPONENTS);
            if batch.is_empty() {
                return;
            }
            let me = self.clone();
            tokio::spawn(async move { me.run_save_batch(mode, batch, permit).await });
        }
    }

    async fn run_read_batch(
        self: Arc<Self>,
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
        let count = names.len();
        let result: Result<
            HashMap<String, Result<ConnectedApp, SalesforceError>>,
            SalesforceError,
        > = async {
            let text = self.soap_call(op, CONNECTED_APP, count, &body).await?;
            let doc = xml::parse(op, &text)?;
            let resp = response_node(op, &doc)?;
            let mut found = HashMap::new();
            for rec in soap::read_records(resp, CONNECTED_APP) {
                let name = xml::child_text(rec, "fullName").unwrap_or_default();
                let parsed = ConnectedApp::parse(rec).map_err(|e| {
                    SalesforceError::protocol(op, format!("ConnectedApp '{name}': {e}"))
                });
                found.insert(name, parsed);
            }
            Ok(found)
        }
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

    async fn run_save_batch(
        self: Arc<Self>,
        mode: SaveMode,
        batch: Vec<Pending<ConnectedApp, UpsertOutcome>>,
        _permit: CallPermit,
    ) {
        let op = mode.operation();
        let rendered: Vec<String> = batch.iter().map(|p| p.req.render_metadata()).collect();
        let body = soap::save_body(op, &rendered);
        let result = async {
            let text = self
                .soap_call(op, CONNECTED_APP, batch.len(), &body)
                .await?;
            let doc = xml::parse(op, &text)?;
            let resp = response_node(op, &doc)?;
            soap::component_results(op, resp)
        }
        .await;
        let names: Vec<&str> = batch.iter().map(|p| p.name.as_str()).collect();
        let outcomes: Vec<Result<UpsertOutcome, SalesforceError>> = match &result {
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
            Ok(results) => soap::match_results(&names, results)
                .into_iter()
                .zip(&batch)
                .map(|(r, p)| match r {
                    None => Err(SalesforceError::protocol(
                        op,
                        format!("no result for ConnectedApp '{}'", p.name),
                    )),
                    Some(r) if r.success => Ok(UpsertOutcome {
                        created: r.created.unwrap_or(mode == SaveMode::Create),
                    }),
                    Some(r) if is_creation_blocked(&r.errors) => {
                        let first = r.errors.first();
                        Err(SalesforceError::CreationBlocked {
                            full_name: p.name.clone(),
                            status_code: first.map(|e| e.status_code.clone()).unwrap_or_default(),
                            message: first.map(|e| e.message.clone()).unwrap_or_default(),
                        })
                    }
                    Some(r) => Err(SalesforceError::Component {
                        operation: op,
                        metadata_type: CONNECTED_APP,
                        full_name: p.name.clone(),
                        errors: r.errors.clone(),
                    }),
                })
                .collect(),
        };
        for (p, r) in batch.into_iter().zip(outcomes) {
            if let Err(e) = &r
                && matches!(
                    e,
                    SalesforceError::Component { .. } | SalesforceError::CreationBlocked { .. }
                )
            {
                debug!(org = %self.key, operation = op, full_name = %p.name, error = %e, "component failed");
            }
            let _ = p.tx.send(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, msg: &str) -> ComponentError {
        ComponentError {
            status_code: code.into(),
            message: msg.into(),
            fields: vec![],
        }
    }

    #[test]
    fn recognises_creation_blocked_messages() {
        assert!(is_creation_blocked(&[err(
            "FIELD_INTEGRITY_EXCEPTION",
            "Connected app creation is not allowed in this org. Contact Salesforce Support."
        )]));
        assert!(is_creation_blocked(&[err(
            "UNKNOWN",
            "You can no longer create connected apps"
        )]));
        assert!(!is_creation_blocked(&[err(
            "FIELD_INTEGRITY_EXCEPTION",
            "no Profile named X found"
        )]));
    }

    #[test]
    fn recognises_not_found_on_delete() {
        assert!(is_not_found(&[err(
            "INVALID_CROSS_REFERENCE_KEY",
            "In field: fullName - no ConnectedApp named X found"
        )]));
        assert!(!is_not_found(&[err(
            "INSUFFICIENT_ACCESS",
            "insufficient access rights"
        )]));
    }
}
