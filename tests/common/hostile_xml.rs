//! Hostile XML the parsers must refuse: the same pieces for the client's tests (a SOAP answer)
//! and the operator's (IdP metadata).

/// `<!DOCTYPE lolz [...]>` whose entity `&lol9;` expands to 10^9 `lol`s ("billion laughs").
pub fn billion_laughs_doctype() -> String {
    let mut d = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for l in 1..=9 {
        let prev = if l == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", l - 1)
        };
        d.push_str(&format!(
            "<!ENTITY lol{l} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    d + "]>"
}

/// `<!DOCTYPE root [...]>` declaring `&name;` as the external entity `file:///etc/passwd`.
pub fn external_entity_doctype(root: &str, name: &str) -> String {
    format!("<!DOCTYPE {root} [<!ENTITY {name} SYSTEM \"file:///etc/passwd\">]>")
}
