//! The seam between reconcile decisions and Salesforce: the few operations the reconcile stages
//! need, by app kind. The real per-org client ([`OrgClient`]) implements it; the unit tests use an
//! in-memory fake, so every decision can be tested without a cluster or a simulator process.

use std::future::Future;

use crate::api::app::AppType;
use crate::salesforce::{
    AccessGrant, CertificateMetadata, ConnectedApp, ExternalClientAppBundle,
    IdentityProviderSettings, IdpMetadata, OrgClient, ReadPriority, SalesforceError,
};

/// The app as found in the org, of either kind (`None` inside: it does not exist).
// One short-lived value per reconcile: the size difference between the kinds does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum FoundApp {
    Connected(Option<ConnectedApp>),
    External(Option<Box<ExternalClientAppBundle>>),
}

/// The app as the spec wants it, of either kind.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum WantedApp {
    Connected(ConnectedApp),
    External(Box<ExternalClientAppBundle>),
}

impl FoundApp {
    /// Nothing found, of `kind`.
    pub fn absent(kind: AppType) -> Self {
        match kind {
            AppType::ConnectedApp => FoundApp::Connected(None),
            AppType::ExternalClientApp => FoundApp::External(None),
        }
    }

    pub fn exists(&self) -> bool {
        match self {
            FoundApp::Connected(a) => a.is_some(),
            FoundApp::External(b) => b.is_some(),
        }
    }

    /// The description, where the ownership marker lives.
    pub fn description(&self) -> Option<&str> {
        match self {
            FoundApp::Connected(a) => a.as_ref().and_then(|a| a.description.as_deref()),
            FoundApp::External(b) => b.as_ref().and_then(|b| b.app.description.as_deref()),
        }
    }
}

/// What the reconcile stages ask of one org. Futures are `Send` so the reconcile future is.
pub trait OrgApi: Send + Sync {
    /// `IdentityProviderSettings` (`None`: never configured).
    fn read_identity_provider(
        &self,
        priority: ReadPriority,
    ) -> impl Future<Output = Result<Option<IdentityProviderSettings>, SalesforceError>> + Send;

    /// A certificate by API name (`None`: no such certificate).
    fn read_certificate(
        &self,
        name: &str,
        priority: ReadPriority,
    ) -> impl Future<Output = Result<Option<CertificateMetadata>, SalesforceError>> + Send;

    /// Enables the org's Identity Provider with certificate `name`.
    fn enable_identity_provider(
        &self,
        certificate: &str,
    ) -> impl Future<Output = Result<(), SalesforceError>> + Send;

    /// API names of the org's apps of `kind` (`listMetadata`).
    fn list_apps(
        &self,
        kind: AppType,
    ) -> impl Future<Output = Result<Vec<String>, SalesforceError>> + Send;

    /// Reads the app `name` of `kind`.
    fn read_app(
        &self,
        kind: AppType,
        name: &str,
        priority: ReadPriority,
    ) -> impl Future<Output = Result<FoundApp, SalesforceError>> + Send;

    /// Creates a connected app believed not to exist; never overwrites (an existing one is an
    /// error for which `is_already_exists` holds).
    fn create_connected_app(
        &self,
        app: &ConnectedApp,
    ) -> impl Future<Output = Result<(), SalesforceError>> + Send;

    /// Creates or updates the app (upsert for connected apps, deploy for External Client Apps).
    fn write_app(
        &self,
        app: &WantedApp,
    ) -> impl Future<Output = Result<(), SalesforceError>> + Send;

    /// Deletes the app; a missing app counts as deleted.
    fn delete_app(
        &self,
        kind: AppType,
        name: &str,
    ) -> impl Future<Output = Result<(), SalesforceError>> + Send;

    /// The app's IdP metadata (`/.well-known/samlidp/<name>.xml`).
    fn fetch_app_metadata(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<IdpMetadata, SalesforceError>> + Send;

    /// The org's IdP metadata (`/.well-known/samlidp.xml`): the fallback where an app has none
    /// of its own.
    fn fetch_org_metadata(
        &self,
    ) -> impl Future<Output = Result<IdpMetadata, SalesforceError>> + Send;

    /// Who has access to External Client App `name`: its `SetupEntityAccess` grants (`None`: the
    /// org does not list the app).
    fn read_grants(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Vec<AccessGrant>>, SalesforceError>> + Send;

    /// Revokes one grant (`SetupEntityAccess` record `id`).
    fn revoke_grant(&self, id: &str) -> impl Future<Output = Result<(), SalesforceError>> + Send;
}

impl OrgApi for OrgClient {
    async fn read_identity_provider(
        &self,
        priority: ReadPriority,
    ) -> Result<Option<IdentityProviderSettings>, SalesforceError> {
        self.read_identity_provider_with(priority).await
    }

    async fn read_certificate(
        &self,
        name: &str,
        priority: ReadPriority,
    ) -> Result<Option<CertificateMetadata>, SalesforceError> {
        self.read_certificate_with(name, priority).await
    }

    async fn enable_identity_provider(&self, certificate: &str) -> Result<(), SalesforceError> {
        self.upsert_identity_provider(&IdentityProviderSettings {
            certificate_name: certificate.to_string(),
            enable_identity_provider: true,
        })
        .await
    }

    async fn list_apps(&self, kind: AppType) -> Result<Vec<String>, SalesforceError> {
        let listed = match kind {
            AppType::ConnectedApp => self.list_connected_apps().await?,
            AppType::ExternalClientApp => self.list_external_client_apps().await?,
        };
        Ok(listed.into_iter().map(|f| f.full_name).collect())
    }

    async fn read_app(
        &self,
        kind: AppType,
        name: &str,
        priority: ReadPriority,
    ) -> Result<FoundApp, SalesforceError> {
        Ok(match kind {
            AppType::ConnectedApp => {
                FoundApp::Connected(self.read_connected_app_with(name, priority).await?)
            }
            AppType::ExternalClientApp => FoundApp::External(
                self.read_external_client_app(name, priority)
                    .await?
                    .map(Box::new),
            ),
        })
    }

    async fn create_connected_app(&self, app: &ConnectedApp) -> Result<(), SalesforceError> {
        OrgClient::create_connected_app(self, app).await.map(|_| ())
    }

    async fn write_app(&self, app: &WantedApp) -> Result<(), SalesforceError> {
        match app {
            WantedApp::Connected(a) => self.upsert_connected_app(a).await.map(|_| ()),
            WantedApp::External(b) => self.deploy_external_client_app(b).await.map(|_| ()),
        }
    }

    async fn delete_app(&self, kind: AppType, name: &str) -> Result<(), SalesforceError> {
        match kind {
            AppType::ConnectedApp => self.delete_connected_app(name).await,
            AppType::ExternalClientApp => self.delete_external_client_app(name).await,
        }
    }

    async fn fetch_app_metadata(&self, name: &str) -> Result<IdpMetadata, SalesforceError> {
        self.fetch_idp_metadata(Some(name)).await
    }

    async fn fetch_org_metadata(&self) -> Result<IdpMetadata, SalesforceError> {
        self.fetch_idp_metadata(None).await
    }

    async fn read_grants(&self, name: &str) -> Result<Option<Vec<AccessGrant>>, SalesforceError> {
        self.read_external_client_app_grants(name).await
    }

    async fn revoke_grant(&self, id: &str) -> Result<(), SalesforceError> {
        OrgClient::revoke_grant(self, id).await
    }
}
