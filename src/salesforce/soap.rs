//! Metadata API SOAP framing: request bodies (pure, without the session, so they can be compared
//! with hand-written XML), the envelope, and response/fault parsing, down to the per-component
//! results (`SaveResult`, `FileProperties`).

use roxmltree::{Document, Node};

use super::error::{ComponentError, SalesforceError};
use super::secret::SecretString;
use super::wsdl::{METADATA_NS, parse_datetime};
use super::xml::{child, child_text, children, escape, is_nil, parse_bool, push_elem, xsi_type};
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Most components per CRUD call (readMetadata/upsertMetadata/deleteMetadata "Limit: 10").
pub const MAX_COMPONENTS: usize = 10;

/// `<readMetadata><type>T</type><fullNames>..</fullNames>*</readMetadata>`
pub fn read_body(metadata_type: &str, names: &[&str]) -> String {
    names_body("readMetadata", metadata_type, names)
}

/// `<upsertMetadata>` around already rendered `<metadata xsi:type=..>` elements.
pub fn upsert_body(rendered: &[String]) -> String {
    save_body("upsertMetadata", rendered)
}

/// `<op><metadata xsi:type="T">..</metadata>*</op>` for `createMetadata`, `updateMetadata` or
/// `upsertMetadata` (the same parameter list in the WSDL).
pub fn save_body(operation: &str, rendered: &[String]) -> String {
    let mut out = format!("<{operation}>");
    for r in rendered {
        out.push_str(r);
    }
    out.push_str(&format!("</{operation}>"));
    out
}

/// `<deleteMetadata><type>T</type><fullNames>..</fullNames>*</deleteMetadata>`
pub fn delete_body(metadata_type: &str, names: &[&str]) -> String {
    names_body("deleteMetadata", metadata_type, names)
}

/// `<op><type>T</type><fullNames>..</fullNames>*</op>`: the parameter list `readMetadata` and
/// `deleteMetadata` share in the WSDL.
fn names_body(operation: &str, metadata_type: &str, names: &[&str]) -> String {
    let mut out = format!("<{operation}>");
    push_elem(&mut out, "type", metadata_type);
    for n in names {
        push_elem(&mut out, "fullNames", n);
    }
    out.push_str(&format!("</{operation}>"));
    out
}

/// `<listMetadata><queries><type>T</type></queries><asOfVersion>V</asOfVersion></listMetadata>`
/// (no `<folder>`: sending an empty folder is refused by real orgs).
pub fn list_body(metadata_type: &str, api_version: &str) -> String {
    let mut out = String::from("<listMetadata><queries>");
    push_elem(&mut out, "type", metadata_type);
    out.push_str("</queries>");
    push_elem(&mut out, "asOfVersion", api_version);
    out.push_str("</listMetadata>");
    out
}

/// The full envelope. The session id goes in only here, right before the bytes hit the wire.
pub fn envelope(session: &SecretString, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 600);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#);
    out.push_str(r#"<soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>"#);
    out.push_str(&escape(session.expose()));
    out.push_str(r#"</sessionId></SessionHeader></soapenv:Header>"#);
    out.push_str(r#"<soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata">"#);
    out.push_str(body);
    out.push_str("</soapenv:Body></soapenv:Envelope>");
    out
}

/// A SOAP fault, with the prefix stripped from the code (`sf:INVALID_SESSION_ID` ->
/// `INVALID_SESSION_ID`, `soapenv:Client` -> `Client`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message: String,
}

/// `current`/`limit` from a `LimitInfoHeader` with type `API REQUESTS`, if the org sent one.
pub fn limit_info(doc: &Document<'_>) -> Option<(u64, u64)> {
    let env = doc.root_element();
    let header = child(env, "Header")?;
    let lih = child(header, "LimitInfoHeader")?;
    for li in children(lih, "limitInfo") {
        if child_text(li, "type").as_deref() == Some("API REQUESTS") {
            let cur = child_text(li, "current")?.trim().parse().ok()?;
            let lim = child_text(li, "limit")?.trim().parse().ok()?;
            return Some((cur, lim));
        }
    }
    None
}

/// Finds the `<{operation}Response>` element, or the fault.
pub fn response<'a, 'i>(
    operation: &'static str,
    doc: &'a Document<'i>,
) -> Result<Result<Node<'a, 'i>, Fault>, SalesforceError> {
    let env = doc.root_element();
    if env.tag_name().name() != "Envelope" || env.tag_name().namespace() != Some(SOAP_ENV_NS) {
        return Err(SalesforceError::protocol(
            operation,
            format!(
                "not a SOAP envelope (root element '{}')",
                env.tag_name().name()
            ),
        ));
    }
    let body = child(env, "Body")
        .ok_or_else(|| SalesforceError::protocol(operation, "SOAP envelope without Body"))?;
    if let Some(fault) = child(body, "Fault") {
        let code = child_text(fault, "faultcode").unwrap_or_default();
        let code = code.trim();
        let code = code.rsplit_once(':').map_or(code, |(_, l)| l).to_string();
        let message = child_text(fault, "faultstring")
            .unwrap_or_default()
            .trim()
            .to_string();
        return Ok(Err(Fault { code, message }));
    }
    let want = format!("{operation}Response");
    let resp = body
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == want)
        .ok_or_else(|| {
            SalesforceError::protocol(operation, format!("SOAP body without <{want}>"))
        })?;
    if resp.tag_name().namespace() != Some(METADATA_NS) {
        return Err(SalesforceError::protocol(
            operation,
            format!("<{want}> is not in the Metadata API namespace"),
        ));
    }
    Ok(Ok(resp))
}

/// The non-nil `records` of a `readMetadataResponse` whose `xsi:type` (when given) is
/// `metadata_type`.
pub fn read_records<'a, 'i>(resp: Node<'a, 'i>, metadata_type: &str) -> Vec<Node<'a, 'i>> {
    let mut out = Vec::new();
    for result in children(resp, "result") {
        for rec in children(result, "records") {
            // Missing names come back as nil (or empty) records: skip them, absence is the answer.
            if !is_nil(rec)
                && child(rec, "fullName").is_some()
                && xsi_type(rec).is_none_or(|t| t == metadata_type)
            {
                out.push(rec);
            }
        }
    }
    out
}

/// A `SaveResult`, `UpsertResult` or `DeleteResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentResult {
    pub full_name: String,
    pub success: bool,
    /// Only for `UpsertResult`.
    pub created: Option<bool>,
    pub errors: Vec<ComponentError>,
}

pub fn component_results(
    operation: &'static str,
    resp: Node<'_, '_>,
) -> Result<Vec<ComponentResult>, SalesforceError> {
    let mut out = Vec::new();
    for r in children(resp, "result") {
        let success = child_text(r, "success")
            .and_then(|s| parse_bool(&s))
            .ok_or_else(|| {
                SalesforceError::protocol(operation, "result without a boolean <success>")
            })?;
        let errors = children(r, "errors")
            .map(|e| ComponentError {
                status_code: child_text(e, "statusCode")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                message: child_text(e, "message")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                fields: children(e, "fields")
                    .map(|f| f.text().unwrap_or("").to_string())
                    .collect(),
            })
            .collect();
        out.push(ComponentResult {
            full_name: child_text(r, "fullName").unwrap_or_default(),
            success,
            created: child_text(r, "created").and_then(|s| parse_bool(&s)),
            errors,
        });
    }
    Ok(out)
}

/// One `FileProperties` from `listMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProperties {
    pub full_name: String,
    pub id: String,
    pub file_name: String,
    pub metadata_type: String,
    pub namespace_prefix: Option<String>,
    pub last_modified_date: Option<jiff::Timestamp>,
    pub manageable_state: Option<String>,
}

impl FileProperties {
    pub fn parse(node: Node<'_, '_>) -> Result<Self, String> {
        Ok(FileProperties {
            full_name: child_text(node, "fullName").ok_or("fullName missing")?,
            id: child_text(node, "id").unwrap_or_default(),
            file_name: child_text(node, "fileName").unwrap_or_default(),
            metadata_type: child_text(node, "type").unwrap_or_default(),
            namespace_prefix: child_text(node, "namespacePrefix").filter(|s| !s.is_empty()),
            last_modified_date: child_text(node, "lastModifiedDate")
                .and_then(|t| parse_datetime(t.trim()).ok()),
            manageable_state: child_text(node, "manageableState"),
        })
    }
}

/// Pairs results with the names that were sent. Salesforce returns one result per component in
/// request order; match by fullName first (robust to reordering) and fall back to position.
pub fn match_results<'r>(
    sent: &[&str],
    results: &'r [ComponentResult],
) -> Vec<Option<&'r ComponentResult>> {
    let by_name = |name: &str| {
        results.iter().find(|r| r.full_name == name).or_else(|| {
            results
                .iter()
                .find(|r| r.full_name.eq_ignore_ascii_case(name))
        })
    };
    sent.iter()
        .enumerate()
        .map(|(i, name)| {
            by_name(name).or_else(|| results.get(i).filter(|r| r.full_name.is_empty()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::xml;

    #[test]
    fn read_body_matches_wsdl() {
        assert_eq!(
            read_body("ConnectedApp", &["A", "B&C"]),
            "<readMetadata><type>ConnectedApp</type><fullNames>A</fullNames><fullNames>B&amp;C</fullNames></readMetadata>"
        );
    }

    #[test]
    fn delete_and_list_bodies_match_wsdl() {
        assert_eq!(
            delete_body("ConnectedApp", &["A"]),
            "<deleteMetadata><type>ConnectedApp</type><fullNames>A</fullNames></deleteMetadata>"
        );
        assert_eq!(
            list_body("ConnectedApp", "63.0"),
            "<listMetadata><queries><type>ConnectedApp</type></queries><asOfVersion>63.0</asOfVersion></listMetadata>"
        );
    }

    #[test]
    fn envelope_matches_expected_framing() {
        let e = envelope(&SecretString::new("00D!tok<"), "<readMetadata/>");
        assert_eq!(
            e,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
                r#"<soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>00D!tok&lt;</sessionId></SessionHeader></soapenv:Header>"#,
                r#"<soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata"><readMetadata/></soapenv:Body></soapenv:Envelope>"#
            )
        );
        // The envelope parses and the body is in the metadata namespace.
        let doc = xml::parse("t", &e).unwrap();
        let body = child(doc.root_element(), "Body").unwrap();
        assert_eq!(
            body.first_element_child().unwrap().tag_name().namespace(),
            Some(METADATA_NS)
        );
    }

    #[test]
    fn parses_fault_with_prefix() {
        let x = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let doc = xml::parse("t", x).unwrap();
        let f = response("readMetadata", &doc).unwrap().unwrap_err();
        assert_eq!(f.code, "INVALID_SESSION_ID");
        assert!(f.message.contains("Illegal Session"));
    }

    #[test]
    fn parses_read_records_skipping_nil() {
        let x = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><readMetadataResponse><result><records xsi:type="ConnectedApp"><fullName>A</fullName><contactEmail>a@b.c</contactEmail><label>A</label></records><records xsi:nil="true"/></result></readMetadataResponse></soapenv:Body></soapenv:Envelope>"#;
        let doc = xml::parse("t", x).unwrap();
        let resp = response("readMetadata", &doc).unwrap().unwrap();
        let recs = read_records(resp, "ConnectedApp");
        assert!(read_records(resp, "Certificate").is_empty());
        assert_eq!(recs.len(), 1);
        assert_eq!(child_text(recs[0], "fullName").as_deref(), Some("A"));
    }

    #[test]
    fn parses_partial_upsert_results() {
        let x = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><upsertMetadataResponse><result><created>true</created><fullName>A</fullName><success>true</success></result><result><created>false</created><errors><fields>profileName</fields><message>no Profile named Nope</message><statusCode>FIELD_INTEGRITY_EXCEPTION</statusCode></errors><fullName>B</fullName><success>false</success></result></upsertMetadataResponse></soapenv:Body></soapenv:Envelope>"#;
        let doc = xml::parse("t", x).unwrap();
        let resp = response("upsertMetadata", &doc).unwrap().unwrap();
        let rs = component_results("upsertMetadata", resp).unwrap();
        let m = match_results(&["B", "A"], &rs);
        assert_eq!(m[0].unwrap().full_name, "B");
        assert!(!m[0].unwrap().success);
        assert_eq!(
            m[0].unwrap().errors[0].status_code,
            "FIELD_INTEGRITY_EXCEPTION"
        );
        assert_eq!(m[0].unwrap().errors[0].fields, vec!["profileName"]);
        assert_eq!(m[1].unwrap().created, Some(true));
    }

    #[test]
    fn refuses_non_soap_root() {
        let doc = xml::parse("t", "<foo/>").unwrap();
        assert!(response("readMetadata", &doc).is_err());
    }

    #[test]
    fn limit_info_header_is_read() {
        let x = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><LimitInfoHeader><limitInfo><current>12</current><limit>15000</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header><soapenv:Body/></soapenv:Envelope>"#;
        let doc = xml::parse("t", x).unwrap();
        assert_eq!(limit_info(&doc), Some((12, 15000)));
    }
}
