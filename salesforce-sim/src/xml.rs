//! Hardened XML parsing and the small helpers the SOAP handlers and the deploy reader share.
//!
//! Every XML document the simulator reads (SOAP requests, `package.xml`, component files in a
//! deploy zip) goes through [`parse`]: DTDs are refused, and the node count and the nesting depth
//! are capped (limits-faults-security.md §4.5), so no request can make it expand entities or
//! recurse without bound.

use jiff::Timestamp;
use roxmltree::{Document, Node, ParsingOptions};

/// Most nodes in one document.
pub const NODES_LIMIT: u32 = 100_000;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 48;

/// Parse XML with the simulator's hardening.
pub fn parse(text: &str) -> Result<Document<'_>, String> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| e.to_string())?;
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        for c in node.children().filter(|c| c.is_element()) {
            stack.push((c, depth + 1));
        }
    }
    Ok(doc)
}

/// The element children of `node`.
pub fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

/// The first element child of `node` in namespace `ns` named `name`.
pub fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    elements(node).find(|c| c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name)
}

/// The text content of `node`, trimmed.
pub fn text(node: Node) -> String {
    node.children()
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An `xsd:dateTime` as Salesforce renders it: UTC with milliseconds (`2026-01-02T03:04:05.000Z`).
pub fn date_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
