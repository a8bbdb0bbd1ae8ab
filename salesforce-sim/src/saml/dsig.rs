//! Enveloped XML signatures (XML-DSig 1.0 as the SAML 2.0 core spec §5 profiles it): signing
//! the simulator's `Response` and `Assertion`, and checking the signature of a service
//! provider's `AuthnRequest` (HTTP-POST binding) or of its query string (HTTP-Redirect binding,
//! SAML bindings spec §3.4.4.1).
//!
//! The signature's shape follows the Salesforce IdP response published in fleetdm/fleet
//! (`server/sso/validate_test.go`): `ds:Signature` right after the signed element's `Issuer`,
//! exclusive C14N for `SignedInfo`, a `Reference` to `#<ID>` with the enveloped-signature and
//! exclusive C14N transforms, the latter with an `InclusiveNamespaces PrefixList`
//! (`ds saml samlp xs xsi` on the response, `ds saml xs xsi` on the assertion), and a `KeyInfo`
//! with the signing certificate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use roxmltree::{Document, Node};

use crate::saml::c14n::canonicalize;
use crate::saml::rsa::{Hash, RsaPrivateKey, verify};
use crate::xml;

pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// What signs: the key, the certificate (DER) put in `KeyInfo`, the digest.
pub struct Signer<'a> {
    pub key: &'a RsaPrivateKey,
    pub cert_der: &'a [u8],
    pub hash: Hash,
}

/// The element of `doc` whose `ID` attribute is `id`.
fn by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Option<Node<'a, 'i>> {
    doc.descendants()
        .find(|n| n.is_element() && n.attribute("ID") == Some(id))
}

/// Signs the element with `ID="id"` in `text` (enveloped), inserting `ds:Signature` after its
/// first child element (the SAML `Issuer`). `prefixes` is the transform's `PrefixList`.
pub fn sign(text: &str, id: &str, prefixes: &str, signer: &Signer) -> Result<String, String> {
    let doc = xml::parse(text)?;
    let target = by_id(&doc, id).ok_or_else(|| format!("no element with ID {id}"))?;
    let issuer = xml::elements(target)
        .next()
        .ok_or_else(|| format!("element {id} has no Issuer"))?;
    let inclusive: Vec<&str> = prefixes.split_whitespace().collect();
    let digest = B64.encode(
        signer
            .hash
            .digest(canonicalize(target, None, &inclusive).as_bytes()),
    );
    let signed_info = format!(
        concat!(
            r#"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>"#,
            r##"<ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="{env}"/><ds:Transform Algorithm="{c14n}">"#,
            r#"<ec:InclusiveNamespaces xmlns:ec="{c14n}" PrefixList="{prefixes}"/></ds:Transform>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="{dig}"/><ds:DigestValue>{digest}"#,
            r#"</ds:DigestValue></ds:Reference></ds:SignedInfo>"#
        ),
        c14n = EXC_C14N,
        sig = signer.hash.signature_uri(),
        id = id,
        env = ENVELOPED,
        prefixes = prefixes,
        dig = signer.hash.digest_uri(),
        digest = digest,
    );
    // SignedInfo declares nothing but what it uses (ds, ec), so its exclusive canonical form is
    // the same standalone as inside the document.
    let alone = format!(r#"<ds:Signature xmlns:ds="{DS_NS}">{signed_info}</ds:Signature>"#);
    let alone_doc = xml::parse(&alone)?;
    let canonical_si = canonicalize(
        xml::elements(alone_doc.root_element())
            .next()
            .ok_or("no SignedInfo")?,
        None,
        &[],
    );
    let value = B64.encode(signer.key.sign(signer.hash, canonical_si.as_bytes()));
    let signature = format!(
        concat!(
            r#"<ds:Signature xmlns:ds="{ns}">{si}<ds:SignatureValue>{value}</ds:SignatureValue>"#,
            r#"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>"#,
            r#"</ds:X509Data></ds:KeyInfo></ds:Signature>"#
        ),
        ns = DS_NS,
        si = signed_info,
        value = value,
        cert = B64.encode(signer.cert_der),
    );
    let at = issuer.range().end;
    Ok(format!("{}{signature}{}", &text[..at], &text[at..]))
}

/// Why a service provider's signature was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum SigProblem {
    /// No signature where one is required.
    Missing,
    /// A signature that does not verify, or one the simulator cannot check.
    Invalid(String),
}

fn invalid(why: impl Into<String>) -> SigProblem {
    SigProblem::Invalid(why.into())
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, SigProblem> {
    xml::child(n, DS_NS, name).ok_or_else(|| invalid(format!("no ds:{name}")))
}

/// Checks the enveloped signature of the document element of `doc` (an `AuthnRequest`) with
/// the PKCS#1 RSA public key `public_key`: the reference must be the whole element, the
/// transforms enveloped + exclusive C14N, the digest and the signature right.
pub fn verify_enveloped(doc: &Document, public_key: &[u8]) -> Result<(), SigProblem> {
    let root = doc.root_element();
    let sig = xml::child(root, DS_NS, "Signature").ok_or(SigProblem::Missing)?;
    let si = child(sig, "SignedInfo")?;
    let c14n = child(si, "CanonicalizationMethod")?.attribute("Algorithm");
    if c14n != Some(EXC_C14N) {
        return Err(invalid(format!("CanonicalizationMethod {c14n:?}")));
    }
    let method = child(si, "SignatureMethod")?
        .attribute("Algorithm")
        .unwrap_or("");
    let sig_hash = Hash::from_signature_uri(method)
        .ok_or_else(|| invalid(format!("SignatureMethod {method}")))?;
    let reference = child(si, "Reference")?;
    let id = root.attribute("ID").unwrap_or("");
    if reference.attribute("URI") != Some(&format!("#{id}")) || id.is_empty() {
        return Err(invalid("the Reference is not the signed request"));
    }
    let mut prefixes = Vec::new();
    for t in xml::elements(child(reference, "Transforms")?) {
        match t.attribute("Algorithm") {
            Some(ENVELOPED) => {}
            Some(EXC_C14N) => {
                if let Some(inc) =
                    xml::elements(t).find(|c| c.tag_name().name() == "InclusiveNamespaces")
                {
                    prefixes.extend(inc.attribute("PrefixList").unwrap_or("").split_whitespace());
                }
            }
            other => return Err(invalid(format!("Transform {other:?}"))),
        }
    }
    let dig_uri = child(reference, "DigestMethod")?
        .attribute("Algorithm")
        .unwrap_or("");
    let dig_hash =
        Hash::from_digest_uri(dig_uri).ok_or_else(|| invalid(format!("DigestMethod {dig_uri}")))?;
    let expected = B64
        .decode(strip(&xml::text(child(reference, "DigestValue")?)))
        .map_err(|_| invalid("DigestValue is not base64"))?;
    let actual = dig_hash.digest(canonicalize(root, Some(sig.id()), &prefixes).as_bytes());
    if expected != actual {
        return Err(invalid("digest mismatch"));
    }
    let value = B64
        .decode(strip(&xml::text(child(sig, "SignatureValue")?)))
        .map_err(|_| invalid("SignatureValue is not base64"))?;
    let canonical_si = canonicalize(si, None, &[]);
    if verify(public_key, sig_hash, canonical_si.as_bytes(), &value) {
        Ok(())
    } else {
        Err(invalid(
            "signature does not verify with the app's certificate",
        ))
    }
}

/// Checks an HTTP-Redirect binding signature: `signed` is `SAMLRequest=..&RelayState=..&SigAlg=..`
/// exactly as URL-encoded in the query.
pub fn verify_redirect(
    public_key: &[u8],
    signed: &str,
    sig_alg: &str,
    signature: &str,
) -> Result<(), SigProblem> {
    let hash =
        Hash::from_signature_uri(sig_alg).ok_or_else(|| invalid(format!("SigAlg {sig_alg}")))?;
    let sig = B64
        .decode(strip(signature))
        .map_err(|_| invalid("Signature is not base64"))?;
    if verify(public_key, hash, signed.as_bytes(), &sig) {
        Ok(())
    } else {
        Err(invalid(
            "signature does not verify with the app's certificate",
        ))
    }
}

/// Base64 text without the whitespace that XML and forms allow in it.
pub fn strip(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}
