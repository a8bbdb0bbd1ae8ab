//! Secret material: a redacting, zeroizing string and the RSA signing key for the JWT bearer flow.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::der::parse_der;
use x509_parser::pem::Pem;
use zeroize::Zeroize;

use super::error::SalesforceError;

/// A string that must never be printed: access tokens, client secrets, private keys.
///
/// `Debug` and `Display` print `[redacted]`, so it is safe inside structs that derive `Debug` and in
/// `tracing` fields by accident. The buffer is zeroed on drop. Comparison is deliberately not
/// offered through `PartialEq` on the raw bytes in public; use [`SecretString::ct_eq`].
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }

    /// The secret itself. Call sites are where secrets leave the wrapper, so keep them few and
    /// never pass the result to a logger.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Equality without an early exit, so the registry can compare connection settings.
    pub fn ct_eq(&self, other: &SecretString) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString(s.to_string())
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Smallest RSA modulus accepted for the JWT signing key.
pub const MIN_RSA_BITS: usize = 2048;

/// A validated RSA private key, ready to sign RS256 assertions.
#[derive(Clone)]
pub struct RsaSigningKey {
    key: EncodingKey,
    bits: usize,
}

impl RsaSigningKey {
    pub fn bits(&self) -> usize {
        self.bits
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }
}

impl fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaSigningKey {{ bits: {}, key: [redacted] }}",
            self.bits
        )
    }
}

const ENCRYPTED: &str = "the private key is encrypted; store it unencrypted in the Secret (e.g. `openssl pkey -in enc.pem -out key.pem`)";

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";

fn refuse(reason: impl Into<String>) -> SalesforceError {
    SalesforceError::KeyInvalid {
        reason: reason.into(),
    }
}

/// Checks the PEM private key from the credentials Secret and prepares it for signing.
///
/// Refuses, with a message fit for a status condition: text that is not PEM, encrypted keys
/// (the operator has no passphrase), EC/Ed25519 keys (Salesforce accepts RS256 only), and RSA keys
/// shorter than 2048 bits. Messages never include key bytes.
pub fn parse_private_key(pem: &str) -> Result<RsaSigningKey, SalesforceError> {
    // Legacy OpenSSL encryption marks the block with a Proc-Type header instead of a label, and
    // the PEM reader would only call it malformed; say what it really is.
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(refuse(ENCRYPTED));
    }
    let mut found = None;
    for block in Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|_| refuse("the key is not valid PEM"))?;
        match block.label.as_str() {
            "RSA PRIVATE KEY" | "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" => {
                found = Some(block);
                break;
            }
            // A certificate next to the key in the same Secret value is harmless; skip it.
            _ => continue,
        }
    }
    let Some(block) = found else {
        return Err(refuse(
            "no PEM private key found (expected '-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----')",
        ));
    };
    let pkcs1 = match block.label.as_str() {
        "ENCRYPTED PRIVATE KEY" => return Err(refuse(ENCRYPTED)),
        "EC PRIVATE KEY" => {
            return Err(refuse(
                "the private key is an EC key; Salesforce JWT bearer needs an RSA key (RS256) of at least 2048 bits",
            ));
        }
        "RSA PRIVATE KEY" => block.contents.clone(),
        _ => pkcs8_inner_rsa(&block.contents)?,
    };
    let bits = rsa_modulus_bits(&pkcs1)?;
    if bits < MIN_RSA_BITS {
        return Err(refuse(format!(
            "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    let key = EncodingKey::from_rsa_der(&pkcs1);
    // Sign once now so a structurally odd key fails here, as SecretKeyInvalid, rather than on
    // the first token request.
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &serde_json::json!({}), &key)
        .map_err(|_| refuse("the RSA key cannot sign (malformed key)"))?;
    Ok(RsaSigningKey { key, bits })
}

/// Unwraps a PKCS#8 `PrivateKeyInfo` and returns the PKCS#1 `RSAPrivateKey` inside.
fn pkcs8_inner_rsa(der: &[u8]) -> Result<Vec<u8>, SalesforceError> {
    let malformed = || refuse("the PKCS#8 private key is malformed");
    let (_, obj) = parse_der(der).map_err(|_| malformed())?;
    let seq = obj.as_sequence().map_err(|_| malformed())?;
    let alg = seq
        .get(1)
        .and_then(|a| a.as_sequence().ok())
        .and_then(|a| a.first())
        .and_then(|oid| oid.as_oid().ok())
        .map(|oid| oid.to_id_string())
        .ok_or_else(malformed)?;
    match alg.as_str() {
        OID_RSA_ENCRYPTION => {}
        OID_EC_PUBLIC_KEY => {
            return Err(refuse(
                "the private key is an EC key; Salesforce JWT bearer needs an RSA key (RS256) of at least 2048 bits",
            ));
        }
        OID_ED25519 => {
            return Err(refuse(
                "the private key is an Ed25519 key; Salesforce JWT bearer needs an RSA key (RS256) of at least 2048 bits",
            ));
        }
        other => {
            return Err(refuse(format!(
                "the private key algorithm {other} is not RSA; Salesforce JWT bearer needs RS256"
            )));
        }
    }
    let inner = seq
        .get(2)
        .and_then(|o| o.as_slice().ok())
        .ok_or_else(malformed)?;
    Ok(inner.to_vec())
}

/// Bit length of the modulus of a PKCS#1 `RSAPrivateKey`.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize, SalesforceError> {
    let malformed = || refuse("the RSA private key is malformed");
    let (_, obj) = parse_der(pkcs1).map_err(|_| malformed())?;
    let seq = obj.as_sequence().map_err(|_| malformed())?;
    let n = seq.get(1).ok_or_else(malformed)?;
    let BerObjectContent::Integer(bytes) = &n.content else {
        return Err(malformed());
    };
    let bytes: &[u8] = bytes;
    let first = bytes.iter().position(|b| *b != 0).ok_or_else(malformed)?;
    let significant = &bytes[first..];
    Ok(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_is_redacted_in_debug_and_display() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
        assert!(s.ct_eq(&SecretString::new("hunter2")));
        assert!(!s.ct_eq(&SecretString::new("hunter3")));
    }

    #[test]
    fn refuses_non_pem() {
        let e = parse_private_key("not a key").unwrap_err();
        assert!(e.to_string().contains("no PEM private key"), "{e}");
    }

    #[test]
    fn refuses_encrypted_pkcs8() {
        let pem = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = parse_private_key(pem).unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
    }

    #[test]
    fn refuses_ec_key() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let e = parse_private_key(&kp.serialize_pem()).unwrap_err();
        assert!(e.to_string().contains("EC key"), "{e}");
        assert_eq!(e.kind(), crate::salesforce::error::ErrorKind::Invalid);
    }

    /// DER length prefix for the test builder.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn refuses_short_rsa_key() {
        use base64::Engine as _;
        // A PKCS#1 RSAPrivateKey shell with a 1024-bit modulus: the size check comes before any
        // use of the other fields.
        let mut n = vec![0x00, 0xC0];
        n.extend(std::iter::repeat_n(0x11, 127));
        let mut body = der(0x02, &[0]);
        body.extend(der(0x02, &n));
        for _ in 0..7 {
            body.extend(der(0x02, &[3]));
        }
        let key = der(0x30, &body);
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let pem =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{b64}\n-----END RSA PRIVATE KEY-----\n");
        let e = parse_private_key(&pem).unwrap_err();
        assert!(e.to_string().contains("1024 bits"), "{e}");
    }

    #[test]
    fn refuses_legacy_encrypted_pem() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(
            parse_private_key(pem)
                .unwrap_err()
                .to_string()
                .contains("encrypted")
        );
    }

    #[test]
    fn accepts_rsa_2048_pkcs8() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let k = parse_private_key(&kp.serialize_pem()).unwrap();
        assert_eq!(k.bits(), 2048);
        assert!(!format!("{k:?}").contains("BEGIN"));
    }
}
