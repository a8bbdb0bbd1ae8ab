//! The custom resources users write: `SalesforceOrg` (a connection to one org) and `SsoConnectedApp`
//! (one SAML service provider using that org as its identity provider), group `sso-operator.dev`.
//!
//! Every rule the API server can check lives here as schema or CEL, so bad input is refused at
//! admission with a message a person understands instead of surfacing later as a status condition.

pub mod app;
pub mod app_status;
pub mod app_type;
pub mod conditions;
pub mod org;
pub mod shared_str;

pub use app::{SsoConnectedApp, SsoConnectedAppSpec, SsoConnectedAppStatus};
pub use org::{OrgReference, SalesforceOrg, SalesforceOrgSpec, SalesforceOrgStatus};

use kube::CustomResourceExt;

/// The API group of both resources.
pub const GROUP: &str = "sso-operator.dev";

/// The one field manager for every write (server-side apply of status and ConfigMaps).
pub const MANAGER: &str = "sso-operator";
/// Finalizer on both kinds: an `SsoConnectedApp`'s app in Salesforce is dealt with before the
/// resource goes, and a `SalesforceOrg` stays until the apps that use it are gone.
pub const FINALIZER: &str = "sso-operator.dev/cleanup";
/// Changing this annotation's value (e.g. to the current time) asks for an immediate full check
/// of an `SsoConnectedApp` against Salesforce instead of waiting for the refresh interval.
pub const SYNC_ANNOTATION: &str = "sso-operator.dev/sync-requested";
/// Set on a `SalesforceOrg` with a planned rotation to the name of the next certificate, to switch
/// to it now instead of when the overlap has passed.
pub const SWITCH_NOW_ANNOTATION: &str = "sso-operator.dev/switch-certificate-now";
/// Set to "true" on an `SsoConnectedApp` to take over an app whose ownership marker names the same
/// `namespace/name` but another uid or cluster: the resource's predecessor (deleted and created
/// again, e.g. by a GitOps tool) or the same resource in the cluster being restored.
pub const RECLAIM_ANNOTATION: &str = "sso-operator.dev/reclaim";
/// Set to "true" on a resource being deleted to remove its finalizer without waiting: an
/// `SsoConnectedApp` whose org is gone for good (Salesforce is not touched), or a `SalesforceOrg`
/// whose apps cannot be cleaned up.
pub const RELEASE_ANNOTATION: &str = "sso-operator.dev/release";
/// On the pod template of a `publish.rollout` workload: the SHA-256 of the metadata its pods were
/// started for. Changing it replaces the pods.
pub const ROLLOUT_ANNOTATION: &str = "sso-operator.dev/idp-metadata-sha256";

/// Both CRDs as one multi-document YAML stream, as `sso-operator crd` prints and `crds/` holds.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in [SalesforceOrg::crd(), SsoConnectedApp::crd()] {
        out.push_str("---\n");
        // Serialising a CRD built from our own types cannot fail: every value is plain data.
        out.push_str(&serde_norway::to_string(&crd).expect("CRD serialises to YAML"));
    }
    out
}
