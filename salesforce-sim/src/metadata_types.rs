//! Schema-driven handling of Metadata API components: the WSDL element tables
//! (`wsdl_types.rs`, from the v63.0 WSDL, the authoritative contract of salesforce-api.md §13),
//! a small element tree, strict deserialization from request XML and from JSON/YAML, and
//! rendering back to XML and JSON.
//!
//! Strictness (see docs/simulator.md): unknown elements, elements in another namespace,
//! a second occurrence of a non-repeatable element, text inside a complex element,
//! bad enum tokens and malformed booleans/ints are deserialization errors (a
//! `soapenv:Client` fault, as Salesforce's SOAP stack reports them). Missing required
//! elements are semantic errors (a per-component `REQUIRED_FIELD_MISSING`). Element order
//! is NOT enforced (Salesforce accepts children in any order; jsforce relies on it), but
//! responses are always rendered in WSDL sequence order.

use roxmltree::Node;
use serde_json::{Map, Value};

pub const MD_NS: &str = "http://soap.sforce.com/2006/04/metadata";
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// An XSD type, reduced to what the simulator needs.
#[derive(Debug)]
pub enum Ty {
    Str,
    Bool,
    Int,
    /// Not used by the current tables; kept so regenerated tables compile.
    #[allow(dead_code)]
    Double,
    Base64,
    DateTime,
    Enum(&'static EnumDef),
    Complex(&'static ComplexDef),
}

#[derive(Debug)]
pub struct EnumDef {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub many: bool,
}

#[derive(Debug)]
pub struct ComplexDef {
    pub name: &'static str,
    pub fields: &'static [FieldDef],
}

impl ComplexDef {
    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// One element of a component: a simple value (`text`) or a complex one (`children`).
#[derive(Debug, Clone, PartialEq)]
pub struct Elem {
    pub name: String,
    pub text: String,
    pub children: Vec<Elem>,
}

impl Elem {
    /// A simple element (no children).
    pub fn leaf(name: &str, text: impl Into<String>) -> Elem {
        Elem {
            name: name.to_owned(),
            text: text.into(),
            children: Vec::new(),
        }
    }
}

/// A deserialization error: becomes a `soapenv:Client` fault with this faultstring.
#[derive(Debug)]
pub struct Deser(pub String);

fn invalid_here(ns: &str, name: &str) -> Deser {
    Deser(format!("Element {{{ns}}}{name} invalid at this location"))
}

/// Check one scalar value against its type. The message follows Salesforce's wording for enums.
pub fn check_scalar(ty: &Ty, value: &str) -> Result<(), String> {
    match ty {
        Ty::Enum(e) => {
            if e.values.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "'{value}' is not a valid value for the enum '{}'",
                    e.name
                ))
            }
        }
        Ty::Bool => match value {
            "true" | "false" | "1" | "0" => Ok(()),
            _ => Err(format!("'{value}' is not valid for the type xsd:boolean")),
        },
        Ty::Int => value
            .parse::<i32>()
            .map(|_| ())
            .map_err(|_| format!("'{value}' is not valid for the type xsd:int")),
        Ty::Double => value
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| format!("'{value}' is not valid for the type xsd:double")),
        Ty::DateTime => value
            .parse::<jiff::Timestamp>()
            .map(|_| ())
            .map_err(|_| format!("'{value}' is not valid for the type xsd:dateTime")),
        Ty::Str | Ty::Base64 | Ty::Complex(_) => Ok(()),
    }
}

fn is_nil(node: Node) -> bool {
    node.attribute((XSI_NS, "nil"))
        .is_some_and(|v| v == "true" || v == "1")
}

/// Deserialize the children of `node` as an instance of `def` (strict, see module docs).
pub fn from_xml(node: Node, def: &'static ComplexDef) -> Result<Vec<Elem>, Deser> {
    let mut out: Vec<Elem> = Vec::new();
    for child in node.children() {
        if child.is_text() {
            if child.text().is_some_and(|t| !t.trim().is_empty()) {
                return Err(Deser(format!(
                    "Unexpected text in element {{{MD_NS}}}{}",
                    node.tag_name().name()
                )));
            }
            continue;
        }
        if !child.is_element() {
            continue;
        }
        let ns = child.tag_name().namespace().unwrap_or("");
        let name = child.tag_name().name();
        if ns != MD_NS {
            return Err(invalid_here(ns, name));
        }
        let Some(field) = def.fields.iter().find(|f| f.name == name) else {
            return Err(invalid_here(ns, name));
        };
        if !field.many && out.iter().any(|e| e.name == name) {
            return Err(invalid_here(ns, name));
        }
        if is_nil(child) {
            continue;
        }
        let elem = match &field.ty {
            Ty::Complex(inner) => Elem {
                name: name.to_owned(),
                text: String::new(),
                children: from_xml(child, inner)?,
            },
            ty => {
                if child.children().any(|c| c.is_element()) {
                    return Err(invalid_here(
                        child
                            .children()
                            .find(|c| c.is_element())
                            .and_then(|c| c.tag_name().namespace())
                            .unwrap_or(""),
                        child
                            .children()
                            .find(|c| c.is_element())
                            .map(|c| c.tag_name().name())
                            .unwrap_or(""),
                    ));
                }
                let raw: String = child.children().filter_map(|c| c.text()).collect();
                let value = raw.trim().to_owned();
                check_scalar(ty, &value).map_err(Deser)?;
                Elem {
                    name: name.to_owned(),
                    text: normalize_scalar(ty, value),
                    children: Vec::new(),
                }
            }
        };
        out.push(elem);
    }
    sort(&mut out, def);
    Ok(out)
}

fn normalize_scalar(ty: &Ty, value: String) -> String {
    match (ty, value.as_str()) {
        (Ty::Bool, "1") => "true".into(),
        (Ty::Bool, "0") => "false".into(),
        _ => value,
    }
}

/// Puts elements in WSDL sequence order (unknown names last).
pub fn sort(elems: &mut [Elem], def: &ComplexDef) {
    elems.sort_by_key(|e| def.position(&e.name).unwrap_or(usize::MAX));
}

/// Deserialize a JSON object (org file, `/__sim/mutate`) as an instance of `def`.
pub fn from_json(value: &Value, def: &'static ComplexDef) -> Result<Vec<Elem>, String> {
    let Value::Object(map) = value else {
        return Err(format!("{} must be an object", def.name));
    };
    let mut out = Vec::new();
    for (key, v) in map {
        let Some(field) = def.fields.iter().find(|f| f.name == key) else {
            return Err(format!("unknown field {key:?} for {}", def.name));
        };
        let items: Vec<&Value> = match v {
            Value::Null => continue,
            Value::Array(a) if field.many => a.iter().collect(),
            Value::Array(_) => return Err(format!("{key} is not a list")),
            other => vec![other],
        };
        for item in items {
            let elem = match &field.ty {
                Ty::Complex(inner) => Elem {
                    name: key.clone(),
                    text: String::new(),
                    children: from_json(item, inner).map_err(|e| format!("{key}: {e}"))?,
                },
                ty => {
                    let text = match item {
                        Value::String(s) => s.trim().to_owned(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return Err(format!("{key} must be a scalar")),
                    };
                    check_scalar(ty, &text).map_err(|e| format!("{key}: {e}"))?;
                    Elem {
                        name: key.clone(),
                        text: normalize_scalar(ty, text),
                        children: Vec::new(),
                    }
                }
            };
            out.push(elem);
        }
    }
    sort(&mut out, def);
    Ok(out)
}

/// Render as JSON with WSDL field names (lists for repeatable fields, typed scalars).
pub fn to_json(elems: &[Elem], def: &'static ComplexDef) -> Value {
    let mut map = Map::new();
    for field in def.fields {
        let matching: Vec<&Elem> = elems.iter().filter(|e| e.name == field.name).collect();
        if matching.is_empty() {
            continue;
        }
        let conv = |e: &Elem| -> Value {
            match &field.ty {
                Ty::Complex(inner) => to_json(&e.children, inner),
                Ty::Bool => Value::Bool(e.text == "true"),
                Ty::Int => e
                    .text
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(e.text.clone())),
                _ => Value::String(e.text.clone()),
            }
        };
        let v = if field.many {
            Value::Array(matching.into_iter().map(conv).collect())
        } else {
            conv(matching[0])
        };
        map.insert(field.name.to_owned(), v);
    }
    Value::Object(map)
}

/// Required fields (recursively) that are absent, as dotted paths.
pub fn missing_required(elems: &[Elem], def: &ComplexDef, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for field in def.fields {
        let path = if prefix.is_empty() {
            field.name.to_owned()
        } else {
            format!("{prefix}.{}", field.name)
        };
        let present: Vec<&Elem> = elems.iter().filter(|e| e.name == field.name).collect();
        if field.required && present.is_empty() {
            out.push(path.clone());
        }
        if let Ty::Complex(inner) = &field.ty {
            for e in present {
                out.extend(missing_required(&e.children, inner, &path));
            }
        }
    }
    out
}

/// XML-escape text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Render elements (already in WSDL order) as unprefixed XML in the default namespace.
pub fn render(elems: &[Elem], out: &mut String) {
    for e in elems {
        out.push('<');
        out.push_str(&e.name);
        out.push('>');
        if e.children.is_empty() {
            out.push_str(&esc(&e.text));
        } else {
            render(&e.children, out);
        }
        out.push_str("</");
        out.push_str(&e.name);
        out.push('>');
    }
}

/// Text of the first element named `name`.
pub fn text<'a>(elems: &'a [Elem], name: &str) -> Option<&'a str> {
    elems
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.text.as_str())
}

/// Children of the first complex element named `name`.
pub fn child<'a>(elems: &'a [Elem], name: &str) -> Option<&'a [Elem]> {
    elems
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.children.as_slice())
}

/// All texts of elements named `name`.
pub fn texts<'a>(elems: &'a [Elem], name: &str) -> Vec<&'a str> {
    elems
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.text.as_str())
        .collect()
}
