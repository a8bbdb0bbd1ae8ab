//! `SalesforceOrg`: one connection to one Salesforce org, shared by every `SsoConnectedApp` in its
//! namespace (one token, one API budget, one request queue per org).

// kube-derive's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::Condition;
use super::shared_str::SharedStr;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired connection to a Salesforce org.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sso-operator.dev",
    version = "v1alpha1",
    kind = "SalesforceOrg",
    plural = "salesforceorgs",
    shortname = "sforg",
    category = "sso",
    namespaced,
    status = "SalesforceOrgStatus",
    derive = "PartialEq",
    doc = "A connection to one Salesforce org: where it is, how the operator authenticates, and how much of the org's API allocation it may use.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Instance", type_ = "string", json_path = ".spec.instanceUrl"),
    printcolumn(
        name = "API Usage",
        type_ = "string",
        json_path = ".status.apiUsage.summary"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SalesforceOrgSpec {
    /// The org's My Domain URL, e.g. `https://acme.my.salesforce.com`. All API calls and IdP
    /// metadata fetches go to this host. Must be https; the host must also pass the operator's
    /// allow-list (Salesforce domains by default), which nothing in a resource can widen.
    #[schemars(length(min = 9, max = 255))]
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("instanceUrl must start with https://"))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getHost() != '' && (url(self).getEscapedPath() == '' || url(self).getEscapedPath() == '/') && !self.contains('?') && !self.contains('#')").message("instanceUrl must be a bare https URL (scheme and host only), e.g. https://acme.my.salesforce.com"))]
    #[x_kube(validation = Rule::new("!self.contains('://') || !self.split('://', 2)[1].split('/', 2)[0].contains('@')").message("instanceUrl must not contain user information"))]
    pub instance_url: String,

    /// Where the operator requests OAuth tokens. Defaults suit production and Developer Edition orgs.
    #[serde(default)]
    pub login: LoginSpec,

    /// Metadata and REST API version, e.g. `"63.0"`. At least 57.0 (IdentityProviderSettings);
    /// 63.0 or later for External Client Apps.
    #[serde(default = "default_api_version")]
    #[schemars(regex(pattern = r"^[0-9]{2}\.0$"))]
    #[x_kube(validation = Rule::new("!self.matches('^[0-9]{2}\\\\.0$') || double(self) >= 57.0").message("apiVersion must be 57.0 or later"))]
    pub api_version: String,

    /// How the operator authenticates to the org: exactly one of `jwtBearer` or `clientCredentials`.
    pub auth: AuthSpec,

    /// How much of the org's API capacity the operator may use.
    #[serde(default)]
    pub api_budget: ApiBudget,

    /// The org-wide Identity Provider, chosen here rather than by each app: the certificate it
    /// signs with, and whether the operator may switch it. Unset: an app may enable an Identity
    /// Provider that is off (with the certificate it asks for), and nothing ever switches one that
    /// is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<OrgIdentityProviderSpec>,
}

/// The org's Identity Provider as the owner of this `SalesforceOrg` wants it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgIdentityProviderSpec {
    /// API name of the org certificate the Identity Provider signs with, e.g. `SelfSignedCert_IdP`.
    /// The operator enables the Identity Provider with it when it is off; it never creates the
    /// certificate and never disables the Identity Provider. Every `SsoConnectedApp` of this org
    /// must ask for the same certificate.
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    pub certificate: String,

    /// Switch an Identity Provider that is already enabled with another certificate to
    /// `certificate`. Every SAML service provider of the org (including ones the operator does not
    /// manage) that trusts only the old certificate refuses sign-in until it has the new metadata.
    /// Default `false`: a different certificate is reported as `Conflict`, naming the current one.
    #[serde(default)]
    pub allow_certificate_switch: bool,

    /// A planned rotation to another certificate, without a sign-in outage: the operator
    /// *announces* it (every app's published metadata carries both signing keys, current first,
    /// and `next-certificate.pem`), *switches* the Identity Provider when `overlap` has passed (or
    /// at once with annotation `sso-operator.dev/switch-certificate-now: <nextCertificate>`), keeps the old
    /// key in the metadata for `gracePeriod`, then *retires* it. Remove it before the switch to
    /// cancel. Once retired, set `certificate` to the new one and remove `rotation` (one edit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationSpec>,
}

/// A planned certificate rotation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RotationSpec {
    /// API name of the certificate to switch to. It must exist in the org and be valid until well
    /// after the switch.
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    pub next_certificate: String,

    /// How long service providers get both keys before the switch, e.g. `168h` (default: 7
    /// days). Service providers must reload the metadata within this time.
    #[serde(default = "default_overlap")]
    #[schemars(
        length(min = 2, max = 32),
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
    )]
    pub overlap: String,

    /// How long the old key stays in the metadata after the switch, e.g. `24h` (default).
    #[serde(default = "default_grace_period")]
    #[schemars(
        length(min = 2, max = 32),
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
    )]
    pub grace_period: String,
}

fn default_overlap() -> String {
    "168h".to_string()
}

fn default_grace_period() -> String {
    "24h".to_string()
}

fn default_api_version() -> String {
    "63.0".to_string()
}

fn default_login_url() -> String {
    "https://login.salesforce.com".to_string()
}

/// Token endpoint and JWT audience.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoginSpec {
    /// Base URL the JWT bearer token request is POSTed to (`<url>/services/oauth2/token`).
    /// `https://login.salesforce.com` (default) for production and Developer Edition,
    /// `https://test.salesforce.com` for sandboxes, or the org's My Domain URL when the org blocks
    /// the generic login hosts. Client credentials always use `instanceUrl`.
    #[serde(default = "default_login_url")]
    #[schemars(length(min = 9, max = 255))]
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("login.url must start with https://"))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getHost() != ''").message("login.url must be a valid https URL"))]
    pub url: String,

    /// The JWT `aud` claim: `https://login.salesforce.com` (default) or `https://test.salesforce.com`
    /// for sandboxes.
    #[serde(default = "default_login_url")]
    #[schemars(length(min = 1, max = 255))]
    pub audience: String,
}

impl Default for LoginSpec {
    fn default() -> Self {
        Self {
            url: default_login_url(),
            audience: default_login_url(),
        }
    }
}

/// Exactly one authentication method.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.jwtBearer) != has(self.clientCredentials)").message("set exactly one of auth.jwtBearer or auth.clientCredentials"))]
pub struct AuthSpec {
    /// OAuth 2.0 JWT bearer flow: the operator signs an assertion with an RSA key held in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_bearer: Option<JwtBearerAuth>,

    /// OAuth 2.0 client credentials flow against the org's My Domain token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials: Option<ClientCredentialsAuth>,
}

/// JWT bearer flow settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtBearerAuth {
    /// Consumer key of the integration app the operator logs in with (the JWT `iss`).
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub client_id: String,

    /// Salesforce username of the integration user (the JWT `sub`).
    #[schemars(length(min = 3, max = 255), regex(pattern = r"^[^\x00-\x1F\x7F]*$"))]
    pub username: String,

    /// The Secret (same namespace) holding the RSA private key, PEM, at least 2048 bits.
    pub private_key_secret_ref: SecretKeyRef,
}

/// A key in a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret's data. Defaults to `tls.key`.
    #[serde(default = "default_key_name")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_key_name() -> String {
    "tls.key".to_string()
}

/// Client credentials flow settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientCredentialsAuth {
    /// The Secret (same namespace) with keys `client-id` and `client-secret`.
    pub secret_ref: SecretRef,
}

/// A Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Limits on the operator's use of the org's API capacity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiBudget {
    /// Below this share (percent) of the daily API allocation left, the operator stops optional
    /// reads (drift checks) and only makes the calls needed to apply changes. 0 to 90; default 10.
    #[serde(default = "default_reserve_percent")]
    #[schemars(range(min = 0, max = 90))]
    pub reserve_percent: u32,

    /// Salesforce calls in flight at once for this org, across all apps. 1 to 10; default 2.
    #[serde(default = "default_max_concurrent_calls")]
    #[schemars(range(min = 1, max = 10))]
    pub max_concurrent_calls: u32,
}

fn default_reserve_percent() -> u32 {
    10
}
fn default_max_concurrent_calls() -> u32 {
    2
}

impl Default for ApiBudget {
    fn default() -> Self {
        Self {
            reserve_percent: default_reserve_percent(),
            max_concurrent_calls: default_max_concurrent_calls(),
        }
    }
}

/// Observed state of the connection, written only by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SalesforceOrgStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready` (the credentials work: reason `Authenticated`, or why not), and the kstatus pair:
    /// `Stalled` (a change is needed: Secret or key missing or invalid, URL not allowed, login
    /// refused) and `Reconciling` (working, or Salesforce unreachable for now).
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The 18-character org id Salesforce reported at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,

    /// Daily API usage as reported by Salesforce at `observedAt`: rewritten when usage crosses 50,
    /// 80, 90 or 100% of the limit or the limit changes, so a busy org writes no status for it
    /// (the `sso_operator_org_api_requests_used` metric is live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_usage: Option<ApiUsage>,

    /// The org's Identity Provider as last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<OrgIdentityProvider>,
}

/// Daily API usage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiUsage {
    /// Requests used in the rolling 24 hours.
    pub used: u64,
    /// The org's daily allocation.
    pub limit: u64,
    /// `used/limit`, for `kubectl get`.
    pub summary: String,
    /// When Salesforce reported these figures.
    pub observed_at: Time,
}

/// The org-wide Identity Provider state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgIdentityProvider {
    /// Whether the Identity Provider is enabled.
    pub enabled: bool,
    /// API name of the certificate the Identity Provider signs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The IdP entity id (issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// The planned rotation under way (`spec.identityProvider.rotation`), with its times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationStatus>,
}

/// Where a planned rotation stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RotationPhase {
    /// Both keys are published; the Identity Provider still signs with `from`.
    Announced,
    /// The Identity Provider signs with `to`; the old key is still published.
    Switched,
    /// Only `to` is published: the rotation is complete.
    Retired,
}

/// A planned rotation's progress.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationStatus {
    /// The certificate rotated from.
    pub from: String,
    /// The certificate rotated to.
    pub to: String,
    /// `Announced`, `Switched` or `Retired`.
    pub phase: RotationPhase,
    /// When both keys were first published.
    pub announced_at: Time,
    /// When the switch is (or was) due: `announcedAt` + `overlap`.
    pub switch_at: Time,
    /// When the Identity Provider was switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_at: Option<Time>,
    /// When the old key leaves (or left) the metadata: `switchedAt` + `gracePeriod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<Time>,
}

/// A reference to a `SalesforceOrg` in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgReference {
    /// Name of the `SalesforceOrg` in this namespace whose connection this app uses.
    #[schemars(length(min = 1, max = 253))]
    pub name: SharedStr,
}
