//! The SOQL the simulator understands: `SELECT f, ... FROM SetupEntityAccess [WHERE f = 'v' |
//! f IN ('v', ...) [AND ...]]`, keywords in any case. Everything else is refused with the error
//! Salesforce gives (REST API guide: HTTP 400 `[{"message", "errorCode"}]`; the messages are
//! Salesforce's well-known texts for unknown objects and columns; a parse error is
//! `MALFORMED_QUERY`).

/// A parsed query: the selected fields and the `AND`ed filters (field, accepted values).
#[derive(Debug, PartialEq)]
pub struct Query {
    pub fields: Vec<String>,
    pub filters: Vec<(String, Vec<String>)>,
}

/// The fields of `SetupEntityAccess` (and its parent) a query may name.
const FIELDS: &[&str] = &[
    "id",
    "parentid",
    "setupentityid",
    "setupentitytype",
    "parent.name",
    "parent.isownedbyprofile",
    "parent.profileid",
    "parent.profile.name",
];
const FILTERABLE: &[&str] = &["id", "parentid", "setupentityid", "setupentitytype"];

type SoqlError = (&'static str, String);

fn malformed(what: &str) -> SoqlError {
    ("MALFORMED_QUERY", format!("unexpected token: '{what}'"))
}

fn no_column(field: &str) -> SoqlError {
    (
        "INVALID_FIELD",
        format!(
            "No such column '{field}' on entity 'SetupEntityAccess'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// Splits into tokens: words, quoted strings (kept with their quotes), `,` `(` `)` `=`.
fn tokens(q: &str) -> Result<Vec<String>, SoqlError> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::from("'");
            loop {
                match chars.next() {
                    Some('\\') => s.extend(chars.next()),
                    Some('\'') => break,
                    Some(x) => s.push(x),
                    None => return Err(malformed(&s)),
                }
            }
            out.push(s);
        } else if ",()=".contains(c) {
            out.push(c.to_string());
            chars.next();
        } else {
            let mut s = String::new();
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() || ",()='".contains(x) {
                    break;
                }
                s.push(x);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

fn keyword(t: Option<&String>, k: &str) -> bool {
    t.is_some_and(|t| t.eq_ignore_ascii_case(k))
}

fn literal(t: Option<String>) -> Result<String, SoqlError> {
    match t {
        Some(v) if v.starts_with('\'') => Ok(v[1..].to_owned()),
        Some(v) => Err(malformed(&v)),
        None => Err(malformed("<end of query>")),
    }
}

/// One `field = 'v'` or `field IN ('v', ...)`.
fn condition(
    it: &mut std::iter::Peekable<std::vec::IntoIter<String>>,
) -> Result<(String, Vec<String>), SoqlError> {
    let field = it.next().ok_or_else(|| malformed("<end of query>"))?;
    if !FILTERABLE.contains(&field.to_ascii_lowercase().as_str()) {
        return Err(no_column(&field));
    }
    match it.next() {
        Some(op) if op == "=" => Ok((field, vec![literal(it.next())?])),
        Some(op) if op.eq_ignore_ascii_case("IN") => {
            if it.next().as_deref() != Some("(") {
                return Err(malformed("IN"));
            }
            let mut values = vec![literal(it.next())?];
            loop {
                match it.next().as_deref() {
                    Some(",") => values.push(literal(it.next())?),
                    Some(")") => break,
                    other => return Err(malformed(other.unwrap_or("<end of query>"))),
                }
            }
            Ok((field, values))
        }
        other => Err(malformed(other.as_deref().unwrap_or("<end of query>"))),
    }
}

/// Parses a query; Err: (errorCode, message).
pub fn parse(q: &str) -> Result<Query, SoqlError> {
    let mut it = tokens(q)?.into_iter().peekable();
    if !keyword(it.peek(), "SELECT") {
        return Err(malformed(it.peek().map_or("<empty query>", |s| s.as_str())));
    }
    it.next();
    let mut fields = Vec::new();
    loop {
        let f = it.next().ok_or_else(|| malformed("<end of query>"))?;
        fields.push(f);
        if it.peek().map(String::as_str) == Some(",") {
            it.next();
        } else {
            break;
        }
    }
    if !keyword(it.next().as_ref(), "FROM") {
        return Err(malformed("FROM"));
    }
    let object = it.next().ok_or_else(|| malformed("<end of query>"))?;
    if !object.eq_ignore_ascii_case("SetupEntityAccess") {
        return Err((
            "INVALID_TYPE",
            format!(
                "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        ));
    }
    if let Some(f) = fields
        .iter()
        .find(|f| !FIELDS.contains(&f.to_ascii_lowercase().as_str()))
    {
        return Err(no_column(f));
    }
    let mut filters = Vec::new();
    if keyword(it.peek(), "WHERE") {
        it.next();
        filters.push(condition(&mut it)?);
        while keyword(it.peek(), "AND") {
            it.next();
            filters.push(condition(&mut it)?);
        }
    }
    if let Some(extra) = it.next() {
        return Err(malformed(&extra));
    }
    Ok(Query { fields, filters })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_grant_query() {
        let q = parse("select Id, Parent.Profile.Name FROM SetupEntityAccess where SetupEntityId = '0xI1' AND SetupEntityType IN ('ExternalClientApplication')").unwrap();
        assert_eq!(q.fields, vec!["Id", "Parent.Profile.Name"]);
        assert_eq!(q.filters.len(), 2);
        assert_eq!(
            parse("SELECT Id FROM Account").unwrap_err().0,
            "INVALID_TYPE"
        );
        assert_eq!(
            parse("SELECT Foo FROM SetupEntityAccess").unwrap_err().0,
            "INVALID_FIELD"
        );
        assert_eq!(
            parse("SELECT Id FROM SetupEntityAccess LIMIT 1")
                .unwrap_err()
                .0,
            "MALFORMED_QUERY"
        );
    }
}
