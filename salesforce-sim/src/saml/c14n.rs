//! Exclusive XML Canonicalization 1.0, without comments (W3C REC xml-exc-c14n-20020718), of an
//! element subtree parsed with roxmltree: what XML-DSig digests and signs. The simulator uses it
//! for its own SAML responses and to check the signature of an SP's `AuthnRequest`, so one
//! implementation serves both sides, and `xmlsec1 --verify` in the tests checks it.
//!
//! Rules applied (spec §3 and the C14N 1.0 serialisation it builds on):
//! - namespace declarations are output only where *visibly utilized* (the element's prefix, or
//!   an attribute's) or listed in the `InclusiveNamespaces PrefixList` (then as in inclusive
//!   C14N: when in scope), and only when the nearest output ancestor did not already output the
//!   same binding; `xmlns=""` only to undo an output default namespace;
//! - declarations sorted by prefix (default first), then attributes sorted by namespace URI and
//!   local name (unqualified first); empty elements as start/end tag pairs;
//! - text escapes `&`, `<`, `>`, CR; attribute values escape `&`, `<`, `"`, TAB, LF, CR;
//! - comments dropped; processing instructions kept; one element (the enveloped `Signature`)
//!   can be left out.
//!
//! roxmltree keeps no prefixes, so qualified names are read back from the source text.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeId};

/// The canonical form of `node`'s subtree, without the element `exclude` (the enveloped
/// signature), with the prefixes of an `InclusiveNamespaces PrefixList` (`#default` for the
/// default namespace) treated inclusively.
pub fn canonicalize(node: Node, exclude: Option<NodeId>, inclusive: &[&str]) -> String {
    let mut out = String::new();
    element(&mut out, node, &BTreeMap::new(), exclude, inclusive);
    out
}

/// The qualified name of an element as written in the source (`ds:Signature`).
fn element_qname<'i>(node: Node<'_, 'i>) -> &'i str {
    let text = node.document().input_text();
    let rest = &text[node.range().start + 1..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

/// The namespace bindings this element outputs: (prefix, URI), sorted by prefix ("" first).
fn declarations(
    node: Node,
    qname: &str,
    rendered: &BTreeMap<String, String>,
    inclusive: &[&str],
) -> Vec<(String, String)> {
    let text = node.document().input_text();
    let mut used: Vec<&str> = vec![prefix_of(qname)];
    for a in node.attributes() {
        let p = prefix_of(&text[a.range_qname()]);
        if !p.is_empty() {
            used.push(p);
        }
    }
    for p in inclusive {
        let p = if *p == "#default" { "" } else { p };
        let in_scope = if p.is_empty() {
            node.default_namespace().is_some()
        } else {
            node.lookup_namespace_uri(Some(p)).is_some()
        };
        if in_scope {
            used.push(p);
        }
    }
    used.sort_unstable();
    used.dedup();
    let mut out = Vec::new();
    for p in used {
        if p == "xml" {
            continue;
        }
        let uri = if p.is_empty() {
            node.default_namespace().unwrap_or("")
        } else {
            match node.lookup_namespace_uri(Some(p)) {
                Some(u) => u,
                None => continue,
            }
        };
        let before = rendered.get(p).map(String::as_str).unwrap_or("");
        if uri != before {
            out.push((p.to_owned(), uri.to_owned()));
        }
    }
    out
}

fn element(
    out: &mut String,
    node: Node,
    rendered: &BTreeMap<String, String>,
    exclude: Option<NodeId>,
    inclusive: &[&str],
) {
    let text = node.document().input_text();
    let qname = element_qname(node);
    let decls = declarations(node, qname, rendered, inclusive);
    out.push('<');
    out.push_str(qname);
    let mut now_rendered = rendered.clone();
    for (p, uri) in &decls {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        escape_attr(out, uri);
        out.push('"');
        now_rendered.insert(p.clone(), uri.clone());
    }
    let mut attrs: Vec<(&str, &str, &str, &str)> = node
        .attributes()
        .map(|a| {
            (
                a.namespace().unwrap_or(""),
                a.name(),
                &text[a.range_qname()],
                a.value(),
            )
        })
        .collect();
    attrs.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    for (_, _, qn, value) in attrs {
        out.push(' ');
        out.push_str(qn);
        out.push_str("=\"");
        escape_attr(out, value);
        out.push('"');
    }
    out.push('>');
    for c in node.children() {
        if Some(c.id()) == exclude {
            continue;
        }
        if c.is_element() {
            element(out, c, &now_rendered, exclude, inclusive);
        } else if c.is_text() {
            escape_text(out, c.text().unwrap_or(""));
        } else if let Some(pi) = c.pi() {
            out.push_str("<?");
            out.push_str(pi.target);
            if let Some(v) = pi.value {
                out.push(' ');
                out.push_str(v);
            }
            out.push_str("?>");
        }
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    fn c14n(xml: &str, path: &[&str], inclusive: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut node = doc.root_element();
        for name in path {
            node = node
                .children()
                .find(|c| c.tag_name().name() == *name)
                .unwrap();
        }
        canonicalize(node, None, inclusive)
    }

    #[test]
    fn only_visibly_used_namespaces_attributes_sorted_empty_elements_expanded() {
        let xml = r#"<a:Root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c"><b:Child z="1" c:y="2" a="3" b:x='4&amp;"'/></a:Root>"#;
        assert_eq!(
            c14n(xml, &["Child"], &[]),
            r#"<b:Child xmlns:b="urn:b" xmlns:c="urn:c" a="3" z="1" b:x="4&amp;&quot;" c:y="2"></b:Child>"#
        );
        // The PrefixList brings in a prefix that is in scope but not used.
        assert_eq!(
            c14n(xml, &["Child"], &["a", "zz"]),
            r#"<b:Child xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" a="3" z="1" b:x="4&amp;&quot;" c:y="2"></b:Child>"#
        );
    }

    #[test]
    fn declarations_are_not_repeated_and_default_namespace_is_undone() {
        let xml = r#"<r xmlns="urn:d"><p:e xmlns:p="urn:p"><p:f>t&lt;&gt;&#xD;</p:f><g xmlns=""/></p:e><!--c--></r>"#;
        assert_eq!(
            c14n(xml, &[], &[]),
            "<r xmlns=\"urn:d\"><p:e xmlns:p=\"urn:p\"><p:f>t&lt;&gt;&#xD;</p:f><g xmlns=\"\"></g></p:e></r>"
        );
        // Apex in no namespace: no xmlns="" needed.
        assert_eq!(c14n(xml, &["e", "g"], &[]), "<g></g>".to_owned());
    }
}
