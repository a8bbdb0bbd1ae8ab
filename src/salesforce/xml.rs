//! Hardened XML reading and minimal XML writing.
//!
//! Everything that comes back from Salesforce (SOAP responses, IdP metadata) is parsed here, with
//! limits from limits-faults-security.md §4.5: no DTD (roxmltree refuses it by default, which also
//! rules out entity expansion and external entities), a node budget, a depth cap and a size cap the
//! caller enforces while reading the body.

use roxmltree::{Document, Node, ParsingOptions};

use super::error::SalesforceError;

/// Node budget for one document. A readMetadata of 10 connected apps is a few hundred nodes.
pub const NODES_LIMIT: u32 = 200_000;
/// Element nesting cap. SOAP + ConnectedApp + oauthConfig nest about 8 deep.
pub const MAX_DEPTH: usize = 64;

/// Parses `text` with DTDs refused, a node budget and a depth cap.
pub fn parse<'a>(operation: &'static str, text: &'a str) -> Result<Document<'a>, SalesforceError> {
    // A quick look before parsing gives a clear message for the most common non-XML answer: an
    // HTML maintenance or login page served with status 200.
    let head = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = head
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Err(SalesforceError::protocol(
            operation,
            "got an HTML page where XML was expected",
        ));
    }
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        entity_resolver: None,
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| {
        let reason = match e {
            roxmltree::Error::DtdDetected => {
                "document contains a DTD (DOCTYPE), refused".to_string()
            }
            roxmltree::Error::NodesLimitReached => {
                format!("document has more than {NODES_LIMIT} nodes, refused")
            }
            roxmltree::Error::EntityReferenceLoop(_) => {
                "entity reference loop, refused".to_string()
            }
            other => format!("malformed XML: {other}"),
        };
        SalesforceError::protocol(operation, reason)
    })?;
    check_depth(operation, &doc)?;
    Ok(doc)
}

fn check_depth(operation: &'static str, doc: &Document<'_>) -> Result<(), SalesforceError> {
    // Iterative walk: the point is to refuse deep documents, so no recursion here.
    let mut stack: Vec<(Node<'_, '_>, usize)> = vec![(doc.root(), 0)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(SalesforceError::protocol(
                operation,
                format!("XML nesting deeper than {MAX_DEPTH}, refused"),
            ));
        }
        for child in node.children().filter(Node::is_element) {
            stack.push((child, depth + 1));
        }
    }
    Ok(())
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // CR would be normalised away by the receiving parser; keep it.
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Appends `<name>escaped</name>`.
pub fn push_elem(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

pub fn push_opt(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        push_elem(out, name, v);
    }
}

pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Child elements of `node` with local name `name`, whatever their namespace prefix.
pub fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

pub fn child<'a, 'input: 'a>(node: Node<'a, 'input>, name: &'a str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

/// Text of a child element; `Some("")` for an empty element, `None` when it is absent.
pub fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or("").to_string())
}

pub fn is_nil(node: Node<'_, '_>) -> bool {
    node.attribute((XSI_NS, "nil"))
        .is_some_and(|v| v == "true" || v == "1")
}

/// The local part of `xsi:type`, e.g. `ConnectedApp` for `xsi:type="met:ConnectedApp"`.
pub fn xsi_type<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute((XSI_NS, "type"))
        .map(|t| t.rsplit_once(':').map_or(t, |(_, local)| local))
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Re-serialises an element subtree canonically: unprefixed element names (the metadata namespace
/// is the default namespace of our request bodies), escaped text, and only the `xsi:type` /
/// `xsi:nil` attributes. Used to carry fields the operator does not manage through an upsert
/// without relying on the response's prefixes.
pub fn reserialize(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    // Explicit stack of (node, closing) to avoid recursion on untrusted input (depth is capped
    // anyway, but this keeps it obviously bounded).
    enum Step<'a, 'i> {
        Open(Node<'a, 'i>),
        Close(&'a str),
    }
    let mut stack = vec![Step::Open(node)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Close(name) => {
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            Step::Open(n) if n.is_text() => out.push_str(&escape(n.text().unwrap_or(""))),
            Step::Open(n) if n.is_element() => {
                let name = n.tag_name().name();
                out.push('<');
                out.push_str(name);
                if let Some(t) = n.attribute((XSI_NS, "type")) {
                    let local = t.rsplit_once(':').map_or(t, |(_, l)| l);
                    out.push_str(" xsi:type=\"");
                    out.push_str(&escape(local));
                    out.push('"');
                }
                if is_nil(n) {
                    out.push_str(" xsi:nil=\"true\"");
                }
                out.push('>');
                stack.push(Step::Close(name));
                let kids: Vec<_> = n.children().collect();
                for k in kids.into_iter().rev() {
                    stack.push(Step::Open(k));
                }
            }
            Step::Open(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::error::ErrorKind;

    #[test]
    fn refuses_doctype() {
        let x = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>"#;
        let e = parse("test", x).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("DTD"), "{e}");
    }

    #[test]
    fn refuses_billion_laughs() {
        let mut x = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            x.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        x.push_str("]><lolz>&lol9;</lolz>");
        assert_eq!(parse("test", &x).unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn refuses_external_entity() {
        let x = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>"#;
        assert_eq!(parse("test", x).unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn refuses_deep_nesting() {
        let x = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 5),
            "</a>".repeat(MAX_DEPTH + 5)
        );
        let e = parse("test", &x).unwrap_err();
        assert!(e.to_string().contains("nesting"), "{e}");
    }

    #[test]
    fn refuses_html_and_truncated() {
        let e = parse(
            "test",
            "<!DOCTYPE html><html><body>Maintenance</body></html>",
        )
        .unwrap_err();
        assert!(e.to_string().contains("HTML"), "{e}");
        let e = parse("test", "<a><b>text</b>").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn reserialize_strips_prefixes() {
        let x = r#"<r xmlns:m="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><m:oauthConfig><m:callbackUrl>https://a/b?x=1&amp;y=2</m:callbackUrl><m:scopes>Api</m:scopes></m:oauthConfig></r>"#;
        let doc = parse("test", x).unwrap();
        let n = doc.root_element().first_element_child().unwrap();
        assert_eq!(
            reserialize(n),
            "<oauthConfig><callbackUrl>https://a/b?x=1&amp;y=2</callbackUrl><scopes>Api</scopes></oauthConfig>"
        );
    }
}
