//! Stage: the app's IdP metadata from the org's My Domain, checked against the spec (issuer) and
//! against the org's IdP certificate (the metadata must be signed with it; a rotation seen here
//! before the snapshot knows it triggers one fresh look at the IdP). Skipped when nothing that
//! decides the document moved since the last download (`download.rs`).

pub use super::download::MetadataSource;
use super::download::{self, LastPublish};
use super::inputs::Inputs;
use crate::api::app::AppType;
use crate::api::conditions::{Desired, reasons, types};
use crate::controller::idp_cache::IdpSnapshot;
use crate::controller::org_api::OrgApi;
use crate::controller::registry::OrgHandle;
use crate::controller::rotation::KeyRole;
use crate::error::Error;
use crate::salesforce::{CertInfo, IdpMetadata, ReadPriority, SalesforceError};

// One value per reconcile, moved rarely: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum MetadataOutcome {
    /// The metadata, the signing certificate in it that the org's IdP uses, and the IdP snapshot
    /// that certificate was matched against.
    Fetched {
        metadata: IdpMetadata,
        certificate: CertInfo,
        idp: IdpSnapshot,
        source: MetadataSource,
        /// A planned rotation's second key, published beside the current one.
        extra: Option<(CertInfo, KeyRole)>,
        /// The digest of the inputs this download was made under (`download::inputs_key`).
        key: u64,
    },
    /// The metadata's entity id is not the issuer the spec asks for.
    IssuerMismatch {
        entity_id: String,
        issuer: String,
    },
    /// Nothing that decides the document moved since the last download: what was published
    /// stands, no download.
    Unchanged(LastPublish),
    Failed(Error),
}

/// The app's metadata, or for an External Client App without its own document (404), the org's.
async fn fetch_document(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Result<(IdpMetadata, MetadataSource), SalesforceError> {
    match org.api.fetch_app_metadata(input.api_name()).await {
        Ok(md) => Ok((md, MetadataSource::App)),
        Err(SalesforceError::NotFound { .. })
            if input.spec.app.type_ == AppType::ExternalClientApp =>
        {
            let md = org.api.fetch_org_metadata().await?;
            Ok((md, MetadataSource::Org))
        }
        Err(e) => Err(e),
    }
}

pub async fn fetch(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
    snapshot: IdpSnapshot,
    app_in_sync: bool,
) -> MetadataOutcome {
    let key = download::inputs_key(&snapshot, input.org_idp.as_ref());
    if let Some(previous) = input
        .previous
        .as_ref()
        .filter(|p| app_in_sync && p.download.key == key)
    {
        return MetadataOutcome::Unchanged(previous.clone());
    }
    let (metadata, source) = match fetch_document(org, input).await {
        Ok(v) => v,
        Err(e) => return MetadataOutcome::Failed(Error::FetchIdpMetadata(e)),
    };
    if let Some(issuer) = &input.spec.saml.issuer
        && &metadata.entity_id != issuer
    {
        return MetadataOutcome::IssuerMismatch {
            entity_id: metadata.entity_id,
            issuer: issuer.clone(),
        };
    }
    let mut idp = snapshot;
    let mut certificate = signing_certificate(&metadata, &idp);
    if certificate.is_none() && idp.fingerprint.is_some() {
        // The certificate may have been rotated since the snapshot was taken: look again once.
        org.idp.invalidate().await;
        match org
            .idp
            .get(&org.api, input.refresh, ReadPriority::Required)
            .await
        {
            Ok(s) => {
                idp = s;
                certificate = signing_certificate(&metadata, &idp);
            }
            Err(e) => return MetadataOutcome::Failed(Error::ConfigureIdentityProvider(e)),
        }
    }
    let extra = match second_key(org, input).await {
        Ok(extra) => extra,
        Err(e) => return MetadataOutcome::Failed(e),
    };
    match certificate {
        Some(certificate) => MetadataOutcome::Fetched {
            key: download::inputs_key(&idp, input.org_idp.as_ref()),
            metadata,
            certificate,
            idp,
            source,
            extra,
        },
        None => MetadataOutcome::Failed(Error::MetadataNotSignedByIdp {
            certificate: idp.certificate.unwrap_or_else(|| "?".into()),
            fingerprint: idp.fingerprint.unwrap_or_else(|| "?".into()),
        }),
    }
}

/// The second key a planned rotation publishes (the next certificate before the switch, the
/// previous one for the grace period after it), from the org's shared certificate cache.
async fn second_key(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Result<Option<(CertInfo, KeyRole)>, Error> {
    let Some((name, role)) = input.org_idp.as_ref().and_then(|v| v.extra.clone()) else {
        return Ok(None);
    };
    match org.certificates.get(&org.api, &name, input.refresh).await {
        Ok(Some(cert)) => Ok(Some((cert, role))),
        Ok(None) => Err(Error::RotationCertificateUnreadable { name }),
        Err(e) => Err(Error::ConfigureIdentityProvider(e)),
    }
}

/// The metadata's signing certificate that the IdP snapshot names (the first one when the org
/// did not return the certificate's content).
fn signing_certificate(md: &IdpMetadata, idp: &IdpSnapshot) -> Option<CertInfo> {
    match &idp.fingerprint {
        Some(fp) => md
            .signing_certificates
            .iter()
            .find(|c| &c.sha256_fingerprint == fp)
            .cloned(),
        None => md.signing_certificates.first().cloned(),
    }
}

impl MetadataOutcome {
    /// The `MetadataPublished` condition when this stage did not get as far as publishing.
    pub fn condition(&self) -> Option<Desired> {
        let t = types::METADATA_PUBLISHED;
        match self {
            MetadataOutcome::Fetched { .. } | MetadataOutcome::Unchanged(_) => None,
            MetadataOutcome::IssuerMismatch { entity_id, issuer } => Some(Desired::new(
                t,
                false,
                reasons::METADATA_INVALID,
                format!(
                    "metadata entityID {entity_id} is not the issuer {issuer} the spec asks for"
                ),
            )),
            MetadataOutcome::Failed(e) => Some(e.condition(t)),
        }
    }
}
