//! Status writes: server-side apply with the operator's one field manager, and only when the
//! status actually changed (a no-op reconcile writes nothing).

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::Context;
use crate::api::MANAGER;
use crate::error::Error;

/// Applies `new` as the status of `obj` unless it equals `old`. Returns whether it wrote.
pub async fn write_if_changed<K, S>(
    ctx: &Context,
    obj: &K,
    old: Option<&S>,
    new: &S,
) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if old == Some(new) {
        return Ok(false);
    }
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(|source| Error::PatchStatus {
        kind: kind_name::<K>(),
        namespace: ns,
        name,
        source,
    })?;
    ctx.metrics.count_write(match kind_name::<K>() {
        "SalesforceOrg" => "salesforceorg_status",
        _ => "ssoconnectedapp_status",
    });
    Ok(true)
}

fn kind_name<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()).as_ref() {
        "SalesforceOrg" => "SalesforceOrg",
        _ => "SsoConnectedApp",
    }
}

/// Now, as a Kubernetes timestamp.
pub fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now())
}
