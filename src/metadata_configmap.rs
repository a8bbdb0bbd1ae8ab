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

/// The one annotation the operator's ConfigMap cache keeps (set locally by [`slim_for_cache`],
/// never sent to the API server): a compact record of digests, which is all compare-before-write
/// needs. At ten thousand apps the documents, and even five annotations per ConfigMap, would be
/// a large part of the operator's memory.
const CACHE_RECORD: &str = "sso-operator.dev/cache";

/// The labels and annotations [`build`] sets. The cache keeps a digest of their values rather
/// than the maps (the watch selects on the label, so every cached ConfigMap carries it).
const OWN_LABELS: [&str; 1] = [MANAGED_BY_LABEL];
const OWN_ANNOTATIONS: [&str; 2] = [SHA256_ANNOTATION, NOT_AFTER_ANNOTATION];

/// What the cache knows of a ConfigMap's content: SHA-256 digests, kept in [`CACHE_RECORD`] as
/// `<content>[.<metadata>.<metadata without validUntil>]`, each unpadded base64url.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    /// `data` (keys and values) and the values of [`OWN_LABELS`] and [`OWN_ANNOTATIONS`].
    content: [u8; 32],
    /// `metadata.xml` exactly and without `validUntil` (none without a `metadata.xml`).
    metadata: Option<([u8; 32], [u8; 32])>,
}

impl Record {
    fn of(cm: &ConfigMap) -> Record {
        let mut h = Sha256::new();
        let mut part = |s: Option<&str>| match s {
            Some(s) => {
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        };
        // Length-prefixed, so no two ConfigMaps share the input.
        for (k, v) in cm.data.iter().flatten() {
            part(Some(k));
            part(Some(v));
        }
        part(None);
        for (keys, map) in [
            (&OWN_LABELS[..], &cm.metadata.labels),
            (&OWN_ANNOTATIONS[..], &cm.metadata.annotations),
        ] {
            for k in keys {
                part(map.as_ref().and_then(|m| m.get(*k)).map(String::as_str));
            }
        }
        let metadata = cm
            .data
            .as_ref()
            .and_then(|d| d.get("metadata.xml"))
            .map(|md| {
                (
                    Sha256::digest(md.as_bytes()).into(),
                    Sha256::digest(without_valid_until(md).as_bytes()).into(),
                )
            });
        Record {
            content: h.finalize().into(),
            metadata,
        }
    }

    fn encode(&self) -> String {
        use base64::Engine as _;
        let b64 = |d: &[u8; 32]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
        match &self.metadata {
            Some((md, stable)) => format!("{}.{}.{}", b64(&self.content), b64(md), b64(stable)),
            None => b64(&self.content),
        }
    }

    /// The record of a slimmed copy (none for a ConfigMap that did not go through the cache).
    fn read(cm: &ConfigMap) -> Option<Record> {
        use base64::Engine as _;
        let text = cm.metadata.annotations.as_ref()?.get(CACHE_RECORD)?;
        let decode = |s: &str| -> Option<[u8; 32]> {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .ok()?
                .try_into()
                .ok()
        };
        let mut parts = text.split('.');
        let content = decode(parts.next()?)?;
        let metadata = match (parts.next(), parts.next()) {
            (Some(md), Some(stable)) => Some((decode(md)?, decode(stable)?)),
            _ => None,
        };
        Some(Record { content, metadata })
    }
}

/// Shrinks a watched ConfigMap to what reconcile reads: name, namespace, uid, resourceVersion,
/// deletion and finalizers, the owner references (`foreign_controller`, the owner index), and the
/// digest record in place of `data`, `binaryData`, labels, annotations and managedFields.
pub fn slim_for_cache(cm: &mut ConfigMap) {
    *cm = slimmed(cm);
}

/// `cm` as the cache keeps it (see [`slim_for_cache`]); `data` is hashed, not copied.
pub fn slimmed(cm: &ConfigMap) -> ConfigMap {
    let m = &cm.metadata;
    ConfigMap {
        metadata: ObjectMeta {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            uid: m.uid.clone(),
            resource_version: m.resource_version.clone(),
            deletion_timestamp: m.deletion_timestamp.clone(),
            finalizers: m.finalizers.clone(),
            owner_references: m.owner_references.clone(),
            annotations: Some(BTreeMap::from([(
                CACHE_RECORD.to_string(),
                Record::of(cm).encode(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// For a cached (slimmed) ConfigMap whose `metadata.xml` differs from `xml` only in `validUntil`:
/// the SHA-256 (hex) of the published bytes, which are then kept (see [`without_valid_until`]).
pub fn only_valid_until_moved(cached: &ConfigMap, xml: &str) -> Option<String> {
    let (published, stable) = Record::read(cached)?.metadata?;
    (stable[..] == Sha256::digest(without_valid_until(xml).as_bytes())[..]
        && published[..] != Sha256::digest(xml.as_bytes())[..])
        .then(|| hex::encode(published))
}

/// Whether `cached` holds every owner reference of `wanted` (by uid).
fn has_owners(cached: &ConfigMap, wanted: &ConfigMap) -> bool {
    wanted
        .owner_references()
        .iter()
        .all(|o| cached.owner_references().iter().any(|e| e.uid == o.uid))
}

/// What the operator remembers of a ConfigMap it published (kept per app between reconciles):
/// where it is, its content digest and its owners, enough to tell whether the cluster still
/// holds it. A few hundred bytes, where a slimmed copy held an annotation map (a 500-byte B-tree
/// node) and the whole metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub namespace: String,
    pub name: String,
    content: [u8; 32],
    /// uids of its owner references.
    owners: Vec<String>,
}

impl Published {
    /// The record of `cm`, as built to be applied or as the watch cache keeps it (slimmed).
    pub fn of(cm: &ConfigMap) -> Published {
        let record = Record::read(cm).unwrap_or_else(|| Record::of(cm));
        Published {
            namespace: cm.namespace().unwrap_or_default(),
            name: cm.name_any(),
            content: record.content,
            owners: cm
                .owner_references()
                .iter()
                .map(|o| o.uid.clone())
                .collect(),
        }
    }

    /// Whether `cached` (a slimmed copy from the watch cache) still carries everything that was
    /// published: data, the operator's labels and annotations (by digest), and owners.
    pub fn matches(&self, cached: &ConfigMap) -> bool {
        Record::read(cached).is_some_and(|c| c.content == self.content)
            && self
                .owners
                .iter()
                .all(|uid| cached.owner_references().iter().any(|o| &o.uid == uid))
    }
}

/// Whether `cached` (a slimmed copy from the watch cache) already carries everything `desired`
/// sets (data, labels, annotations, owner), so applying `desired` would change nothing.
pub fn up_to_date(cached: &ConfigMap, desired: &ConfigMap) -> bool {
    Record::read(cached).is_some_and(|c| c.content == Record::of(desired).content)
        && has_owners(cached, desired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, OwnerReference};

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

    /// A ConfigMap as `build` makes it (the operator's label and annotations, an owner).
    fn cm(xml: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("m".into()),
                namespace: Some("ns".into()),
                uid: Some("cm-uid".into()),
                resource_version: Some("7".into()),
                labels: Some(BTreeMap::from([(
                    MANAGED_BY_LABEL.into(),
                    MANAGED_BY.into(),
                )])),
                annotations: Some(BTreeMap::from([
                    (SHA256_ANNOTATION.into(), sha256_hex(xml.as_bytes())),
                    (NOT_AFTER_ANNOTATION.into(), "2030-01-01T00:00:00Z".into()),
                ])),
                owner_references: Some(vec![OwnerReference {
                    api_version: "sso-operator.dev/v1alpha1".into(),
                    kind: "SsoConnectedApp".into(),
                    name: "app".into(),
                    uid: "app-uid".into(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                ..Default::default()
            },
            data: Some(BTreeMap::from([
                ("metadata.xml".into(), xml.into()),
                ("entity-id".into(), "x".into()),
            ])),
            ..Default::default()
        }
    }

    const A: &str = r#"<E validUntil="2036-01-01T00:00:00.000Z"><a/></E>"#;
    const B: &str = r#"<E validUntil="2036-01-02T00:00:00.123Z"><a/></E>"#;

    /// As the watch delivers it: with managedFields and someone else's label and annotation.
    fn live(xml: &str) -> ConfigMap {
        let mut c = cm(xml);
        c.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("sso-operator".into()),
            ..Default::default()
        }]);
        c.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("team".into(), "voice".into());
        c.metadata.annotations.as_mut().unwrap().insert(
            "kubectl.kubernetes.io/last-applied-configuration".into(),
            "{...}".into(),
        );
        c
    }

    #[test]
    fn the_cache_keeps_one_record_and_what_reconcile_reads() {
        let mut cached = live(A);
        slim_for_cache(&mut cached);
        assert!(cached.data.is_none() && cached.binary_data.is_none());
        assert!(cached.metadata.labels.is_none());
        assert!(cached.metadata.managed_fields.is_none());
        let annotations = cached.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            vec![CACHE_RECORD],
            "one record in place of the data and the five digests"
        );
        assert!(annotations[CACHE_RECORD].len() <= 3 * 43 + 2);
        // What the store, the owner index and foreign_controller read.
        assert_eq!(cached.name_any(), "m");
        assert_eq!(cached.namespace().as_deref(), Some("ns"));
        assert_eq!(cached.uid().as_deref(), Some("cm-uid"));
        assert_eq!(cached.resource_version().as_deref(), Some("7"));
        let o = &cached.owner_references()[0];
        assert_eq!(
            (
                o.kind.as_str(),
                o.name.as_str(),
                o.uid.as_str(),
                o.controller
            ),
            ("SsoConnectedApp", "app", "app-uid", Some(true))
        );
        assert_eq!(
            o.api_version, "sso-operator.dev/v1alpha1",
            "owns() maps by kind and apiVersion"
        );
        assert_eq!(
            slimmed(&live(A)),
            cached,
            "slimmed and slim_for_cache agree"
        );
    }

    #[test]
    fn the_record_answers_compare_before_write() {
        let cached = slimmed(&live(A));
        assert!(
            up_to_date(&cached, &cm(A)),
            "someone else's label and annotation do not count"
        );
        assert!(Published::of(&cm(A)).matches(&cached));
        assert!(
            Published::of(&slimmed(&cm(A))).matches(&cached),
            "from a slimmed copy too"
        );
        assert!(!up_to_date(&cached, &cm(B)), "any byte of data counts");
        assert!(!Published::of(&cm(B)).matches(&cached));

        let mut edited = live(A);
        edited
            .data
            .as_mut()
            .unwrap()
            .insert("extra".into(), String::new());
        assert!(
            !up_to_date(&slimmed(&edited), &cm(A)),
            "an added key counts"
        );

        for (what, label, key) in [
            ("the managed-by label", true, MANAGED_BY_LABEL),
            ("the digest annotation", false, SHA256_ANNOTATION),
            ("the not-after annotation", false, NOT_AFTER_ANNOTATION),
        ] {
            for value in [None, Some("other")] {
                let mut c = live(A);
                let map = match label {
                    true => c.metadata.labels.as_mut().unwrap(),
                    false => c.metadata.annotations.as_mut().unwrap(),
                };
                match value {
                    None => map.remove(key),
                    Some(v) => map.insert(key.into(), v.into()),
                };
                assert!(
                    !up_to_date(&slimmed(&c), &cm(A)),
                    "{what} set to {value:?} counts"
                );
            }
        }

        let mut orphan = live(A);
        orphan.metadata.owner_references = None;
        assert!(!up_to_date(&slimmed(&orphan), &cm(A)), "the owner counts");
        assert!(!Published::of(&cm(A)).matches(&slimmed(&orphan)));

        assert!(
            !up_to_date(&live(A), &cm(A)),
            "a copy without the record never matches"
        );
    }

    #[test]
    fn the_record_tells_a_valid_until_move() {
        let cached = slimmed(&live(A));
        assert_eq!(
            only_valid_until_moved(&cached, B),
            Some(sha256_hex(A.as_bytes()))
        );
        assert_eq!(only_valid_until_moved(&cached, A), None, "nothing moved");
        assert_eq!(only_valid_until_moved(&cached, "<E><b/></E>"), None);
        let mut no_xml = live(A);
        no_xml.data.as_mut().unwrap().remove("metadata.xml");
        assert_eq!(only_valid_until_moved(&slimmed(&no_xml), B), None);
    }

    #[test]
    fn the_record_covers_every_label_and_annotation_build_sets() {
        let app = crate::controller::fixtures::test_app();
        let cert = CertInfo {
            pem: "PEM".into(),
            not_after: "2030-01-01T00:00:00Z".parse().unwrap(),
            sha256_fingerprint: String::new(),
            subject: String::new(),
        };
        let md = IdpMetadata {
            xml: A.into(),
            entity_id: "x".into(),
            sso_post: Some("https://idp/post".into()),
            sso_redirect: None,
            slo: None,
            name_id_formats: vec![],
            signing_certificates: vec![],
            valid_until: None,
        };
        let built = build(&app, &md, &cert, None);
        for k in built.labels().keys() {
            assert!(
                OWN_LABELS.contains(&k.as_str()),
                "label {k} is not in the record"
            );
        }
        for k in built.annotations().keys() {
            assert!(
                OWN_ANNOTATIONS.contains(&k.as_str()),
                "annotation {k} is not in the record"
            );
        }
        assert!(up_to_date(&slimmed(&built), &built));
        let other = CertInfo {
            not_after: "2031-01-01T00:00:00Z".parse().unwrap(),
            ..cert.clone()
        };
        assert!(!up_to_date(
            &slimmed(&built),
            &build(&app, &md, &other, None)
        ));
    }
}
