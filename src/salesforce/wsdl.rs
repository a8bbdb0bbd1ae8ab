//! What the typed Metadata API models (`model/`, `eca/`) share on the wire: WSDL enumerations with
//! their exact tokens, optional boolean and enumeration elements, `xsd:dateTime`, and the two shapes
//! a component is rendered in (a CRUD `<metadata xsi:type>` element, a deploy file).
//!
//! Generic XML reading and writing (hardened parsing, escaping, child lookup) is in `xml.rs`.

use roxmltree::Node;

use super::xml::{child_text, parse_bool, push_elem};

/// The Metadata API namespace: SOAP bodies, deploy files and `package.xml`.
pub const METADATA_NS: &str = "http://soap.sforce.com/2006/04/metadata";

/// A WSDL enumeration: the variants with their wire tokens, `ALL` in WSDL order, `as_token`,
/// `from_token` (exact, tokens are case-sensitive) and `Display` as the token.
macro_rules! wsdl_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $token:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in WSDL order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The WSDL enumeration token.
            pub fn as_token(self) -> &'static str {
                match self { $($name::$variant => $token),+ }
            }

            /// Parses a WSDL token exactly (tokens are case-sensitive on the wire).
            pub fn from_token(s: &str) -> Option<Self> {
                match s { $($token => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_token())
            }
        }
    };
}

pub(crate) use wsdl_enum;

/// Appends `<name>true</name>` or `<name>false</name>`; nothing for `None`.
pub fn push_bool(out: &mut String, name: &str, value: Option<bool>) {
    if let Some(b) = value {
        push_elem(out, name, if b { "true" } else { "false" });
    }
}

/// An optional `xsd:boolean` child element.
pub fn opt_bool(node: Node<'_, '_>, name: &str) -> Result<Option<bool>, String> {
    match child_text(node, name) {
        None => Ok(None),
        Some(t) => parse_bool(&t)
            .map(Some)
            .ok_or_else(|| format!("{name}: not a boolean: '{}'", t.trim())),
    }
}

/// Parses the (trimmed) text of element `name` as an enumeration token.
pub fn token<T>(name: &str, text: &str, from_token: fn(&str) -> Option<T>) -> Result<T, String> {
    from_token(text.trim()).ok_or_else(|| format!("{name}: unknown token '{}'", text.trim()))
}

/// An optional enumeration child element; an unknown token is an error, not `None`.
pub fn opt_token<T>(
    node: Node<'_, '_>,
    name: &str,
    from_token: fn(&str) -> Option<T>,
) -> Result<Option<T>, String> {
    child_text(node, name)
        .map(|t| token(name, &t, from_token))
        .transpose()
}

/// `<metadata xsi:type="T"><fullName>..</fullName>{body}</metadata>`: a component as CRUD calls
/// (`upsertMetadata`, ...) carry it.
pub fn metadata_element(type_name: &str, full_name: &str, body: &str) -> String {
    let mut out = format!("<metadata xsi:type=\"{type_name}\">");
    push_elem(&mut out, "fullName", full_name);
    out.push_str(body);
    out.push_str("</metadata>");
    out
}

/// A component as a deploy zip carries it: an XML file whose root is the type (no `fullName`:
/// the file name says it).
pub fn metadata_file(type_name: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{type_name} xmlns=\"{METADATA_NS}\">{body}</{type_name}>\n"
    )
}

/// `xsd:dateTime` as Salesforce writes it (`2026-11-27T21:53:00.000Z`); a value without an offset
/// is taken as UTC.
pub fn parse_datetime(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("dateTime '{s}': {e}"));
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("date '{s}': {e}"));
    }
    Err(format!("not an xsd:dateTime: '{s}'"))
}

/// The tokens of an enumeration (`ALL`, shown as tokens) joined with `|`, for tests that pin them
/// to the WSDL.
#[cfg(test)]
pub fn tokens<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::xml;

    wsdl_enum!(
        /// A test enumeration.
        Color {
            Red => "RED",
            Green => "Green",
        }
    );

    #[test]
    fn optional_elements_parse_or_name_the_bad_value() {
        let doc = xml::parse(
            "t",
            "<r><a> true </a><c> Green </c><d>green</d><e>yes</e></r>",
        )
        .unwrap();
        let r = doc.root_element();
        assert_eq!(opt_bool(r, "a"), Ok(Some(true)));
        assert_eq!(opt_bool(r, "b"), Ok(None));
        assert_eq!(opt_bool(r, "e"), Err("e: not a boolean: 'yes'".to_string()));
        assert_eq!(opt_token(r, "c", Color::from_token), Ok(Some(Color::Green)));
        assert_eq!(opt_token(r, "b", Color::from_token), Ok(None));
        assert_eq!(
            opt_token(r, "d", Color::from_token),
            Err("d: unknown token 'green'".to_string())
        );
        assert_eq!(Color::Red.to_string(), "RED");
        assert_eq!(tokens(Color::ALL), "RED|Green");
    }

    #[test]
    fn datetimes_without_offset_are_utc() {
        assert_eq!(
            parse_datetime("2026-11-27T21:53:00.000Z")
                .unwrap()
                .to_string(),
            "2026-11-27T21:53:00Z"
        );
        assert_eq!(
            parse_datetime("2026-11-27T21:53:00").unwrap().to_string(),
            "2026-11-27T21:53:00Z"
        );
        assert_eq!(
            parse_datetime("2026-11-27").unwrap().to_string(),
            "2026-11-27T00:00:00Z"
        );
        assert!(parse_datetime("soon").is_err());
    }
}
