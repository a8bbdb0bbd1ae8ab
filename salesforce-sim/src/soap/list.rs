//! `listMetadata` (salesforce-api.md §5.2): at most 3 queries, each `<type>` (and an ignored
//! `<folder>`); answers one `FileProperties` per component of the listed types.

use jiff::Timestamp;
use roxmltree::Node;

use crate::eca::kind::Kind;
use crate::metadata_types::{MD_NS, esc};
use crate::soap::envelope::{Ctx, client_fault, invalid_here, ok_envelope, required};
use crate::state::State;
use crate::xml;
use axum::response::Response;

/// The types of the queries; Err when the call fails whole.
fn queries(op: Node) -> Result<Vec<String>, Box<Response>> {
    let mut queries: Vec<String> = Vec::new();
    for c in xml::elements(op) {
        match (c.tag_name().namespace().unwrap_or(""), c.tag_name().name()) {
            (MD_NS, "queries") => {
                let mut ty = None;
                for q in xml::elements(c) {
                    match (q.tag_name().namespace().unwrap_or(""), q.tag_name().name()) {
                        (MD_NS, "type") if ty.is_none() => ty = Some(xml::text(q)),
                        (MD_NS, "folder") => {}
                        _ => return Err(Box::new(invalid_here(q))),
                    }
                }
                queries.push(ty.ok_or_else(|| Box::new(required("type")))?);
            }
            (MD_NS, "asOfVersion") => {
                if xml::text(c).parse::<f64>().is_err() {
                    return Err(Box::new(client_fault(&format!(
                        "'{}' is not valid for the type xsd:double",
                        xml::text(c)
                    ))));
                }
            }
            _ => return Err(Box::new(invalid_here(c))),
        }
    }
    if queries.len() > 3 {
        return Err(Box::new(client_fault(
            "listMetadata accepts at most 3 queries per call",
        )));
    }
    Ok(queries)
}

/// One component as `listMetadata` lists it.
struct Listed<'a> {
    ty: &'a str,
    full_name: &'a str,
    file: String,
    id: &'a str,
    created: Timestamp,
    modified: Timestamp,
}

/// `FileProperties` of the components `user` created and last modified.
fn render(out: &mut String, (user_id, user_name): &(String, String), c: Listed) {
    out.push_str(&format!(
        concat!(
            "<result><createdById>{uid}</createdById><createdByName>{uname}</createdByName>",
            "<createdDate>{cd}</createdDate><fileName>{file}</fileName>",
            "<fullName>{fname}</fullName><id>{id}</id>",
            "<lastModifiedById>{uid}</lastModifiedById><lastModifiedByName>{uname}</lastModifiedByName>",
            "<lastModifiedDate>{md}</lastModifiedDate><manageableState>unmanaged</manageableState>",
            "<type>{ty}</type></result>"
        ),
        uid = esc(user_id),
        uname = esc(user_name),
        cd = xml::date_time(c.created),
        md = xml::date_time(c.modified),
        file = esc(&c.file),
        fname = esc(c.full_name),
        id = esc(c.id),
        ty = esc(c.ty),
    ));
}

/// The components of type `ty` the org lists (none for a type it does not know).
fn listed<'a>(st: &'a State, ty: &'a str, version: u32) -> Vec<Listed<'a>> {
    match ty {
        "ConnectedApp" => st
            .apps
            .iter()
            .map(|(name, app)| Listed {
                ty: "ConnectedApp",
                full_name: name,
                file: format!("connectedApps/{name}.connectedApp"),
                id: &app.id,
                created: app.created,
                modified: app.modified,
            })
            .collect(),
        "Certificate" => st
            .certificates
            .iter()
            .map(|(name, c)| Listed {
                ty: "Certificate",
                full_name: name,
                file: format!("certs/{name}.crt"),
                id: &c.id,
                created: c.created,
                modified: c.created,
            })
            .collect(),
        other if Kind::from_type(other).is_some_and(|k| k.available(version)) => {
            let k = Kind::from_type(other).unwrap_or(Kind::App);
            st.eca
                .map(k)
                .iter()
                .map(|(name, c)| Listed {
                    ty: other,
                    full_name: name,
                    file: k.file_name(name),
                    id: &c.id,
                    created: c.created,
                    modified: c.modified,
                })
                .collect()
        }
        "Settings" | "IdentityProviderSettings" => {
            let t = st.now();
            vec![Listed {
                ty: "Settings",
                full_name: "IdentityProvider",
                file: "settings/IdentityProvider.settings".into(),
                id: "",
                created: t,
                modified: t,
            }]
        }
        _ => Vec::new(),
    }
}

pub fn list_metadata(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let queries = match queries(op) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    ctx.metadata_type = queries.first().cloned();
    let user = st.first_user();
    let mut out = String::from("<listMetadataResponse>");
    for ty in &queries {
        for c in listed(st, ty, ctx.version) {
            ctx.full_names.push(c.full_name.to_owned());
            render(&mut out, &user, c);
        }
    }
    out.push_str("</listMetadataResponse>");
    ok_envelope(&out)
}
