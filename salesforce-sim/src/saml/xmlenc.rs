//! `EncryptedAssertion` (SAML 2.0 core §2.3.4, XML Encryption 1.0/1.1): the signed assertion
//! encrypted with a fresh content key, the key encrypted for the service provider's
//! certificate (the app's `encryptionCertificate`).
//!
//! Algorithms: the app's `encryptionType` (`AES_128`, `AES_256`, or `Triple_Des` on connected
//! apps; the WSDL enums, salesforce-api.md §13) picks the cipher. Triple DES is not offered:
//! Salesforce retires it for SAML in Summer '26 (its Winter '26 identity notes ask to replace
//! it with AES; salesforce-api.md §14), and a sign-in to such an app gets the error page. No
//! source says which block mode and key transport Salesforce uses: the simulator uses CBC
//! (`xmlenc#aes128-cbc`, `#aes256-cbc`) or, with `policy.samlEncryptionBlockMode: GCM`, GCM
//! (`xmlenc11#aes128-gcm`, `#aes256-gcm`), and RSA-OAEP with SHA-1 and MGF1-SHA-1
//! (`xmlenc#rsa-oaep-mgf1p`), the usual defaults of SAML stacks (assumptions, listed in
//! docs/simulator.md). The key travels in an `EncryptedKey` inside the `EncryptedData`'s
//! `KeyInfo`, with the certificate it was encrypted for.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, EncryptingKey, UnboundCipherKey};
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";

/// The content encryption of an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl Cipher {
    /// The cipher for an app's `encryptionType` token (absent: AES-128, an assumption) and the
    /// org's block mode (`CBC`/`GCM`). None for Triple DES (retired) and unknown tokens.
    pub fn for_app(encryption_type: Option<&str>, block_mode: &str) -> Option<Cipher> {
        let gcm = block_mode.eq_ignore_ascii_case("GCM");
        match (encryption_type.unwrap_or("AES_128"), gcm) {
            ("AES_128", false) => Some(Cipher::Aes128Cbc),
            ("AES_256", false) => Some(Cipher::Aes256Cbc),
            ("AES_128", true) => Some(Cipher::Aes128Gcm),
            ("AES_256", true) => Some(Cipher::Aes256Gcm),
            _ => None,
        }
    }

    pub fn uri(self) -> &'static str {
        match self {
            Cipher::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Cipher::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            Cipher::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            Cipher::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Cbc | Cipher::Aes128Gcm => 16,
            Cipher::Aes256Cbc | Cipher::Aes256Gcm => 32,
        }
    }

    /// IV (or nonce) || ciphertext (|| tag), as XML Encryption lays out `CipherValue`.
    fn encrypt(self, key: &[u8], plain: &[u8]) -> Result<Vec<u8>, String> {
        let fail = |_| format!("{self:?} encryption failed");
        match self {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                let alg = if self == Cipher::Aes128Gcm {
                    &AES_128_GCM
                } else {
                    &AES_256_GCM
                };
                let sealing = LessSafeKey::new(UnboundKey::new(alg, key).map_err(fail)?);
                let nonce: [u8; 12] = rand::random();
                let mut buf = plain.to_vec();
                sealing
                    .seal_in_place_append_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::empty(),
                        &mut buf,
                    )
                    .map_err(fail)?;
                let mut out = nonce.to_vec();
                out.extend(buf);
                Ok(out)
            }
            _ => {
                let alg = if self == Cipher::Aes128Cbc {
                    &AES_128
                } else {
                    &AES_256
                };
                let block = 16;
                // XML Encryption padding: the last byte counts the padding bytes (1..=block);
                // PKCS#7 bytes are one valid choice of the others.
                let pad = block - plain.len() % block;
                let mut buf = plain.to_vec();
                buf.extend(std::iter::repeat_n(pad as u8, pad));
                let key = EncryptingKey::cbc(UnboundCipherKey::new(alg, key).map_err(fail)?)
                    .map_err(fail)?;
                let context = key.encrypt(&mut buf).map_err(fail)?;
                let iv: &[u8] = (&context).try_into().map_err(fail)?;
                let mut out = iv.to_vec();
                out.extend(buf);
                Ok(out)
            }
        }
    }
}

/// `<saml:EncryptedAssertion>` holding `assertion` (the signed assertion's XML), encrypted for
/// the certificate `cert_pem`.
pub fn encrypt_assertion(
    assertion: &str,
    cert_pem: &str,
    cipher: Cipher,
) -> Result<String, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| format!("encryptionCertificate: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("encryptionCertificate: {e}"))?;
    let public = PublicEncryptingKey::from_der(cert.public_key().raw)
        .map_err(|e| format!("encryptionCertificate key: {e}"))?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(|e| format!("RSA-OAEP: {e}"))?;
    let mut content_key = vec![0u8; cipher.key_len()];
    rand::fill(content_key.as_mut_slice());
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let wrapped = oaep
        .encrypt(&OAEP_SHA1_MGF1SHA1, &content_key, &mut wrapped, None)
        .map_err(|e| format!("RSA-OAEP: {e}"))?;
    let data = cipher.encrypt(&content_key, assertion.as_bytes())?;
    let id = format!("_{}", hex::encode(rand::random::<[u8; 16]>()));
    Ok(format!(
        concat!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#,
            r#"<xenc:EncryptedData xmlns:xenc="{xenc}" Id="{id}" Type="{xenc}Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="{cipher}"/>"#,
            r#"<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="{xenc}rsa-oaep-mgf1p">"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#,
            r#"</xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}"#,
            r#"</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>"#,
            r#"{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        xenc = XENC_NS,
        id = id,
        cipher = cipher.uri(),
        cert = B64.encode(pem.contents.as_slice()),
        key = B64.encode(wrapped),
        data = B64.encode(data),
    ))
}

#[cfg(test)]
mod tests {
    use super::Cipher;

    #[test]
    fn ciphers_by_app_setting_and_block_mode() {
        assert_eq!(Cipher::for_app(None, "CBC"), Some(Cipher::Aes128Cbc));
        assert_eq!(
            Cipher::for_app(Some("AES_256"), "gcm"),
            Some(Cipher::Aes256Gcm)
        );
        assert_eq!(Cipher::for_app(Some("Triple_Des"), "CBC"), None);
        assert_eq!(Cipher::for_app(Some("None"), "CBC"), None);
        // 16 bytes of plain text: CBC adds a whole block of padding, GCM a 16-byte tag.
        for (c, iv) in [(Cipher::Aes128Cbc, 16), (Cipher::Aes256Gcm, 12)] {
            let out = c
                .encrypt(&vec![7u8; c.key_len()], b"0123456789abcdef")
                .unwrap();
            assert_eq!(out.len(), iv + 32, "{c:?}");
        }
    }
}
