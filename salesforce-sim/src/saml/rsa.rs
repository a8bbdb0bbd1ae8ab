//! RSA for XML-DSig: PKCS#1 v1.5 signatures (RFC 8017 §8.2, EMSA-PKCS1-v1_5 §9.2) with SHA-1
//! or SHA-256 by the org's certificate keys, and verification of a service provider's
//! signatures with the key of its certificate.
//!
//! Signing is done here because the crypto library already in the simulator (aws-lc-rs) signs
//! PKCS#1 v1.5 only with SHA-256 and up, and Salesforce also signs with SHA-1 when a SAML app asks
//! for it (`samlSigningAlgoType SHA1`; the public Salesforce response in fleetdm/fleet
//! `server/sso/validate_test.go` is `rsa-sha1`). The private-key operation is the textbook CRT
//! exponentiation with num-bigint: not constant-time, which is fine for a test double's own
//! throwaway keys. The unit tests check the signatures with aws-lc-rs's verifier. Verifying a
//! service provider's signature (any digest) is aws-lc-rs's.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use num_bigint::BigUint;
use x509_parser::der_parser::parse_der;

/// Digest algorithms of XML-DSig that the simulator signs or checks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The XML-DSig `DigestMethod` URI.
    pub fn digest_uri(self) -> &'static str {
        match self {
            Hash::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Hash::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Hash::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Hash::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// The XML-DSig `SignatureMethod` URI of RSA with this digest.
    pub fn signature_uri(self) -> &'static str {
        match self {
            Hash::Sha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Hash::Sha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Hash::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            Hash::Sha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        }
    }

    pub fn from_digest_uri(uri: &str) -> Option<Hash> {
        Self::ALL.into_iter().find(|h| h.digest_uri() == uri)
    }

    pub fn from_signature_uri(uri: &str) -> Option<Hash> {
        Self::ALL.into_iter().find(|h| h.signature_uri() == uri)
    }

    const ALL: [Hash; 4] = [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512];

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Hash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha384 => &digest::SHA384,
            Hash::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    /// DER of the `DigestInfo` prefix (RFC 8017 §9.2, note 1).
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Hash::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Hash::Sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Hash::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Hash::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        }
    }
}

/// An RSA private key (the CRT form of PKCS#1 `RSAPrivateKey`).
pub struct RsaPrivateKey {
    n: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
    len: usize,
}

impl RsaPrivateKey {
    /// The key inside a PKCS#8 `PrivateKeyInfo` (what rcgen serialises).
    pub fn from_pkcs8(der: &[u8]) -> Result<RsaPrivateKey, String> {
        let bad = |e: &dyn std::fmt::Display| format!("PKCS#8 RSA key: {e}");
        let (_, info) = parse_der(der).map_err(|e| bad(&e))?;
        let info = info.as_sequence().map_err(|e| bad(&e))?;
        let inner = info
            .get(2)
            .ok_or_else(|| bad(&"no privateKey"))?
            .as_slice()
            .map_err(|e| bad(&e))?;
        let (_, key) = parse_der(inner).map_err(|e| bad(&e))?;
        let ints = key
            .as_sequence()
            .map_err(|e| bad(&e))?
            .iter()
            .map(|o| o.as_slice().map(BigUint::from_bytes_be))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        let [_, n, _e, _d, p, q, dp, dq, qinv] = <[BigUint; 9]>::try_from(ints)
            .map_err(|v| bad(&format!("{} integers, not 9", v.len())))?;
        let len = n.bits().div_ceil(8) as usize;
        Ok(RsaPrivateKey {
            n,
            p,
            q,
            dp,
            dq,
            qinv,
            len,
        })
    }

    /// RSASSA-PKCS1-v1_5 signature of `message` with `hash`.
    pub fn sign(&self, hash: Hash, message: &[u8]) -> Vec<u8> {
        // EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo
        let mut t = hash.digest_info_prefix().to_vec();
        t.extend(hash.digest(message));
        let mut em = vec![0xffu8; self.len];
        em[0] = 0;
        em[1] = 1;
        let start = self.len - t.len();
        em[start - 1] = 0;
        em[start..].copy_from_slice(&t);
        let m = BigUint::from_bytes_be(&em);
        // CRT: s = m2 + q * (qinv * (m1 - m2) mod p)
        let m1 = m.modpow(&self.dp, &self.p);
        let m2 = m.modpow(&self.dq, &self.q);
        let diff = (m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let s = (m2 + h * &self.q) % &self.n;
        let bytes = s.to_bytes_be();
        let mut out = vec![0u8; self.len - bytes.len()];
        out.extend(bytes);
        out
    }
}

/// Checks an RSASSA-PKCS1-v1_5 signature with a PKCS#1 `RSAPublicKey` (DER).
pub fn verify(public_key: &[u8], hash: Hash, message: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(hash.verification(), public_key)
        .verify(message, sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_an_independent_implementation() {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .unwrap();
        let private = RsaPrivateKey::from_pkcs8(&key.serialize_der()).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let public = crate::certs::rsa_key_from_cert_pem(&cert.pem()).unwrap();
        for hash in Hash::ALL {
            let sig = private.sign(hash, b"message");
            assert_eq!(sig.len(), 256);
            assert!(verify(&public, hash, b"message", &sig), "{hash:?}");
            assert!(!verify(&public, hash, b"massage", &sig), "{hash:?}");
        }
        // aws-lc-rs's own SHA-256 signer gives the same (deterministic) signature.
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
        let mut theirs = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            b"message",
            &mut theirs,
        )
        .unwrap();
        assert_eq!(private.sign(Hash::Sha256, b"message"), theirs);
    }
}
