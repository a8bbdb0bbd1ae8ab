//! `SsoConnectedApp` reconcile: a pipeline of small stages (org → identity provider → app → access
//! → metadata → status), each comparing before it writes, wrapped in the kube finalizer helper.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use tracing::{debug, info, instrument, warn};

use super::backoff::{jittered, until_refresh_tick};
use super::idp::{Ensured, IdpSnapshot};
use super::{Context, FINALIZER, MANAGER, RELEASE_ANNOTATION, desired, org_key, status};
use crate::api::SsoConnectedApp;
use crate::api::app::{
    AdoptionPolicy, AppStatus, AppType, CertificateStatus, DeletionPolicy, DriftEntry,
    IdentityProviderStatus, ManagementPolicy, MetadataStatus, SsoConnectedAppStatus, SsoUrls,
};
use crate::api::conditions::{self, Desired, reasons, types};
use crate::error::Error;
use crate::metadata_configmap;
use crate::ownership::{self, Owner};
use crate::salesforce::{
    ConnectedApp, ErrorKind, ExternalClientAppBundle, OrgClient, ReadPriority, SalesforceError,
};

/// A certificate this close to expiry makes `CertificateValid=False` (reason `ExpiringSoon`).
const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

fn eca_version_ok(v: &str) -> bool {
    let min: f64 = crate::salesforce::ECA_MIN_API_VERSION
        .parse()
        .unwrap_or(63.0);
    v.parse::<f64>().is_ok_and(|v| v >= min)
}

/// What the last reconcile that talked to Salesforce left behind: until `quiet_until`, reconciles
/// of the same generation (triggered by the operator's own status or ConfigMap writes, or by org
/// status updates) make no Salesforce call; they only re-assert the ConfigMap.
pub struct Memo {
    generation: Option<i64>,
    /// The org's uid, generation and the last flip of its Ready condition: a changed or newly
    /// healthy org ends the quiet period.
    org: (String, Option<i64>, Option<String>),
    quiet_until: Instant,
    /// The last published ConfigMap as the watch cache keeps it (digests, no data), to tell
    /// whether the cluster still holds what was published without a second copy of the document.
    config_map: Option<Arc<ConfigMap>>,
    /// When this operator last wrote that ConfigMap: until the cache has seen the write, a
    /// mismatch is the cache lagging, not someone editing it.
    written_at: Option<Instant>,
    /// The `sso-operator.dev/sync-requested` annotation value this memo was made under; a new
    /// value asks for a full check now.
    sync_token: Option<String>,
    /// The last attempt waits for a person (blocked creation, conflict, refused content): an org
    /// turning healthy does not change that, so only a changed org spec ends the quiet period.
    stalled: bool,
}

fn sync_token(app: &SsoConnectedApp) -> Option<String> {
    app.annotations().get(super::SYNC_ANNOTATION).cloned()
}

fn key_of(app: &SsoConnectedApp) -> String {
    format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any())
}

/// How long after its own ConfigMap write the operator blames a mismatch on the watch cache.
const CACHE_LAG: Duration = Duration::from_secs(10);

fn refresh_interval(app: &SsoConnectedApp) -> Duration {
    humantime::parse_duration(&app.spec.publish.refresh_interval)
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_secs(60))
}

#[instrument(skip_all, fields(namespace = %app.namespace().unwrap_or_default(), name = %app.name_any()))]
pub async fn reconcile(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let labels = crate::metrics::ControllerLabels {
        controller: "ssoconnectedapp",
    };
    ctx.metrics.reconciles.get_or_create(&labels).inc();
    let ns = app.namespace().unwrap_or_default();
    let api: Api<SsoConnectedApp> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer::finalizer(&api, FINALIZER, app, |event| async {
        match event {
            Finalizer::Apply(app) => apply(app, ctx.clone()).await,
            Finalizer::Cleanup(app) => cleanup(app, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    });
    ctx.metrics
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    result
}

pub fn error_policy(app: Arc<SsoConnectedApp>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics
        .reconcile_errors
        .get_or_create(&crate::metrics::ErrorLabels {
            controller: "ssoconnectedapp",
            category: err.category(),
        })
        .inc();
    let key = key_of(&app);
    // The reconcile that failed on a Salesforce call already chose the delay (and told the memo).
    // Not so for a failed cleanup: the memo is the last apply's (quiet until the next refresh),
    // and a deletion waiting on Salesforce must be retried with backoff, not an hour later.
    let planned = ctx
        .memos
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .filter(|_| app.metadata.deletion_timestamp.is_none())
        .map(|m| m.quiet_until.saturating_duration_since(Instant::now()))
        .filter(|d| !d.is_zero());
    let delay = planned.unwrap_or_else(|| ctx.backoff.failed(&key));
    warn!(error = %err, category = err.category(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Conditions, status fields and events gathered by the stages.
#[derive(Default)]
struct Run {
    conditions: Vec<Desired>,
    app: Option<AppStatus>,
    identity_provider: Option<IdentityProviderStatus>,
    metadata: Option<MetadataStatus>,
    drift: Vec<DriftEntry>,
    events: Vec<(bool, &'static str, &'static str, String)>,
    /// What was published, as the watch cache keeps it (see [`ensure_config_map`]).
    config_map: Option<Arc<ConfigMap>>,
    /// Whether this run wrote `config_map` (it was missing or different).
    config_map_written: bool,
    /// A transient failure: retried with exponential backoff.
    transient: Option<Error>,
    /// A problem that needs a person (content refused, conflict, blocked creation): slow retry.
    stalled: bool,
}

impl Run {
    fn cond(&mut self, t: &'static str, ok: bool, reason: &'static str, msg: impl Into<String>) {
        self.conditions.push(Desired::new(t, ok, reason, msg));
    }
    fn event(
        &mut self,
        warning: bool,
        reason: &'static str,
        action: &'static str,
        note: impl Into<String>,
    ) {
        self.events.push((warning, reason, action, note.into()));
    }
    fn ok(&self, t: &str) -> Option<bool> {
        self.conditions
            .iter()
            .rev()
            .find(|c| c.type_ == t)
            .map(|c| c.status)
    }
    /// Records a failed Salesforce call against `stage`; the pipeline stops after it.
    fn failed(&mut self, stage: &'static str, err: Error) {
        let (reason, transient) = match err.salesforce().map(SalesforceError::kind) {
            Some(ErrorKind::Quota) => (reasons::API_LIMIT_EXCEEDED, false),
            Some(ErrorKind::Auth) | Some(ErrorKind::Invalid) => (reasons::ORG_NOT_READY, false),
            Some(ErrorKind::Rejected) => (reasons::REJECTED, false),
            Some(ErrorKind::CreationBlocked) => (reasons::CONNECTED_APP_CREATION_BLOCKED, false),
            Some(ErrorKind::Protocol) if stage == types::METADATA_PUBLISHED => {
                (reasons::METADATA_INVALID, true)
            }
            Some(ErrorKind::NotFound) => (reasons::NOT_FOUND, true),
            _ => (reasons::SALESFORCE_UNAVAILABLE, true),
        };
        self.cond(stage, false, reason, err.to_string());
        if transient || reason == reasons::API_LIMIT_EXCEEDED {
            self.transient = Some(err);
        } else {
            self.stalled = true;
        }
    }
}

/// The resource's org, reduced to what identifies the real org (its My Domain), so two
/// `SalesforceOrg`s pointing at one org still see each other's apps.
fn org_identity(ctx: &Context, app: &SsoConnectedApp) -> String {
    match ctx.org_of(app) {
        Some(org) => org
            .spec
            .instance_url
            .trim_end_matches('/')
            .to_ascii_lowercase(),
        None => format!(
            "{}/{}",
            app.namespace().unwrap_or_default(),
            app.spec.org_ref.name
        ),
    }
}

/// Another live resource that claims the same app and was there first.
fn earlier_claimant(ctx: &Context, app: &SsoConnectedApp) -> Option<String> {
    let me = org_identity(ctx, app);
    // The resource already holding the app wins; then the older one (timestamps have whole
    // seconds, so the name breaks ties).
    let rank = |a: &SsoConnectedApp| {
        let holds = a.status.as_ref().is_some_and(|s| {
            conditions::find(&s.conditions, types::APP_READY).is_some_and(|c| c.status == "True")
        });
        (!holds, a.creation_timestamp().map(|t| t.0), key_of(a))
    };
    ctx.apps
        .state()
        .into_iter()
        .filter(|o| o.uid() != app.uid() && o.metadata.deletion_timestamp.is_none())
        .filter(|o| {
            o.spec.app.api_name == app.spec.app.api_name && o.spec.app.type_ == app.spec.app.type_
        })
        .filter(|o| org_identity(ctx, o) == me)
        .filter(|o| rank(o) < rank(app))
        .map(|o| key_of(&o))
        .min()
}

/// Resources of the same org asking for a different IdP certificate.
fn idp_disagreement(ctx: &Context, app: &SsoConnectedApp) -> Vec<String> {
    let me = org_identity(ctx, app);
    let mut v: Vec<String> = ctx
        .apps
        .state()
        .into_iter()
        .filter(|o| {
            o.uid() != app.uid() && o.metadata.deletion_timestamp.is_none() && !o.spec.suspend
        })
        .filter(|o| o.spec.policy.management == ManagementPolicy::Full)
        .filter(|o| o.spec.identity_provider.certificate != app.spec.identity_provider.certificate)
        .filter(|o| org_identity(ctx, o) == me)
        .map(|o| {
            format!(
                "{} wants {}",
                key_of(&o),
                o.spec.identity_provider.certificate
            )
        })
        .collect();
    v.sort();
    v
}

async fn apply(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&app);
    let refresh = refresh_interval(&app);
    let mut run = Run::default();

    if app.spec.suspend {
        run.cond(
            types::READY,
            false,
            reasons::SUSPENDED,
            "spec.suspend is true: no Salesforce calls are made",
        );
        finish(&app, &ctx, run).await?;
        return Ok(Action::await_change());
    }
    // Until the org watch has listed, "no such org" would be a guess: wait instead of saying so.
    if futures::FutureExt::now_or_never(ctx.orgs.wait_until_ready()).is_none() {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    let Some(org) = ctx.org_of(&app) else {
        let msg = format!(
            "SalesforceOrg {} does not exist in this namespace",
            app.spec.org_ref.name
        );
        run.cond(types::READY, false, reasons::ORG_NOT_FOUND, msg);
        finish(&app, &ctx, run).await?;
        // The org watch re-triggers this resource when the org appears.
        return Ok(Action::await_change());
    };
    if app.spec.app.type_ == AppType::ExternalClientApp && !eca_version_ok(&org.spec.api_version) {
        let msg = format!(
            "External Client Apps with SAML need API version {} or later; SalesforceOrg {} uses {}: raise its spec.apiVersion or use app.type ConnectedApp",
            crate::salesforce::ECA_MIN_API_VERSION,
            org.name_any(),
            org.spec.api_version
        );
        run.cond(types::APP_READY, false, reasons::UNSUPPORTED, msg);
        run.stalled = true;
        finish(&app, &ctx, run).await?;
        return Ok(Action::await_change());
    }
    let client = match ctx.org_client(&org).await {
        Ok(c) => c,
        Err(p) => {
            let msg = format!(
                "SalesforceOrg {}: {}: {}",
                org.name_any(),
                p.reason,
                p.message
            );
            run.cond(types::READY, false, reasons::ORG_NOT_READY, msg);
            finish(&app, &ctx, run).await?;
            return Ok(Action::requeue(
                ctx.backoff.failed(&key).min(Duration::from_secs(10)),
            ));
        }
    };
    let org_version = (
        org.uid().unwrap_or_default(),
        org.metadata.generation,
        org.status
            .as_ref()
            .and_then(|s| conditions::find(&s.conditions, types::READY))
            .map(|c| format!("{}@{}", c.status, c.last_transition_time.0)),
    );

    if let Some(action) = memo_hit(&app, &ctx, &key, &org_version) {
        return Ok(action);
    }

    if let Some(first) = earlier_claimant(&ctx, &app) {
        let msg = format!(
            "{first} already manages app {} in this org",
            app.spec.app.api_name
        );
        run.cond(types::APP_READY, false, reasons::CONFLICT, msg);
        run.stalled = true;
        finish(&app, &ctx, run).await?;
        return Ok(Action::requeue(jittered(Duration::from_secs(60))));
    }
    let disagree = idp_disagreement(&ctx, &app);
    if !disagree.is_empty() {
        let msg = format!(
            "this resource wants IdP certificate {} but {}; the org has one Identity Provider certificate, so nothing is changed until they agree",
            app.spec.identity_provider.certificate,
            disagree.join(", ")
        );
        run.cond(
            types::IDENTITY_PROVIDER_READY,
            false,
            reasons::CONFLICT,
            msg,
        );
        run.stalled = true;
        finish(&app, &ctx, run).await?;
        return Ok(Action::requeue(jittered(Duration::from_secs(60))));
    }

    let okey = org_key(&org);
    pipeline(&app, &ctx, &client, &okey, refresh, &mut run).await;

    // Decide the next attempt before writing, so the memo guards Salesforce from re-triggers.
    let transient = run.transient.take();
    let (delay, outcome) = if let Some(e) = transient {
        let d = e
            .salesforce()
            .and_then(SalesforceError::retry_after)
            .unwrap_or_else(|| ctx.backoff.failed(&key));
        (d, Err(e))
    } else if run.stalled {
        ctx.backoff.reset(&key);
        (ctx.slow_backoff.failed(&key), Ok(()))
    } else {
        ctx.backoff.reset(&key);
        ctx.slow_backoff.reset(&key);
        (
            until_refresh_tick(refresh, &okey, std::time::SystemTime::now()),
            Ok(()),
        )
    };
    let stalled = run.stalled;
    let (config_map, written_at) = match &run.config_map {
        Some(cm) => (Some(cm.clone()), run.config_map_written.then(Instant::now)),
        None => last_published(&ctx, &key),
    };
    ctx.memos.lock().unwrap_or_else(|e| e.into_inner()).insert(
        key.clone(),
        Memo {
            generation: app.metadata.generation,
            org: org_version,
            quiet_until: Instant::now() + delay,
            config_map,
            written_at,
            sync_token: sync_token(&app),
            stalled,
        },
    );
    if let Err(e) = finish(&app, &ctx, run).await {
        // The status write failed (e.g. the API server is down): without the memo the retry
        // re-checks Salesforce (reads; no write when in sync) and writes the status, instead of
        // sitting out the quiet period with a stale status.
        ctx.memos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        return Err(e);
    }
    outcome.map(|()| Action::requeue(delay))
}

/// The memo's record of the last published ConfigMap, kept when a run publishes nothing.
fn last_published(ctx: &Context, key: &str) -> (Option<Arc<ConfigMap>>, Option<Instant>) {
    ctx.memos
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .map(|m| (m.config_map.clone(), m.written_at))
        .unwrap_or_default()
}

/// The published `metadata.xml` whose SHA-256 is `sha`, read from the API server (the watch
/// cache keeps only digests); `None` if it no longer holds those bytes.
async fn published_metadata(
    ctx: &Context,
    app: &SsoConnectedApp,
    cm_name: &str,
    sha: &str,
) -> Option<String> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &app.namespace()?);
    api.get_opt(cm_name)
        .await
        .ok()
        .flatten()?
        .data?
        .remove("metadata.xml")
        .filter(|x| metadata_configmap::sha256_hex(x.as_bytes()) == sha)
}

/// Within the quiet period of the same generation: wait, without calling Salesforce, as long as
/// the cluster still holds the published ConfigMap (someone may have edited or deleted it: then
/// a full check republishes it).
fn memo_hit(
    app: &SsoConnectedApp,
    ctx: &Context,
    key: &str,
    org_version: &(String, Option<i64>, Option<String>),
) -> Option<Action> {
    let (remaining, cm, written_at) = {
        let memos = ctx.memos.lock().unwrap_or_else(|e| e.into_inner());
        let m = memos.get(key)?;
        let remaining = m.quiet_until.saturating_duration_since(Instant::now());
        if m.generation != app.metadata.generation
            || m.org.0 != org_version.0
            || m.org.1 != org_version.1
            || (!m.stalled && m.org.2 != org_version.2)
            || m.sync_token != sync_token(app)
            || remaining.is_zero()
        {
            return None;
        }
        (remaining, m.config_map.clone(), m.written_at)
    };
    if let Some(published) = cm {
        let cached = ctx.config_maps.get(
            &ObjectRef::new(&published.name_any())
                .within(&published.namespace().unwrap_or_default()),
        );
        if !cached.is_some_and(|c| metadata_configmap::matches_published(&c, &published)) {
            if written_at.is_some_and(|t| t.elapsed() < CACHE_LAG) {
                return Some(Action::requeue(Duration::from_secs(1)));
            }
            info!(configmap = %published.name_any(), "the published ConfigMap was changed or deleted; republishing");
            return None;
        }
    }
    Some(Action::requeue(remaining))
}

/// Applies the ConfigMap unless the watch cache shows it already up to date. Returns the
/// published ConfigMap as the cache keeps it (slimmed; when nothing was written, the cache's own
/// copy, shared rather than copied: a memo per app adds up) and whether it was written.
async fn ensure_config_map(ctx: &Context, cm: &ConfigMap) -> Result<(Arc<ConfigMap>, bool), Error> {
    let ns = cm.namespace().unwrap_or_default();
    let name = cm.name_any();
    if let Some(existing) = ctx.config_maps.get(&ObjectRef::new(&name).within(&ns))
        && metadata_configmap::up_to_date(&existing, cm)
    {
        return Ok((existing, false));
    }
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(cm),
    )
    .await
    .map_err(|source| Error::ApplyConfigMap {
        namespace: ns,
        name,
        source,
    })?;
    ctx.metrics.count_write("configmap");
    Ok((Arc::new(metadata_configmap::slimmed(cm)), true))
}

/// Deletes ConfigMaps this resource published under an earlier `publish.configMapName`.
async fn remove_stale_config_maps(
    ctx: &Context,
    app: &SsoConnectedApp,
    current: &str,
) -> Result<(), kube::Error> {
    let ns = app.namespace().unwrap_or_default();
    let uid = app.uid().unwrap_or_default();
    let stale: Vec<String> = ctx
        .config_maps
        .state()
        .into_iter()
        .filter(|c| c.namespace().as_deref() == Some(ns.as_str()) && c.name_any() != current)
        .filter(|c| {
            c.owner_references()
                .iter()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .map(|c| c.name_any())
        .collect();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    for name in stale {
        api.delete(&name, &Default::default()).await?;
        ctx.metrics.count_write("configmap");
        info!(configmap = %name, "removed ConfigMap published under a previous name");
    }
    Ok(())
}

/// The app as found in the org, of either kind.
// One short-lived value per reconcile: the size difference between the kinds does not matter.
#[allow(clippy::large_enum_variant)]
enum FoundApp {
    Connected(Option<ConnectedApp>),
    External(Option<Box<ExternalClientAppBundle>>),
}

/// The app as the spec wants it, of either kind.
#[allow(clippy::large_enum_variant)]
enum WantedApp {
    Connected(ConnectedApp),
    External(Box<ExternalClientAppBundle>),
}

fn app_kind(t: AppType) -> &'static str {
    match t {
        AppType::ConnectedApp => "connected app",
        AppType::ExternalClientApp => "External Client App",
    }
}

impl FoundApp {
    fn exists(&self) -> bool {
        match self {
            FoundApp::Connected(a) => a.is_some(),
            FoundApp::External(b) => b.is_some(),
        }
    }

    fn description(&self) -> Option<&str> {
        match self {
            FoundApp::Connected(a) => a.as_ref().and_then(|a| a.description.as_deref()),
            FoundApp::External(b) => b.as_ref().and_then(|b| b.app.description.as_deref()),
        }
    }

    fn desired(&self, spec: &crate::api::SsoConnectedAppSpec, marker: &str) -> WantedApp {
        match self {
            FoundApp::Connected(a) => {
                WantedApp::Connected(desired::connected_app(spec, marker, a.as_ref()))
            }
            FoundApp::External(b) => WantedApp::External(Box::new(desired::external_client_app(
                spec,
                marker,
                b.as_deref(),
            ))),
        }
    }

    fn differences(&self, want: &WantedApp) -> Vec<String> {
        match (self, want) {
            (FoundApp::Connected(Some(a)), WantedApp::Connected(w)) => desired::differences(w, a),
            (FoundApp::External(Some(b)), WantedApp::External(w)) => desired::eca_differences(w, b),
            _ => vec!["app".to_string()],
        }
    }
}

async fn read_app(
    client: &OrgClient,
    spec: &crate::api::SsoConnectedAppSpec,
    priority: ReadPriority,
) -> Result<FoundApp, SalesforceError> {
    let name = &spec.app.api_name;
    Ok(match spec.app.type_ {
        AppType::ConnectedApp => {
            FoundApp::Connected(client.read_connected_app_with(name, priority).await?)
        }
        AppType::ExternalClientApp => FoundApp::External(
            client
                .read_external_client_app(name, priority)
                .await?
                .map(Box::new),
        ),
    })
}

async fn write_app(client: &OrgClient, want: &WantedApp) -> Result<(), SalesforceError> {
    match want {
        WantedApp::Connected(a) => client.upsert_connected_app(a).await.map(|_| ()),
        WantedApp::External(b) => client.deploy_external_client_app(b).await.map(|_| ()),
    }
}

async fn pipeline(
    app: &SsoConnectedApp,
    ctx: &Context,
    client: &OrgClient,
    okey: &str,
    refresh: Duration,
    run: &mut Run,
) {
    let ns = app.namespace().unwrap_or_default();
    let name = app.name_any();
    let spec = &app.spec;
    let old = app.status.clone().unwrap_or_default();
    let observe_only = spec.policy.management == ManagementPolicy::ObserveOnly;
    // Once this generation has been applied, re-reads are drift checks: optional reads that the
    // budget may hold back when the org's allocation runs low.
    let applied = old.observed_generation == app.metadata.generation
        && conditions::find(&old.conditions, types::APP_READY).is_some_and(|c| c.status == "True");
    let priority = if applied {
        ReadPriority::Optional
    } else {
        ReadPriority::Required
    };

    // --- Identity provider -------------------------------------------------------------------
    let want = &spec.identity_provider.certificate;
    let ensured = ctx
        .idp
        .ensure(okey, client, want, refresh, priority, !observe_only)
        .await;
    let newly_enabled = matches!(ensured, Ok(Ensured::Enabled(_)));
    let mut snap = match ensured {
        Err(e) => {
            return run.failed(
                types::IDENTITY_PROVIDER_READY,
                Error::ConfigureIdentityProvider(e),
            );
        }
        Ok(Ensured::CertificateMissing) => {
            run.cond(types::IDENTITY_PROVIDER_READY, false, reasons::CERTIFICATE_NOT_FOUND, format!("certificate {want} does not exist in the org; create it in Setup > Certificate and Key Management (the operator never creates certificates)"));
            run.stalled = true;
            return;
        }
        Ok(Ensured::Observed(snap)) => {
            let state = match (&snap.enabled, &snap.certificate) {
                (true, Some(c)) => format!("enabled with certificate {c}"),
                _ => "disabled".to_string(),
            };
            run.cond(types::IDENTITY_PROVIDER_READY, false, reasons::OBSERVE_ONLY, format!("Identity Provider is {state}, not enabled with {want}; ObserveOnly makes no change"));
            snap
        }
        Ok(Ensured::Enabled(snap) | Ensured::Already(snap)) => {
            if newly_enabled {
                run.event(
                    false,
                    "IdentityProviderEnabled",
                    "ConfigureIdentityProvider",
                    format!("enabled the org's Identity Provider with certificate {want}"),
                );
            }
            run.cond(
                types::IDENTITY_PROVIDER_READY,
                true,
                reasons::SYNCED,
                format!("Identity Provider enabled with certificate {want}"),
            );
            snap
        }
    };

    // --- App ----------------------------------------------------------------------------------
    let api_name = &spec.app.api_name;
    let kind = app_kind(spec.app.type_);
    let marker = ownership::marker(&ns, &name, &app.uid().unwrap_or_default());
    // A resource that has never reached this stage, for an app the org's listing lacks: create
    // straight away (createMetadata cannot overwrite; "exists after all" falls back to a read).
    let mut created: Option<Result<(), SalesforceError>> = None;
    if old.app.is_none()
        && !observe_only
        && spec.app.type_ == AppType::ConnectedApp
        && ctx.existing_apps.absent(okey, client, api_name).await
        && let WantedApp::Connected(a) = FoundApp::Connected(None).desired(spec, &marker)
    {
        match client.create_connected_app(&a).await {
            Err(e) if e.is_already_exists() => {
                debug!(app = %api_name, "created meanwhile by someone else; reading it");
            }
            r => created = Some(r.map(|_| ())),
        }
    }
    let existing = if created.is_some() {
        FoundApp::Connected(None)
    } else {
        match read_app(client, spec, priority).await {
            Ok(a) => a,
            Err(e) => return run.failed(types::APP_READY, Error::ReadApp(e)),
        }
    };
    let app_status = AppStatus {
        type_: spec.app.type_,
        api_name: api_name.clone(),
        id: old.app.as_ref().and_then(|a| a.id.clone()),
    };
    if !existing.exists() {
        if observe_only {
            run.cond(
                types::APP_READY,
                false,
                reasons::NOT_FOUND,
                format!(
                    "{kind} {api_name} does not exist in the org; ObserveOnly does not create it"
                ),
            );
            run.cond(
                types::ACCESS_GRANTED,
                false,
                reasons::DEPENDENCY_NOT_READY,
                "the app does not exist",
            );
            run.stalled = true;
            return;
        }
        let written = match created {
            Some(r) => r,
            None => write_app(client, &existing.desired(spec, &marker)).await,
        };
        match written {
            Ok(()) => {
                run.event(
                    false,
                    "Created",
                    "CreateApp",
                    format!("created {kind} {api_name}"),
                );
                run.cond(
                    types::APP_READY,
                    true,
                    reasons::SYNCED,
                    format!("{kind} {api_name} matches the spec"),
                );
            }
            Err(e) => {
                let blocked = e.kind() == ErrorKind::CreationBlocked;
                run.failed(types::APP_READY, Error::WriteApp(e));
                if blocked {
                    let msg = run
                        .conditions
                        .last()
                        .map(|c| c.message.clone())
                        .unwrap_or_default();
                    run.event(
                        true,
                        reasons::CONNECTED_APP_CREATION_BLOCKED,
                        "CreateApp",
                        msg,
                    );
                }
                run.cond(
                    types::ACCESS_GRANTED,
                    false,
                    reasons::DEPENDENCY_NOT_READY,
                    "the app does not exist",
                );
                run.app = Some(app_status);
                return;
            }
        }
    } else {
        let owner = ownership::owner_of(existing.description());
        let mut adopting = false;
        if !owner.is(&ns, &name) {
            match owner {
                Owner::Resource {
                    namespace,
                    name: other,
                    ..
                } => {
                    run.cond(types::APP_READY, false, reasons::CONFLICT, format!("{kind} {api_name} is managed by {namespace}/{other}, not by this resource"));
                    run.stalled = true;
                    return;
                }
                Owner::Unowned
                    if spec.policy.adoption == AdoptionPolicy::Never && !observe_only =>
                {
                    run.cond(types::APP_READY, false, reasons::CONFLICT, format!("{kind} {api_name} already exists in the org and carries no sso-operator ownership marker; set spec.policy.adoption: IfUnowned to take it over"));
                    run.stalled = true;
                    return;
                }
                Owner::Unowned => adopting = !observe_only,
            }
        }
        let want = existing.desired(spec, &marker);
        let diffs = existing.differences(&want);
        // Differences in a generation already applied were made in Salesforce, not in the spec.
        let drift = applied && !adopting;
        let entries = |action: &str| {
            diffs
                .iter()
                .map(|f| DriftEntry {
                    field: f.clone(),
                    action: action.into(),
                })
                .collect()
        };
        if diffs.is_empty() {
            run.cond(
                types::APP_READY,
                true,
                reasons::SYNCED,
                format!("{kind} {api_name} matches the spec"),
            );
        } else if observe_only {
            if drift {
                run.drift = entries("Reported");
            }
            run.cond(
                types::APP_READY,
                true,
                reasons::OBSERVE_ONLY,
                format!(
                    "{kind} {api_name} differs from the spec in {}; ObserveOnly makes no change",
                    diffs.join(", ")
                ),
            );
        } else {
            match write_app(client, &want).await {
                Ok(()) => {
                    if adopting {
                        run.event(
                            false,
                            "Adopted",
                            "AdoptApp",
                            format!("took over existing {kind} {api_name}"),
                        );
                    }
                    if drift {
                        run.drift = entries("Corrected");
                        run.event(true, reasons::DRIFTED, "CorrectDrift", format!("{kind} {api_name} was changed in Salesforce ({}); restored the spec", diffs.join(", ")));
                    } else if !adopting {
                        run.event(
                            false,
                            "Updated",
                            "UpdateApp",
                            format!("updated {kind} {api_name}: {}", diffs.join(", ")),
                        );
                    }
                    run.cond(
                        types::APP_READY,
                        true,
                        reasons::SYNCED,
                        format!("{kind} {api_name} matches the spec"),
                    );
                }
                Err(e) => {
                    run.failed(types::APP_READY, Error::WriteApp(e));
                    run.app = Some(app_status);
                    return;
                }
            }
        }
    }
    run.app = Some(app_status);
    let access = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let access_drift = run
        .drift
        .iter()
        .any(|d| d.field.contains("rofile") || d.field.contains("ermissionSet"));
    if observe_only && access_drift {
        run.cond(
            types::ACCESS_GRANTED,
            false,
            reasons::DRIFTED,
            "profile or permission set access differs from the spec; ObserveOnly makes no change",
        );
    } else {
        run.cond(
            types::ACCESS_GRANTED,
            true,
            reasons::SYNCED,
            format!(
                "profiles: {}; permission sets: {}",
                access(&spec.access.profiles),
                access(&spec.access.permission_sets)
            ),
        );
    }

    // --- Metadata -----------------------------------------------------------------------------
    let md = match client.fetch_idp_metadata(Some(api_name)).await {
        Ok(md) => md,
        Err(e) => return run.failed(types::METADATA_PUBLISHED, Error::FetchIdpMetadata(e)),
    };
    if let Some(issuer) = &spec.saml.issuer
        && &md.entity_id != issuer
    {
        run.cond(
            types::METADATA_PUBLISHED,
            false,
            reasons::METADATA_INVALID,
            format!(
                "metadata entityID {} is not the issuer {issuer} the spec asks for",
                md.entity_id
            ),
        );
        run.stalled = true;
        return;
    }
    let pick = |snap: &IdpSnapshot| match &snap.fingerprint {
        Some(fp) => md
            .signing_certificates
            .iter()
            .find(|c| &c.sha256_fingerprint == fp)
            .cloned(),
        None => md.signing_certificates.first().cloned(),
    };
    let mut cert = pick(&snap);
    if cert.is_none() && snap.fingerprint.is_some() {
        // The certificate may have been rotated since the snapshot was taken: look again once.
        ctx.idp.invalidate(okey).await;
        match ctx
            .idp
            .get(okey, client, refresh, ReadPriority::Required)
            .await
        {
            Ok(s) => {
                snap = s;
                cert = pick(&snap);
            }
            Err(e) => {
                return run.failed(
                    types::METADATA_PUBLISHED,
                    Error::ConfigureIdentityProvider(e),
                );
            }
        }
    }
    let Some(cert) = cert else {
        let msg = format!(
            "the app's IdP metadata is not signed with the Identity Provider certificate {} (fingerprint {})",
            snap.certificate.as_deref().unwrap_or("?"),
            snap.fingerprint.as_deref().unwrap_or("?")
        );
        run.cond(
            types::METADATA_PUBLISHED,
            false,
            reasons::METADATA_INVALID,
            msg,
        );
        run.transient = Some(Error::OrgNotReady(
            "IdP metadata certificate mismatch".into(),
        ));
        return;
    };
    // Keep the published bytes when only Salesforce's download-time validUntil moved.
    let mut md = md;
    let cm_name = app.config_map_name();
    let published = ctx
        .config_maps
        .get(&ObjectRef::new(&cm_name).within(&ns))
        .and_then(|c| metadata_configmap::only_valid_until_moved(&c, &md.xml).map(str::to_owned));
    if let Some(sha) = published
        && let Some(prev) = published_metadata(ctx, app, &cm_name, &sha).await
    {
        md.xml = prev;
    }
    let cm = metadata_configmap::build(app, &md, &cert);
    let sha = metadata_configmap::sha256_hex(md.xml.as_bytes());
    let published_cm = match ensure_config_map(ctx, &cm).await {
        Ok((published, wrote)) => {
            run.config_map_written = wrote;
            published
        }
        Err(e) => {
            run.cond(
                types::METADATA_PUBLISHED,
                false,
                reasons::SALESFORCE_UNAVAILABLE,
                e.to_string(),
            );
            run.transient = Some(e);
            return;
        }
    };
    let published_at = match &old.metadata {
        Some(m) if m.sha256 == sha && m.config_map_name == cm_name => m.published_at.clone(),
        _ => {
            run.event(
                false,
                "MetadataPublished",
                "PublishMetadata",
                format!(
                    "published IdP metadata (sha256 {}) to ConfigMap {cm_name}",
                    &sha[..12]
                ),
            );
            status::now()
        }
    };
    if let Err(e) = remove_stale_config_maps(ctx, app, &cm_name).await {
        warn!(error = %e, "could not remove a ConfigMap published under a previous name");
    }
    run.config_map = Some(published_cm);
    run.metadata = Some(MetadataStatus {
        config_map_name: cm_name.clone(),
        sha256: sha,
        published_at,
    });
    run.cond(
        types::METADATA_PUBLISHED,
        true,
        reasons::SYNCED,
        format!("IdP metadata published to ConfigMap {cm_name}"),
    );
    run.identity_provider = Some(IdentityProviderStatus {
        entity_id: md.entity_id.clone(),
        sso_urls: SsoUrls {
            post: md.sso_post.clone(),
            redirect: md.sso_redirect.clone(),
        },
        certificate: CertificateStatus {
            name: snap.certificate.clone().unwrap_or_else(|| want.clone()),
            not_after: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(cert.not_after),
            sha256_fingerprint: cert.sha256_fingerprint.clone(),
        },
    });

    // --- Certificate validity -----------------------------------------------------------------
    let now = jiff::Timestamp::now();
    let left = cert.not_after.duration_since(now);
    if left.is_negative() {
        run.cond(types::CERTIFICATE_VALID, false, reasons::EXPIRED, format!("IdP certificate expired at {}; sign-in fails until the org's Identity Provider uses a valid certificate", cert.not_after));
    } else if left.unsigned_abs() < EXPIRY_WARNING {
        let days = left.as_secs() / 86_400;
        run.cond(types::CERTIFICATE_VALID, false, reasons::EXPIRING_SOON, format!("IdP certificate expires at {} (in {days} days); rotate it and give the service provider the new metadata", cert.not_after));
    } else {
        run.cond(
            types::CERTIFICATE_VALID,
            true,
            reasons::VALID,
            format!("IdP certificate valid until {}", cert.not_after),
        );
    }
}

/// Derives the aggregate conditions, writes status if it changed, and publishes Events for what
/// changed.
async fn finish(app: &SsoConnectedApp, ctx: &Context, mut run: Run) -> Result<(), Error> {
    let old = app.status.clone().unwrap_or_default();
    let stages = [
        types::IDENTITY_PROVIDER_READY,
        types::APP_READY,
        types::ACCESS_GRANTED,
        types::METADATA_PUBLISHED,
    ];
    if run.ok(types::READY).is_none() {
        let first_bad = run
            .conditions
            .iter()
            .find(|c| {
                !c.status
                    && (stages.contains(&c.type_)
                        || (c.type_ == types::CERTIFICATE_VALID && c.reason == reasons::EXPIRED))
            })
            .cloned();
        let all_ok = stages.iter().all(|t| run.ok(t) == Some(true));
        match first_bad {
            Some(c) => run.cond(types::READY, false, c.reason, c.message),
            None if all_ok => {
                let msg = match run.ok(types::CERTIFICATE_VALID) {
                    Some(false) => {
                        "in sync with Salesforce; the IdP certificate needs attention (see CertificateValid)"
                    }
                    _ => "in sync with Salesforce; IdP metadata published",
                };
                run.cond(types::READY, true, reasons::SYNCED, msg)
            }
            None => run.cond(types::READY, false, reasons::PROGRESSING, "reconciling"),
        }
    }
    let ready = run.ok(types::READY) == Some(true);
    let ready_reason = run
        .conditions
        .iter()
        .rev()
        .find(|c| c.type_ == types::READY)
        .map(|c| c.reason)
        .unwrap_or(reasons::PROGRESSING);
    let waiting = matches!(ready_reason, reasons::SUSPENDED | reasons::ORG_NOT_FOUND);
    let stalled = !ready && (run.stalled || waiting);
    run.cond(
        types::STALLED,
        stalled,
        if stalled {
            ready_reason
        } else {
            reasons::SYNCED
        },
        if stalled {
            "waiting for a change to the spec or in Salesforce"
        } else {
            ""
        },
    );
    let reconciling = !ready && !stalled;
    run.cond(
        types::RECONCILING,
        reconciling,
        if reconciling {
            ready_reason
        } else {
            reasons::SYNCED
        },
        if reconciling { "retrying" } else { "" },
    );

    let mut new = SsoConnectedAppStatus {
        observed_generation: app.metadata.generation,
        conditions: conditions::merge(
            &old.conditions,
            &run.conditions,
            app.metadata.generation,
            status::now(),
        ),
        app: run.app.take().or(old.app.clone()),
        identity_provider: run
            .identity_provider
            .take()
            .or(old.identity_provider.clone()),
        metadata: run.metadata.take().or(old.metadata.clone()),
        drift: std::mem::take(&mut run.drift),
    };
    // Keep the drift report of the last check until a later full check replaces it.
    if new.drift.is_empty() && !ready {
        new.drift = old.drift.clone();
    }
    let was_ready = conditions::find(&old.conditions, types::READY).map(|c| c.status == "True");
    let wrote = status::write_if_changed(ctx, app, app.status.as_ref(), &new).await?;
    for (warning, reason, action, note) in run.events {
        ctx.publish_event(app, warning, reason, action, note).await;
    }
    // Certificate trouble is worth a Warning Event when it starts, not only a condition.
    if let Some(c) = conditions::find(&new.conditions, types::CERTIFICATE_VALID)
        && c.status == "False"
        && conditions::find(&old.conditions, types::CERTIFICATE_VALID)
            .is_none_or(|o| o.reason != c.reason)
    {
        ctx.publish_event(app, true, &c.reason, "CheckCertificate", c.message.clone())
            .await;
    }
    if wrote
        && was_ready != Some(ready)
        && let Some(c) = conditions::find(&new.conditions, types::READY).cloned()
    {
        info!(ready, reason = %c.reason, "readiness changed");
        ctx.publish_event(app, !ready, &c.reason, "Reconcile", c.message)
            .await;
    }
    Ok(())
}

async fn cleanup(app: Arc<SsoConnectedApp>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&app);
    let api_name = &app.spec.app.api_name;
    let spec = &app.spec;
    let forget = || {
        ctx.memos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        ctx.backoff.reset(&key);
        ctx.slow_backoff.reset(&key);
    };
    if app
        .annotations()
        .get(RELEASE_ANNOTATION)
        .map(String::as_str)
        == Some("true")
    {
        ctx.publish_event(&*app, true, "Released", "Delete", format!("{RELEASE_ANNOTATION}=true: removed without touching Salesforce; app {api_name} was left as it is")).await;
        forget();
        return Ok(Action::await_change());
    }
    let keep = spec.policy.deletion == DeletionPolicy::Orphan
        || spec.policy.management == ManagementPolicy::ObserveOnly
        || spec.suspend;
    let kind = app_kind(spec.app.type_);
    if keep {
        ctx.publish_event(
            &*app,
            false,
            "Orphaned",
            "Delete",
            format!(
                "left {kind} {api_name} in Salesforce (deletion policy, ObserveOnly or suspend)"
            ),
        )
        .await;
        forget();
        return Ok(Action::await_change());
    }
    let hint = format!(
        "set annotation {RELEASE_ANNOTATION}=true to remove this resource without deleting the app"
    );
    let Some(org) = ctx.org_of(&app) else {
        return Err(Error::OrgNotReady(format!(
            "SalesforceOrg {} does not exist, so app {api_name} cannot be deleted; {hint}",
            spec.org_ref.name
        )));
    };
    let client = ctx.org_client(&org).await.map_err(|p| {
        Error::OrgNotReady(format!(
            "SalesforceOrg {}: {}: {}; {hint}",
            org.name_any(),
            p.reason,
            p.message
        ))
    })?;
    let ns = app.namespace().unwrap_or_default();
    // An app of an org that cannot hold External Client Apps was never created: nothing to do.
    if spec.app.type_ == AppType::ExternalClientApp && !eca_version_ok(&org.spec.api_version) {
        forget();
        return Ok(Action::await_change());
    }
    let found = read_app(&client, spec, ReadPriority::Required)
        .await
        .map_err(Error::ReadApp)?;
    if found.exists() {
        if ownership::owner_of(found.description()).is(&ns, &app.name_any()) {
            match spec.app.type_ {
                AppType::ConnectedApp => client.delete_connected_app(api_name).await,
                AppType::ExternalClientApp => client.delete_external_client_app(api_name).await,
            }
            .map_err(Error::DeleteApp)?;
            ctx.publish_event(
                &*app,
                false,
                "Deleted",
                "Delete",
                format!("deleted {kind} {api_name} from Salesforce"),
            )
            .await;
        } else {
            ctx.publish_event(&*app, false, "NotDeleted", "Delete", format!("{kind} {api_name} is not marked as this resource's, so it was left in Salesforce")).await;
        }
    }
    forget();
    Ok(Action::await_change())
}
