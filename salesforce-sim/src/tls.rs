//! The simulator's own TLS: a throwaway CA and a leaf for `localhost`/`127.0.0.1` generated at
//! start (`--self-signed-ca-out` writes the CA), or a PEM chain and key from files
//! (`--tls-cert`, `--tls-key`); and the rustls server configuration (aws-lc-rs, h2 and
//! http/1.1).

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::certs::set_validity;

/// TLS material for the listener.
pub struct TlsMaterial {
    pub cert_chain_der: Vec<Vec<u8>>,
    pub key_der: Vec<u8>,
    pub ca_pem: String,
}

/// A throwaway CA and a leaf for `localhost` and `127.0.0.1` signed by it.
pub fn self_signed_tls() -> Result<TlsMaterial, String> {
    let e = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "salesforce-sim test CA");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = Timestamp::now();
    set_validity(
        &mut ca_params,
        now - SignedDuration::from_hours(1),
        now + SignedDuration::from_hours(24 * 365),
    )?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(e)?;

    let leaf_key = KeyPair::generate().map_err(e)?;
    let mut leaf = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    leaf.distinguished_name = dn;
    leaf.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().map_err(e)?),
        SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
    ];
    set_validity(
        &mut leaf,
        now - SignedDuration::from_hours(1),
        now + SignedDuration::from_hours(24 * 365),
    )?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(e)?;
    Ok(TlsMaterial {
        cert_chain_der: vec![leaf_cert.der().to_vec(), ca.der().to_vec()],
        key_der: leaf_key.serialize_der(),
        ca_pem: ca.pem(),
    })
}

/// The chain and key of generated material, for [`server_config`].
pub fn chain_and_key(m: TlsMaterial) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (
        m.cert_chain_der
            .into_iter()
            .map(CertificateDer::from)
            .collect(),
        PrivateKeyDer::Pkcs8(m.key_der.into()),
    )
}

/// The certificates of a PEM file.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The private key of a PEM file.
pub fn read_pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A rustls server configuration (aws-lc-rs provider, safe default versions, ALPN h2 and
/// http/1.1) serving `chain` with `key`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
