//! The published ConfigMap: what telephony pods mount. Built as a pure function of the resource and
//! the IdP metadata, so "did anything change?" is a plain comparison of two values.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use crate::api::SsoConnectedApp;
use crate::api::shared_str::SharedStr;
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

/// The labels and annotations [`build`] sets. The cache keeps a digest of their values rather
/// than the maps (the watch selects on the label, so every cached ConfigMap carries it).
const OWN_LABELS: [&str; 1] = [MANAGED_BY_LABEL];
const OWN_ANNOTATIONS: [&str; 2] = [SHA256_ANNOTATION, NOT_AFTER_ANNOTATION];

/// What the cache knows of a ConfigMap's content: SHA-256 digests.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    /// `data` (keys and values) and the values of [`OWN_LABELS`] and [`OWN_ANNOTATIONS`].
    content: [u8; 32],
    /// `metadata.xml` exactly and without `validUntil` (none without a `metadata.xml`).
    metadata: Option<([u8; 32], [u8; 32])>,
}

impl Record {
    /// The digest of `data` (keys and values) and of the values of [`OWN_LABELS`] and
    /// [`OWN_ANNOTATIONS`].
    fn content(cm: &ConfigMap) -> [u8; 32] {
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
        h.finalize().into()
    }

    fn of(cm: &ConfigMap) -> Record {
        let content = Record::content(cm);
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
        Record { content, metadata }
    }
}

/// What the operator keeps of a ConfigMap it watches (those labelled as its own): the digests of
/// its content and its owner references; about 300 bytes, where even a slimmed `ConfigMap` (an
/// annotation map is a 500-byte B-tree node) took a kilobyte. At ten thousand apps the documents,
/// or the five annotations, would be a large part of the operator's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedConfigMap {
    record: Record,
    owners: Vec<CachedOwner>,
}

/// An owner reference, as far as the operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedOwner {
    /// Shared with the index of ConfigMaps by controller.
    pub uid: SharedStr,
    pub controller: bool,
    pub kind: SharedStr,
    pub name: String,
}

impl CachedConfigMap {
    /// What the cache keeps of `cm`; `data` is hashed, not copied.
    pub fn of(cm: &ConfigMap) -> CachedConfigMap {
        CachedConfigMap {
            record: Record::of(cm),
            owners: cm
                .owner_references()
                .iter()
                .map(|o| CachedOwner {
                    uid: o.uid.as_str().into(),
                    controller: o.controller == Some(true),
                    kind: o.kind.as_str().into(),
                    name: o.name.clone(),
                })
                .collect(),
        }
    }

    /// The owner reference marked as controller, if any.
    pub fn controller(&self) -> Option<&CachedOwner> {
        self.owners.iter().find(|o| o.controller)
    }

    /// Whether it holds every owner reference of `wanted` (by uid).
    fn has_owners<'a>(&self, mut wanted: impl Iterator<Item = &'a str>) -> bool {
        wanted.all(|uid| self.owners.iter().any(|o| o.uid == uid))
    }

    /// When its `metadata.xml` differs from `xml` only in `validUntil`: the SHA-256 (hex) of the
    /// published bytes, which are then kept (see [`without_valid_until`]).
    pub fn only_valid_until_moved(&self, xml: &str) -> Option<String> {
        let (published, stable) = self.record.metadata?;
        (stable[..] == Sha256::digest(without_valid_until(xml).as_bytes())[..]
            && published[..] != Sha256::digest(xml.as_bytes())[..])
            .then(|| hex::encode(published))
    }
}

/// What the operator remembers of a ConfigMap it published (kept per app between reconciles):
/// where it is, its content digest and its owners, enough to tell whether the cluster still
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub namespace: SharedStr,
    pub name: String,
    content: [u8; 32],
    /// uids of its owner references.
    owners: Vec<SharedStr>,
}

impl Published {
    /// The record of `cm` as built to be applied.
    pub fn of(cm: &ConfigMap) -> Published {
        Published {
            namespace: cm.namespace().unwrap_or_default().into(),
            name: cm.name_any(),
            content: Record::content(cm),
            owners: cm
                .owner_references()
                .iter()
                .map(|o| SharedStr::from(&o.uid))
                .collect(),
        }
    }

    /// The record of ConfigMap `namespace/name` as the cache holds it.
    pub fn cached(namespace: &str, name: &str, cm: &CachedConfigMap) -> Published {
        Published {
            namespace: namespace.into(),
            name: name.to_string(),
            content: cm.record.content,
            owners: cm.owners.iter().map(|o| o.uid.clone()).collect(),
        }
    }

    /// Whether `cached` carries everything this sets (data, the operator's labels and
    /// annotations, by digest; owners): still holds what was published, or applying it would
    /// change nothing.
    pub fn matches(&self, cached: &CachedConfigMap) -> bool {
        cached.record.content == self.content
            && cached.has_owners(self.owners.iter().map(SharedStr::as_str))
    }
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
    fn the_cache_keeps_digests_and_owners() {
        let cached = CachedConfigMap::of(&live(A));
        let o = cached.controller().expect("a controller");
        assert_eq!(
            (o.kind.as_str(), o.name.as_str(), o.uid.as_str()),
            ("SsoConnectedApp", "app", "app-uid")
        );
        let mut other = live(A);
        other.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        assert!(CachedConfigMap::of(&other).controller().is_none());
    }

    #[test]
    fn the_record_answers_compare_before_write() {
        let up_to_date = |c: &ConfigMap, desired: &ConfigMap| {
            Published::of(desired).matches(&CachedConfigMap::of(c))
        };
        let cached = CachedConfigMap::of(&live(A));
        assert!(
            up_to_date(&live(A), &cm(A)),
            "someone else's label and annotation do not count"
        );
        assert!(Published::of(&cm(A)).matches(&cached));
        assert!(
            Published::cached("ns", "m", &cached).matches(&cached),
            "from the cache's record too"
        );
        assert_eq!(Published::cached("ns", "m", &cached), Published::of(&cm(A)));
        assert!(!up_to_date(&live(A), &cm(B)), "any byte of data counts");
        assert!(!Published::of(&cm(B)).matches(&cached));

        let mut edited = live(A);
        edited
            .data
            .as_mut()
            .unwrap()
            .insert("extra".into(), String::new());
        assert!(!up_to_date(&edited, &cm(A)), "an added key counts");

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
                assert!(!up_to_date(&c, &cm(A)), "{what} set to {value:?} counts");
            }
        }

        let mut orphan = live(A);
        orphan.metadata.owner_references = None;
        assert!(!up_to_date(&orphan, &cm(A)), "the owner counts");
        assert!(!Published::of(&cm(A)).matches(&CachedConfigMap::of(&orphan)));
    }

    #[test]
    fn the_record_tells_a_valid_until_move() {
        let cached = CachedConfigMap::of(&live(A));
        assert_eq!(
            cached.only_valid_until_moved(B),
            Some(sha256_hex(A.as_bytes()))
        );
        assert_eq!(cached.only_valid_until_moved(A), None, "nothing moved");
        assert_eq!(cached.only_valid_until_moved("<E><b/></E>"), None);
        let mut no_xml = live(A);
        no_xml.data.as_mut().unwrap().remove("metadata.xml");
        assert_eq!(CachedConfigMap::of(&no_xml).only_valid_until_moved(B), None);
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
        assert!(Published::of(&built).matches(&CachedConfigMap::of(&built)));
        let other = CertInfo {
            not_after: "2031-01-01T00:00:00Z".parse().unwrap(),
            ..cert.clone()
        };
        assert!(
            !Published::of(&build(&app, &md, &other, None)).matches(&CachedConfigMap::of(&built))
        );
    }
}
