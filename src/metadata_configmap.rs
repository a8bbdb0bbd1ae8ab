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

/// `xml` (IdP metadata as Salesforce serves it) with a second signing key after its own: a copy of
/// its last `KeyDescriptor use="signing"` carrying `second` instead. Everything else stays byte
/// for byte as served, so a service provider sees exactly Salesforce's metadata plus one key.
pub fn with_second_signing_key(xml: &str, second: &CertInfo) -> Result<String, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let descriptor = doc
        .descendants()
        .rfind(|n| n.has_tag_name("KeyDescriptor") && n.attribute("use") != Some("encryption"))
        .ok_or("no signing KeyDescriptor")?;
    let certificate = descriptor
        .descendants()
        .find(|n| n.has_tag_name("X509Certificate"))
        .and_then(|n| n.first_child().filter(|t| t.is_text()))
        .ok_or("no X509Certificate in the signing KeyDescriptor")?;
    let (outer, text) = (descriptor.range(), certificate.range());
    let body: String = second
        .pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // The whitespace before the descriptor, so the copy is indented like the original.
    let indent_start = xml[..outer.start]
        .rfind(|c: char| !c.is_whitespace())
        .map_or(0, |i| i + 1);
    let mut out = String::with_capacity(xml.len() + outer.len());
    out.push_str(&xml[..outer.end]);
    out.push_str(&xml[indent_start..outer.start]);
    out.push_str(&xml[outer.start..text.start]);
    out.push_str(&body);
    out.push_str(&xml[text.end..outer.end]);
    out.push_str(&xml[outer.end..]);
    Ok(out)
}

/// The ConfigMap for `app`, publishing `metadata` and the signing certificate `cert`, and a
/// rotation's second certificate under its own key (`next-certificate.pem`, ...).
pub fn build(
    app: &SsoConnectedApp,
    metadata: &IdpMetadata,
    cert: &CertInfo,
    second: Option<(&CertInfo, &str)>,
) -> ConfigMap {
    let mut data = BTreeMap::new();
    data.insert("metadata.xml".to_string(), metadata.xml.clone());
    data.insert("certificate.pem".to_string(), cert.pem.clone());
    if let Some((c, key)) = second {
        data.insert(key.to_string(), c.pem.clone());
    }
    data.insert("entity-id".to_string(), metadata.entity_id.clone());
    if let Some(u) = &metadata.sso_post {
        data.insert("sso-url-post".to_string(), u.clone());
    }
    if let Some(u) = &metadata.sso_redirect {
        data.insert("sso-url-redirect".to_string(), u.clone());
    }
    // No resource name in a label value: names run to 253 characters, label values to 63. The
    // owner reference says whose it is.
    let labels = BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string())]);
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

/// Annotations the operator's ConfigMap cache keeps in place of `data` (set locally by
/// [`slim_for_cache`], never sent to the API server): digests are all compare-before-write needs,
/// and at a thousand apps the metadata documents would be most of the operator's memory.
const CACHED_DATA_SHA: &str = "sso-operator.dev/cached-data-sha256";
const CACHED_METADATA_SHA: &str = "sso-operator.dev/cached-metadata-sha256";
const CACHED_METADATA_STABLE_SHA: &str = "sso-operator.dev/cached-metadata-stable-sha256";

/// Digest of a ConfigMap's `data` (keys and values, length-prefixed so no two maps collide).
fn data_digest(data: Option<&BTreeMap<String, String>>) -> String {
    let mut h = Sha256::new();
    for (k, v) in data.into_iter().flatten() {
        for part in [k, v] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// Shrinks a watched ConfigMap to what the cache needs: metadata without managedFields, and
/// digests of `data` (whole, and of `metadata.xml` exact and without `validUntil`).
pub fn slim_for_cache(cm: &mut ConfigMap) {
    let data = cm.data.take();
    let md = data.as_ref().and_then(|d| d.get("metadata.xml"));
    let mut digests = vec![(CACHED_DATA_SHA, data_digest(data.as_ref()))];
    if let Some(md) = md {
        digests.push((CACHED_METADATA_SHA, sha256_hex(md.as_bytes())));
        digests.push((
            CACHED_METADATA_STABLE_SHA,
            sha256_hex(without_valid_until(md).as_bytes()),
        ));
    }
    let annotations = cm.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in digests {
        annotations.insert(k.to_string(), v);
    }
    cm.metadata.managed_fields = None;
    cm.binary_data = None;
}

/// For a cached (slimmed) ConfigMap whose `metadata.xml` differs from `xml` only in `validUntil`:
/// the SHA-256 of the published bytes, which are then kept (see [`without_valid_until`]).
pub fn only_valid_until_moved<'a>(cached: &'a ConfigMap, xml: &str) -> Option<&'a str> {
    let a = cached.metadata.annotations.as_ref()?;
    let published = a.get(CACHED_METADATA_SHA)?;
    (a.get(CACHED_METADATA_STABLE_SHA)? == &sha256_hex(without_valid_until(xml).as_bytes())
        && published != &sha256_hex(xml.as_bytes()))
        .then_some(published.as_str())
}

/// `cm` as the cache keeps it (see [`slim_for_cache`]).
pub fn slimmed(cm: &ConfigMap) -> ConfigMap {
    let mut c = cm.clone();
    slim_for_cache(&mut c);
    c
}

/// Whether `cached` (a slimmed copy from the watch cache) still carries everything of
/// `published` (slimmed too): data (by digest), labels, annotations and owner.
pub fn matches_published(cached: &ConfigMap, published: &ConfigMap) -> bool {
    let contains = |have: &Option<BTreeMap<String, String>>,
                    want: &Option<BTreeMap<String, String>>| {
        let have = have.clone().unwrap_or_default();
        want.iter().flatten().all(|(k, v)| have.get(k) == Some(v))
    };
    contains(&cached.metadata.labels, &published.metadata.labels)
        && contains(
            &cached.metadata.annotations,
            &published.metadata.annotations,
        )
        && published
            .metadata
            .owner_references
            .iter()
            .flatten()
            .all(|o| {
                cached
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|e| e.uid == o.uid)
            })
}

/// Whether `cached` (a slimmed copy from the watch cache) already carries everything `desired`
/// sets (data, labels, annotations, owner), so applying `desired` would change nothing.
pub fn up_to_date(cached: &ConfigMap, desired: &ConfigMap) -> bool {
    matches_published(cached, &slimmed(desired))
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

    fn cm(xml: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("m".into()),
                labels: Some(BTreeMap::from([("a".into(), "b".into())])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([
                ("metadata.xml".into(), xml.into()),
                ("entity-id".into(), "x".into()),
            ])),
            ..Default::default()
        }
    }

    #[test]
    fn the_slim_cache_copy_answers_compare_before_write() {
        let a = r#"<E validUntil="2036-01-01T00:00:00.000Z"><a/></E>"#;
        let b = r#"<E validUntil="2036-01-02T00:00:00.000Z"><a/></E>"#;
        let mut cached = cm(a);
        slim_for_cache(&mut cached);
        assert!(cached.data.is_none());
        assert!(up_to_date(&cached, &cm(a)));
        assert!(!up_to_date(&cached, &cm(b)), "any byte of data counts");
        let mut edited = cm(a);
        edited
            .data
            .as_mut()
            .unwrap()
            .insert("extra".into(), String::new());
        slim_for_cache(&mut edited);
        assert!(!up_to_date(&edited, &cm(a)), "an added key counts");
        assert_eq!(
            only_valid_until_moved(&cached, b),
            Some(sha256_hex(a.as_bytes()).as_str())
        );
        assert_eq!(only_valid_until_moved(&cached, a), None, "nothing moved");
        assert_eq!(only_valid_until_moved(&cached, "<E><b/></E>"), None);
    }
}
