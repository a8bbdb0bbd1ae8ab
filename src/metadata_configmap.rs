//! The published ConfigMap: what telephony pods mount. Built as a pure function of the resource and
//! the IdP metadata, so "did anything change?" is a plain comparison of two values.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use crate::api::SsoConnectedApp;
use crate::salesforce::{CertInfo, IdpMetadata};

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "sso-operator";
pub const APP_LABEL: &str = "sso-operator.dev/app";
pub const SHA256_ANNOTATION: &str = "sso-operator.dev/metadata-sha256";
pub const NOT_AFTER_ANNOTATION: &str = "sso-operator.dev/certificate-not-after";

/// Hex SHA-256 of the metadata bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The metadata with its `validUntil` attributes removed. Salesforce stamps `validUntil` at download
/// time, so two downloads of unchanged metadata can differ only there; republishing (and rolling
/// every telephony pod) for that would be churn.
pub fn without_valid_until(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(" validUntil=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " validUntil=\"".len()..];
        match after.find('"') {
            Some(j) => rest = &after[j + 1..],
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The ConfigMap for `app`, publishing `metadata` and the signing certificate `cert`.
pub fn build(app: &SsoConnectedApp, metadata: &IdpMetadata, cert: &CertInfo) -> ConfigMap {
    let mut data = BTreeMap::new();
    data.insert("metadata.xml".to_string(), metadata.xml.clone());
    data.insert("certificate.pem".to_string(), cert.pem.clone());
    data.insert("entity-id".to_string(), metadata.entity_id.clone());
    if let Some(u) = &metadata.sso_post {
        data.insert("sso-url-post".to_string(), u.clone());
    }
    if let Some(u) = &metadata.sso_redirect {
        data.insert("sso-url-redirect".to_string(), u.clone());
    }
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (APP_LABEL.to_string(), app.name_any()),
    ]);
    let annotations = BTreeMap::from([
        (
            SHA256_ANNOTATION.to_string(),
            sha256_hex(metadata.xml.as_bytes()),
        ),
        (NOT_AFTER_ANNOTATION.to_string(), cert.not_after.to_string()),
    ]);
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(app.config_map_name()),
            namespace: app.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: app.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    }
}

/// Whether `existing` already carries everything `desired` sets (data, labels, annotations, owner),
/// so applying `desired` would change nothing.
pub fn up_to_date(existing: &ConfigMap, desired: &ConfigMap) -> bool {
    let contains = |have: &Option<BTreeMap<String, String>>,
                    want: &Option<BTreeMap<String, String>>| {
        let have = have.clone().unwrap_or_default();
        want.iter().flatten().all(|(k, v)| have.get(k) == Some(v))
    };
    existing.data == desired.data
        && contains(&existing.metadata.labels, &desired.metadata.labels)
        && contains(
            &existing.metadata.annotations,
            &desired.metadata.annotations,
        )
        && desired.metadata.owner_references.iter().flatten().all(|o| {
            existing
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|e| e.uid == o.uid)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_until_is_the_only_thing_ignored() {
        let a = r#"<md:EntityDescriptor entityID="x" validUntil="2036-01-01T00:00:00.000Z"><a/></md:EntityDescriptor>"#;
        let b = r#"<md:EntityDescriptor entityID="x" validUntil="2036-01-02T00:00:00.000Z"><a/></md:EntityDescriptor>"#;
        let c = r#"<md:EntityDescriptor entityID="y" validUntil="2036-01-01T00:00:00.000Z"><a/></md:EntityDescriptor>"#;
        assert_eq!(without_valid_until(a), without_valid_until(b));
        assert_ne!(without_valid_until(a), without_valid_until(c));
        assert_eq!(
            without_valid_until(a),
            r#"<md:EntityDescriptor entityID="x"><a/></md:EntityDescriptor>"#
        );
    }
}
