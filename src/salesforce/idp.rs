//! SAML 2.0 IdP metadata as Salesforce serves it at `/.well-known/samlidp[/<app>].xml`.

use base64::Engine as _;
use roxmltree::Node;

use super::error::SalesforceError;
use super::fingerprint::sha256_fingerprint;
use super::wsdl::parse_datetime;
use super::xml::{self, children};

pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const PROTOCOL_SAML2: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// One signing certificate from the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub pem: String,
    pub not_after: jiff::Timestamp,
    /// Upper-case hex pairs separated by colons, e.g. `AB:CD:...`.
    pub sha256_fingerprint: String,
    pub subject: String,
}

/// Parsed IdP metadata plus the exact bytes served (publish those, not a re-serialisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub xml: String,
    pub entity_id: String,
    pub sso_post: Option<String>,
    pub sso_redirect: Option<String>,
    /// (binding URN, location)
    pub slo: Option<(String, String)>,
    pub name_id_formats: Vec<String>,
    pub signing_certificates: Vec<CertInfo>,
    pub valid_until: Option<jiff::Timestamp>,
}

const OP: &str = "fetchIdpMetadata";

fn bad(reason: impl Into<String>) -> SalesforceError {
    SalesforceError::protocol(OP, reason)
}

fn md<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    children(node, name).filter(|c| c.tag_name().namespace() == Some(MD_NS))
}

/// Parses and checks metadata. `now` decides whether `validUntil` has passed.
pub fn parse_idp_metadata(
    text: String,
    now: jiff::Timestamp,
) -> Result<IdpMetadata, SalesforceError> {
    let doc = xml::parse(OP, &text)?;
    let root = doc.root_element();
    let (entity_id, valid_until) = entity_descriptor(root, now)?;
    let idp = idp_descriptor(root)?;
    let (sso_post, sso_redirect) = sso_services(idp)?;
    let slo = md(idp, "SingleLogoutService").find_map(|s| {
        Some((
            s.attribute("Binding")?.to_string(),
            s.attribute("Location")?.to_string(),
        ))
    });
    let name_id_formats = md(idp, "NameIDFormat")
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let signing_certificates = signing_certificates(idp)?;
    drop(doc);
    Ok(IdpMetadata {
        xml: text,
        entity_id,
        sso_post,
        sso_redirect,
        slo,
        name_id_formats,
        signing_certificates,
        valid_until,
    })
}

/// The root `md:EntityDescriptor`: its `entityID` and `validUntil`, refused once expired.
fn entity_descriptor(
    root: Node<'_, '_>,
    now: jiff::Timestamp,
) -> Result<(String, Option<jiff::Timestamp>), SalesforceError> {
    if root.tag_name().name() != "EntityDescriptor" || root.tag_name().namespace() != Some(MD_NS) {
        return Err(bad(format!(
            "root element is '{}' in namespace {:?}, expected md:EntityDescriptor",
            root.tag_name().name(),
            root.tag_name().namespace().unwrap_or("")
        )));
    }
    let entity_id = root
        .attribute("entityID")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("EntityDescriptor without entityID"))?
        .to_string();
    if entity_id.len() > 1024 {
        return Err(bad("entityID longer than 1024 characters"));
    }
    let valid_until = match root.attribute("validUntil") {
        Some(v) => Some(parse_datetime(v).map_err(bad)?),
        None => None,
    };
    if let Some(vu) = valid_until
        && vu <= now
    {
        return Err(bad(format!(
            "metadata expired: validUntil {vu} is in the past"
        )));
    }
    Ok((entity_id, valid_until))
}

/// The one `IDPSSODescriptor`, which must support SAML 2.0.
fn idp_descriptor<'a, 'i>(root: Node<'a, 'i>) -> Result<Node<'a, 'i>, SalesforceError> {
    let idps: Vec<_> = md(root, "IDPSSODescriptor").collect();
    let idp = match idps.as_slice() {
        [one] => *one,
        [] => return Err(bad("no IDPSSODescriptor")),
        _ => return Err(bad("more than one IDPSSODescriptor")),
    };
    if !idp
        .attribute("protocolSupportEnumeration")
        .is_some_and(|p| p.split_whitespace().any(|t| t == PROTOCOL_SAML2))
    {
        return Err(bad(
            "IDPSSODescriptor does not support the SAML 2.0 protocol",
        ));
    }
    Ok(idp)
}

/// The first HTTP-POST and HTTP-Redirect `SingleSignOnService` locations; at least one is needed.
fn sso_services(idp: Node<'_, '_>) -> Result<(Option<String>, Option<String>), SalesforceError> {
    let mut sso_post = None;
    let mut sso_redirect = None;
    for sso in md(idp, "SingleSignOnService") {
        let loc = sso.attribute("Location").map(str::to_string);
        match sso.attribute("Binding") {
            Some(BINDING_POST) if sso_post.is_none() => sso_post = loc,
            Some(BINDING_REDIRECT) if sso_redirect.is_none() => sso_redirect = loc,
            _ => {}
        }
    }
    if sso_post.is_none() && sso_redirect.is_none() {
        return Err(bad(
            "no SingleSignOnService with the HTTP-POST or HTTP-Redirect binding",
        ));
    }
    Ok((sso_post, sso_redirect))
}

/// Every `ds:X509Certificate` of a `KeyDescriptor` for signing; at least one is needed.
fn signing_certificates(idp: Node<'_, '_>) -> Result<Vec<CertInfo>, SalesforceError> {
    let mut signing_certificates = Vec::new();
    for kd in md(idp, "KeyDescriptor") {
        // No `use` means the key is for both signing and encryption.
        if kd.attribute("use").is_some_and(|u| u != "signing") {
            continue;
        }
        for cert in kd.descendants().filter(|n| {
            n.is_element()
                && n.tag_name().name() == "X509Certificate"
                && n.tag_name().namespace() == Some(DS_NS)
        }) {
            signing_certificates.push(cert_info(cert.text().unwrap_or(""))?);
        }
    }
    if signing_certificates.is_empty() {
        return Err(bad(
            "no signing certificate (KeyDescriptor use=\"signing\" with ds:X509Certificate)",
        ));
    }
    Ok(signing_certificates)
}

/// As [`cert_info`], for a PEM certificate (the body between its BEGIN and END lines).
pub fn pem_cert_info(pem: &str) -> Result<CertInfo, SalesforceError> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    if body.is_empty() {
        return Err(bad("no PEM certificate"));
    }
    cert_info(&body)
}

/// Decodes a base64 DER certificate (whitespace allowed) and extracts what the operator publishes.
pub fn cert_info(b64: &str) -> Result<CertInfo, SalesforceError> {
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|_| bad("X509Certificate is not base64"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| bad(format!("X509Certificate is not a valid certificate: {e}")))?;
    let not_after = jiff::Timestamp::from_second(cert.validity().not_after.timestamp())
        .map_err(|e| bad(format!("certificate notAfter out of range: {e}")))?;
    let sha256_fingerprint = sha256_fingerprint(&der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in clean.as_bytes().chunks(64) {
        // The base64 alphabet is ASCII, so any chunk boundary is a char boundary.
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Ok(CertInfo {
        pem,
        not_after,
        sha256_fingerprint,
        subject: cert.subject().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn test_cert() -> (String, Vec<u8>) {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "SelfSignedCert_27Nov2025_000000");
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let cert = params.self_signed(&kp).unwrap();
        let der = cert.der().to_vec();
        (base64::engine::general_purpose::STANDARD.encode(&der), der)
    }

    fn sample(b64: &str, extra: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://acme.my.salesforce.com" validUntil="2035-03-01T02:53:21.436Z" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    {extra}
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.my.salesforce.com/idp/endpoint/HttpPost"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.my.salesforce.com/idp/endpoint/HttpRedirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn now() -> jiff::Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn parses_salesforce_shaped_metadata() {
        let (b64, der) = test_cert();
        let text = sample(
            &b64,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.my.salesforce.com/services/auth/idp/saml2/logout"/>"#,
        );
        let m = parse_idp_metadata(text.clone(), now()).unwrap();
        assert_eq!(m.xml, text);
        assert_eq!(m.entity_id, "https://acme.my.salesforce.com");
        assert_eq!(
            m.sso_post.as_deref(),
            Some("https://acme.my.salesforce.com/idp/endpoint/HttpPost")
        );
        assert_eq!(
            m.sso_redirect.as_deref(),
            Some("https://acme.my.salesforce.com/idp/endpoint/HttpRedirect")
        );
        assert_eq!(m.slo.as_ref().unwrap().0, BINDING_POST);
        assert_eq!(
            m.name_id_formats,
            vec!["urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"]
        );
        let c = &m.signing_certificates[0];
        assert_eq!(c.not_after.to_string(), "2030-01-02T00:00:00Z");
        assert!(
            c.subject.contains("SelfSignedCert_27Nov2025_000000"),
            "{}",
            c.subject
        );
        let fp: String = Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(c.sha256_fingerprint.replace(':', ""), fp);
        assert!(c.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(
            c.pem
                .lines()
                .all(|l| l.len() <= 64 || l.starts_with("-----"))
        );
    }

    #[test]
    fn refuses_expired_and_incomplete_metadata() {
        let (b64, _) = test_cert();
        let later: jiff::Timestamp = "2036-01-01T00:00:00Z".parse().unwrap();
        assert!(
            parse_idp_metadata(sample(&b64, ""), later)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );

        let no_sso = sample(&b64, "")
            .lines()
            .filter(|l| !l.contains("SingleSignOnService"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            parse_idp_metadata(no_sso, now())
                .unwrap_err()
                .to_string()
                .contains("SingleSignOnService")
        );

        let no_key = sample(&b64, "").replace("use=\"signing\"", "use=\"encryption\"");
        assert!(
            parse_idp_metadata(no_key, now())
                .unwrap_err()
                .to_string()
                .contains("signing certificate")
        );

        let wrong_ns = sample(&b64, "").replace("urn:oasis:names:tc:SAML:2.0:metadata", "urn:evil");
        assert!(parse_idp_metadata(wrong_ns, now()).is_err());

        let bad_cert = sample("bm90IGEgY2VydA==", "");
        assert!(parse_idp_metadata(bad_cert, now()).is_err());

        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
            sample(&b64, "").split_once("?>").unwrap().1
        );
        assert!(
            parse_idp_metadata(dtd, now())
                .unwrap_err()
                .to_string()
                .contains("DTD")
        );
    }
}
