//! `SsoConnectedApp`'s status: what the operator found in Salesforce and published.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::Condition;
use super::shared_str::SharedStr;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::app_type::AppType;

/// Observed state, written only by the operator.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SsoConnectedAppStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready` (aggregate), and one per stage: `IdentityProviderReady`, `AppReady`,
    /// `AccessGranted`, `MetadataPublished`, `CertificateValid`. With them the kstatus pair:
    /// `Stalled` (a change is needed: conflict, refused content, blocked creation) and
    /// `Reconciling` (working or retrying); a suspended resource has neither (`Ready=False`,
    /// reason `Suspended`).
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The app as found in Salesforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppStatus>,

    /// The Identity Provider as published for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<IdentityProviderStatus>,

    /// The published metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataStatus>,

    /// The metadata `publish.rollout`'s workloads were last restarted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,

    /// Fields found changed in Salesforce at the last check, and whether they were corrected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftEntry>,
}

/// Whether the operator made the app or took over one that existed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AppOrigin {
    /// This resource created it.
    Created,
    /// It existed without an ownership marker and was taken over (`policy.adoption: IfUnowned`).
    Adopted,
}

/// The app in Salesforce.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// `ConnectedApp` or `ExternalClientApp`.
    #[serde(rename = "type")]
    pub type_: AppType,
    /// The app's API name.
    pub api_name: SharedStr,
    /// The Salesforce record id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<SharedStr>,
    /// `Created` or `Adopted`; unset when not known (the app was found already marked for this
    /// resource, e.g. after the resource was recreated). Decides the deletion default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<AppOrigin>,
}

/// The Identity Provider as this app sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderStatus {
    /// The IdP entity id in this app's metadata.
    pub entity_id: SharedStr,
    /// Single sign-on endpoints per binding.
    pub sso_urls: SsoUrls,
    /// The signing certificate.
    pub certificate: CertificateStatus,
}

/// Single sign-on endpoints.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsoUrls {
    /// HTTP-POST binding endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<SharedStr>,
    /// HTTP-Redirect binding endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<SharedStr>,
}

/// Facts about the IdP signing certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// The certificate's API name in the org.
    pub name: SharedStr,
    /// End of validity.
    pub not_after: Time,
    /// SHA-256 fingerprint, colon-separated hex.
    pub sha256_fingerprint: SharedStr,
}

/// The published ConfigMap.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataStatus {
    /// Name of the ConfigMap.
    pub config_map_name: SharedStr,
    /// SHA-256 of `metadata.xml`, hex.
    pub sha256: SharedStr,
    /// When this content was first published.
    pub published_at: Time,
}

/// What `publish.rollout`'s workloads were last restarted for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// SHA-256 of the `metadata.xml` the workloads' pod templates carry (or, before the first
    /// change, the one published when `publish.rollout` was first seen: nothing was restarted).
    pub sha256: SharedStr,
    /// When the workloads were last restarted; unset until the first change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_at: Option<Time>,
}

/// One drifted field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftEntry {
    /// The field, in Salesforce's terms (e.g. `samlConfig.acsUrl`).
    pub field: SharedStr,
    /// `Corrected` (written back) or `Reported` (ObserveOnly).
    pub action: SharedStr,
}
