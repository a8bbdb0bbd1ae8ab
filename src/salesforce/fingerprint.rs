//! SHA-256 certificate fingerprints as the operator shows and compares them: colon-separated
//! upper-case hex pairs (`AB:CD:...`) over the certificate's DER encoding. IdP metadata parsing and
//! the controller's certificate checks both use these, so the two always agree.

use sha2::{Digest, Sha256};

/// The fingerprint of a DER-encoded certificate.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The fingerprint of the first PEM block in `pem` (the DER it carries); `None` when `pem` holds
/// no PEM block.
pub fn pem_sha256_fingerprint(pem: &[u8]) -> Option<String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    Some(sha256_fingerprint(&block.contents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_fingerprint_is_colon_separated_upper_case_hex() {
        let fp = sha256_fingerprint(b"");
        assert_eq!(
            fp,
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }

    #[test]
    fn pem_fingerprint_is_the_fingerprint_of_its_der() {
        let der = b"not really a certificate, but PEM does not care".to_vec();
        let pem = {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
        };
        assert_eq!(
            pem_sha256_fingerprint(pem.as_bytes()),
            Some(sha256_fingerprint(&der))
        );
        assert_eq!(pem_sha256_fingerprint(b"no PEM here"), None);
    }
}
