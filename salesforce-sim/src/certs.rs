//! Certificates: the org's self-signed certificates, shaped like the ones Salesforce generates
//! in Setup > Certificate and Key Management (salesforce-api.md §3.4: RSA 2048/4096,
//! sha256WithRSA, `OU=<15-char org id>, O=Salesforce.com`), the RSA key of a JWT client's
//! certificate, and the key pair a test registers as a JWT client. The org keeps each
//! certificate's private key: the IdP certificate's key signs SAML responses (`saml/`).

use jiff::Timestamp;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, PublicKeyData,
    RsaKeySize, SerialNumber,
};
use sha2::{Digest, Sha256};

use crate::org_file::CertSpec;

/// A certificate of the org, with the key pair the org holds for it.
#[derive(Debug, Clone)]
pub struct OrgCertificate {
    pub id: String,
    pub name: String,
    pub master_label: String,
    pub key_size: u32,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub der: Vec<u8>,
    pub pem: String,
    /// SubjectPublicKeyInfo DER of the key pair the simulator holds (not parsed from the cert).
    pub key_spki: Vec<u8>,
    /// The private key (what signs SAML responses while this is the IdP certificate).
    pub key: PrivateKey,
    pub created: Timestamp,
}

/// A private key as PKCS#8 DER; `Debug` does not print it.
#[derive(Clone)]
pub struct PrivateKey(pub Vec<u8>);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl OrgCertificate {
    /// Generate a self-signed certificate as Salesforce does: RSA 2048/4096, sha256WithRSA,
    /// subject `CN=<name>, OU=<15-char org id>, O=Salesforce.com, L=San Francisco, ST=CA, C=USA`,
    /// notBefore = creation, notAfter = expiresAt (default creation + 1 y for 2048, 2 y for 4096,
    /// at 00:00:00Z).
    pub fn generate(
        spec: &CertSpec,
        org_id15: &str,
        now: Timestamp,
        id: String,
    ) -> Result<Self, String> {
        let size = match spec.key_size {
            2048 => RsaKeySize::_2048,
            4096 => RsaKeySize::_4096,
            other => {
                return Err(format!(
                    "certificate {}: keySize {other} (2048|4096)",
                    spec.name
                ));
            }
        };
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size)
            .map_err(|e| format!("certificate {}: key generation: {e}", spec.name))?;
        let not_after = match spec.expires_at {
            Some(t) => t,
            None => {
                let years = if spec.key_size == 4096 { 2 } else { 1 };
                let day = now
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date()
                    .checked_add(jiff::Span::new().years(years))
                    .map_err(|e| e.to_string())?;
                day.to_zoned(jiff::tz::TimeZone::UTC)
                    .map_err(|e| e.to_string())?
                    .timestamp()
            }
        };
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, spec.name.as_str());
        dn.push(DnType::OrganizationalUnitName, org_id15);
        dn.push(DnType::OrganizationName, "Salesforce.com");
        dn.push(DnType::LocalityName, "San Francisco");
        dn.push(DnType::StateOrProvinceName, "CA");
        dn.push(DnType::CountryName, "USA");
        params.distinguished_name = dn;
        set_validity(&mut params, now, not_after)?;
        let mut serial = [0u8; 14];
        rand::fill(&mut serial);
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("certificate {}: {e}", spec.name))?;
        Ok(Self {
            id,
            name: spec.name.clone(),
            master_label: spec
                .master_label
                .clone()
                .unwrap_or_else(|| spec.name.replace('_', " ")),
            key_size: spec.key_size,
            not_before: now,
            not_after,
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_spki: key.subject_public_key_info(),
            key: PrivateKey(key.serialize_der()),
            created: now,
        })
    }

    pub fn sha256_fingerprint(&self) -> String {
        colon_hex(&Sha256::digest(&self.der))
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Set notBefore/notAfter. rcgen takes `time::OffsetDateTime`, which we build from its
/// `date_time_ymd` helper plus the seconds of the day (so the `time` crate is not needed).
pub fn set_validity(
    params: &mut CertificateParams,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<(), String> {
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + unix_secs(not_before)?;
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + unix_secs(not_after)?;
    Ok(())
}

fn unix_secs(t: Timestamp) -> Result<std::time::Duration, String> {
    u64::try_from(t.as_second())
        .map(std::time::Duration::from_secs)
        .map_err(|_| format!("{t} is before 1970"))
}

/// The PKCS#1 RSAPublicKey DER inside an X.509 certificate PEM (for RS256 verification).
pub fn rsa_key_from_cert_pem(pem: &str) -> Result<Vec<u8>, String> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| format!("PEM: {e}"))?;
    let cert = pem.parse_x509().map_err(|e| format!("X.509: {e}"))?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err("certificate key is not RSA".into());
    }
    Ok(spki.subject_public_key.data.to_vec())
}

/// A JWT client's key pair: the certificate to register with the org (`oauthClients[].certificatePem`
/// or `certificateFile`) and the private key that signs assertions.
#[derive(Debug, Clone)]
pub struct ClientKeyPair {
    pub cert_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
}

/// Generates an RSA 2048 key pair and a self-signed certificate for `common_name` (a subject
/// alternative name): what a JWT bearer client registers with a connected app.
pub fn client_key_pair(common_name: &str) -> Result<ClientKeyPair, String> {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
        .map_err(|e| format!("RSA key: {e}"))?;
    let cert = CertificateParams::new(vec![common_name.to_owned()])
        .map_err(|e| format!("certificate {common_name}: {e}"))?
        .self_signed(&key)
        .map_err(|e| format!("certificate {common_name}: {e}"))?;
    Ok(ClientKeyPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}
