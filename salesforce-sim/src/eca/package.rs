//! The deploy zip: `package.xml` (and the destructive-changes manifests) and the component
//! files it names, read into a [`Package`]. Problems with single files are kept for the deploy
//! result; only a file that is not a zip at all (or too large) fails the whole call.

use std::collections::BTreeMap;
use std::io::Read as _;

use roxmltree::Node;

use crate::eca::kind::Kind;
use crate::metadata_types::{Deser, Elem, MD_NS, from_xml};
use crate::xml;

/// One component file of the zip, deserialized (or the problem with it).
#[derive(Debug, Clone)]
pub struct Comp {
    pub kind: Kind,
    pub name: String,
    pub file: String,
    pub fields: Result<Vec<Elem>, String>,
}

/// The parsed zip.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub components: Vec<Comp>,
    pub pre_deletes: Vec<(Kind, String)>,
    pub post_deletes: Vec<(Kind, String)>,
    /// Problems found while reading the zip (file, fullName, problem, componentType).
    pub problems: Vec<(String, String, String, Option<Kind>)>,
}

impl Package {
    /// The component names, for the call log.
    pub fn names(&self) -> Vec<String> {
        self.components
            .iter()
            .map(|c| c.name.clone())
            .chain(
                self.pre_deletes
                    .iter()
                    .chain(&self.post_deletes)
                    .map(|(_, n)| n.clone()),
            )
            .collect()
    }
}

const MAX_ENTRIES: usize = 1000;
const MAX_UNZIPPED: u64 = 20 * 1024 * 1024;

/// Reads the zip into a [`Package`]. `Err` → the whole call fails (not a zip at all).
pub fn read_zip(bytes: &[u8], version: u32) -> Result<Package, String> {
    let files = unzip(bytes)?;
    let mut pkg = Package::default();
    // package.xml at the root, or in one top-level folder (e.g. `unpackaged/package.xml`).
    let prefix = if files.contains_key("package.xml") {
        String::new()
    } else if let Some(p) = files
        .keys()
        .find(|k| k.ends_with("/package.xml") && k.matches('/').count() == 1)
    {
        p.trim_end_matches("package.xml").to_owned()
    } else {
        pkg.problems.push((
            "package.xml".into(),
            "package.xml".into(),
            "No package.xml found".into(),
            None,
        ));
        return Ok(pkg);
    };
    let manifest = |file: &str, pkg: &mut Package| -> Vec<(Kind, String)> {
        let Some(text) = files.get(&format!("{prefix}{file}")) else {
            return Vec::new();
        };
        match parse_manifest(text, version) {
            Ok((members, problems)) => {
                for p in problems {
                    pkg.problems.push((file.into(), file.into(), p, None));
                }
                members
            }
            Err(p) => {
                pkg.problems.push((file.into(), file.into(), p, None));
                Vec::new()
            }
        }
    };
    let members = manifest("package.xml", &mut pkg);
    pkg.pre_deletes = manifest("destructiveChangesPre.xml", &mut pkg);
    pkg.post_deletes = manifest("destructiveChanges.xml", &mut pkg);
    let post = manifest("destructiveChangesPost.xml", &mut pkg);
    pkg.post_deletes.extend(post);
    for (kind, name) in members {
        let file = kind.file_name(&name);
        let Some(text) = files.get(&format!("{prefix}{file}")) else {
            pkg.problems.push((
                "package.xml".into(),
                name.clone(),
                format!(
                    "An object '{name}' of type {} was named in package.xml, but was not found in zipped directory",
                    kind.info().name
                ),
                Some(kind),
            ));
            continue;
        };
        let fields = parse_component(text, kind);
        pkg.components.push(Comp {
            kind,
            name,
            file,
            fields,
        });
    }
    Ok(pkg)
}

/// The text files of the zip by path (a leading `./` dropped), within the entry and size caps.
fn unzip(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The zip file is not valid: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("The zip file has more than {MAX_ENTRIES} entries"));
    }
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| format!("The zip file is not valid: {e}"))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map_err(|e| format!("The zip file is not valid: {e}"))?
            .trim_start_matches("./")
            .to_owned();
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_UNZIPPED - total + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("The zip file is not valid: {name}: {e}"))?;
        total += buf.len() as u64;
        if total > MAX_UNZIPPED {
            return Err(format!(
                "The zip file expands to more than {MAX_UNZIPPED} bytes"
            ));
        }
        let text = String::from_utf8(buf).map_err(|_| format!("{name}: not UTF-8"))?;
        files.insert(name, text);
    }
    Ok(files)
}

/// Members of a manifest, and per-type problems (unknown type names, wildcards).
type Manifest = (Vec<(Kind, String)>, Vec<String>);

fn parse_manifest(text: &str, version: u32) -> Result<Manifest, String> {
    let doc = xml::parse(text).map_err(|e| format!("Error parsing file: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Package" || root.tag_name().namespace() != Some(MD_NS) {
        return Err(format!(
            "Error parsing file: the root element must be {{{MD_NS}}}Package"
        ));
    }
    let mut members = Vec::new();
    let mut problems = Vec::new();
    for types in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "types")
    {
        let name = child_text(types, "name").unwrap_or_default();
        let Some(kind) = Kind::from_type(&name).filter(|k| k.available(version)) else {
            problems.push(format!(
                "Unknown type name '{name}' specified in package.xml"
            ));
            continue;
        };
        for m in types
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "members")
        {
            let member = m.text().unwrap_or("").trim().to_owned();
            if member == "*" {
                problems.push(format!(
                    "Wildcard members are not supported by salesforce-sim for {name}"
                ));
                continue;
            }
            members.push((kind, member));
        }
    }
    Ok((members, problems))
}

fn child_text(n: Node, name: &str) -> Option<String> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .map(|c| c.text().unwrap_or("").trim().to_owned())
}

fn parse_component(text: &str, kind: Kind) -> Result<Vec<Elem>, String> {
    let doc = xml::parse(text).map_err(|e| format!("Error parsing file: {e}"))?;
    let root = doc.root_element();
    let info = kind.info();
    if root.tag_name().name() != info.name || root.tag_name().namespace() != Some(MD_NS) {
        return Err(format!(
            "Error parsing file: the root element must be {{{MD_NS}}}{}, not {{{}}}{}",
            info.name,
            root.tag_name().namespace().unwrap_or(""),
            root.tag_name().name()
        ));
    }
    from_xml(root, info.def).map_err(|Deser(m)| format!("Error parsing file: {m}"))
}
