//! External Client Apps (ECAs): the three metadata types the operator uses
//! (`ExternalClientApplication`, `ExtlClntAppConfigurablePolicies`,
//! `ExtlClntAppSamlConfigurablePolicies`), their semantic checks, and the file-based
//! `deploy()` / `checkDeployStatus()` calls that create and change them.
//!
//! Choices (see docs/simulator.md, "External Client Apps"):
//! - Salesforce documents ECAs as created "using deploy and retrieve operations", so
//!   `createMetadata`/`updateMetadata`/`upsertMetadata` of these types give a per-component
//!   `INVALID_OPERATION`; `readMetadata`, `listMetadata` and `deleteMetadata` work.
//! - Zip layout follows the Metadata API guide: `package.xml`, `externalClientApps/<n>.eca`,
//!   `extlClntAppPolicies/<n>.ecaPlcy`, `extlClntAppSamlConfigurablePolicies/<n>.ecaSamlPlcy`,
//!   and optional `destructiveChanges.xml` / `destructiveChangesPre.xml` /
//!   `destructiveChangesPost.xml`.
//! - A deploy is checked and applied when it completes (on the poll after
//!   `policy.deployPollsInProgress` `InProgress` answers), in dependency order (apps, then
//!   policies, then SAML policies), whatever the order in the zip.

use std::collections::BTreeMap;
use std::io::Read as _;

use jiff::Timestamp;
use roxmltree::Node;

use super::metadata_types::{self as mt, ComplexDef, Deser, Elem, MD_NS, esc, from_xml};
use super::org::{State, StoredApp};
use super::wsdl_types::{
    EXTERNAL_CLIENT_APPLICATION, EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
};

/// The three ECA types, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    App,
    Policies,
    Saml,
}

pub struct KindInfo {
    pub name: &'static str,
    pub def: &'static ComplexDef,
    /// Folder in a deploy/retrieve zip.
    pub folder: &'static str,
    /// File suffix (without the dot).
    pub suffix: &'static str,
    /// First API version (major) that knows the type.
    pub min_version: u32,
    /// Key prefix of the ids the simulator hands out (assumption; not documented).
    pub id_prefix: &'static str,
}

pub static APP_INFO: KindInfo = KindInfo {
    name: "ExternalClientApplication",
    def: &EXTERNAL_CLIENT_APPLICATION,
    folder: "externalClientApps",
    suffix: "eca",
    min_version: 59,
    id_prefix: "0xI",
};
pub static POLICIES_INFO: KindInfo = KindInfo {
    name: "ExtlClntAppConfigurablePolicies",
    def: &EXTL_CLNT_APP_CONFIGURABLE_POLICIES,
    folder: "extlClntAppPolicies",
    suffix: "ecaPlcy",
    min_version: 60,
    id_prefix: "0xP",
};
pub static SAML_INFO: KindInfo = KindInfo {
    name: "ExtlClntAppSamlConfigurablePolicies",
    def: &EXTL_CLNT_APP_SAML_CONFIGURABLE_POLICIES,
    folder: "extlClntAppSamlConfigurablePolicies",
    suffix: "ecaSamlPlcy",
    min_version: 63,
    id_prefix: "0xS",
};

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::App, Kind::Policies, Kind::Saml];

    pub fn info(self) -> &'static KindInfo {
        match self {
            Kind::App => &APP_INFO,
            Kind::Policies => &POLICIES_INFO,
            Kind::Saml => &SAML_INFO,
        }
    }

    pub fn from_type(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.info().name == name)
    }

    pub fn available(self, version: u32) -> bool {
        version >= self.info().min_version
    }

    pub fn file_name(self, name: &str) -> String {
        format!("{}/{name}.{}", self.info().folder, self.info().suffix)
    }
}

/// The org's ECA components, keyed by fullName.
#[derive(Debug, Clone, Default)]
pub struct EcaStore {
    pub apps: BTreeMap<String, StoredApp>,
    pub policies: BTreeMap<String, StoredApp>,
    pub saml: BTreeMap<String, StoredApp>,
}

impl EcaStore {
    pub fn map(&self, k: Kind) -> &BTreeMap<String, StoredApp> {
        match k {
            Kind::App => &self.apps,
            Kind::Policies => &self.policies,
            Kind::Saml => &self.saml,
        }
    }

    pub fn map_mut(&mut self, k: Kind) -> &mut BTreeMap<String, StoredApp> {
        match k {
            Kind::App => &mut self.apps,
            Kind::Policies => &mut self.policies,
            Kind::Saml => &mut self.saml,
        }
    }

    /// The component of kind `k` whose `externalClientApplication` is `app`.
    pub fn child_of(&self, k: Kind, app: &str) -> Option<(&String, &StoredApp)> {
        self.map(k)
            .iter()
            .find(|(_, c)| mt::text(&c.fields, "externalClientApplication") == Some(app))
    }

    /// Deletes a component; deleting an app also deletes its policies (cascade, assumption).
    /// Returns whether it existed.
    pub fn delete(&mut self, k: Kind, name: &str) -> bool {
        let existed = self.map_mut(k).remove(name).is_some();
        if existed && k == Kind::App {
            for child in [Kind::Policies, Kind::Saml] {
                self.map_mut(child)
                    .retain(|_, c| mt::text(&c.fields, "externalClientApplication") != Some(name));
            }
        }
        existed
    }
}

pub fn valid_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
        && name.len() <= 80
}

fn is_true(fields: &[Elem], name: &str) -> bool {
    mt::text(fields, name) == Some("true")
}

/// Semantic checks of one component against `store` (the org as it will be, including the
/// components of the same deploy that were applied before this one). Returns problems
/// (Salesforce-style messages; the wording is an assumption where no source gives it).
pub fn check_component(
    st: &State,
    store: &EcaStore,
    kind: Kind,
    name: &str,
    fields: &[Elem],
) -> Vec<String> {
    let mut problems = Vec::new();
    if !valid_api_name(name) {
        problems.push(format!(
            "The API name '{name}' can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores."
        ));
    }
    for path in mt::missing_required(fields, kind.info().def, "") {
        if path != "fullName" {
            problems.push(format!("Required field is missing: {path}"));
        }
    }
    let parent = mt::text(fields, "externalClientApplication").unwrap_or("");
    match kind {
        Kind::App => {
            let expected = format!("{}:{name}", st.org_id);
            if let Some(scoped) = mt::text(fields, "orgScopedExternalApp")
                && scoped != expected
                && scoped != format!("{}:{name}", st.org_id15())
            {
                problems.push(format!(
                    "In field: orgScopedExternalApp - the value {scoped} doesn't belong to this org; remove it or use {expected}"
                ));
            }
            let local = mt::text(fields, "distributionState").is_none_or(|d| d == "Local");
            if !local && store.child_of(Kind::Saml, name).is_some() {
                problems.push(format!(
                    "External client app {name} has SAML policies, so its distributionState must be Local"
                ));
            }
        }
        Kind::Policies | Kind::Saml => {
            if !parent.is_empty() && !store.apps.contains_key(parent) {
                problems.push(format!(
                    "In field: externalClientApplication - no ExternalClientApplication named {parent} found"
                ));
            }
            if let Some((other, _)) = store.child_of(kind, parent)
                && other != name
            {
                problems.push(format!(
                    "External client app {parent} already has a {} component: {other}",
                    kind.info().name
                ));
            }
        }
    }
    if kind == Kind::Saml && store.apps.contains_key(parent) {
        let app = &store.apps[parent];
        let state = mt::text(&app.fields, "distributionState").unwrap_or("Local");
        if state != "Local" {
            problems.push(format!(
                "SAML can't be configured for external client app {parent}: its distributionState is {state}, and external client apps with SAML configurations must be Local"
            ));
        }
        let plugin = store
            .child_of(Kind::Policies, parent)
            .is_some_and(|(_, p)| is_true(&p.fields, "isSamlPluginEnabled"));
        if !plugin {
            problems.push(format!(
                "The SAML plugin isn't enabled for external client app {parent}: set isSamlPluginEnabled to true in its ExtlClntAppConfigurablePolicies"
            ));
        }
    }
    if kind == Kind::Saml {
        for (field, names, ids, what) in [
            (
                "commaSeparatedProfile",
                &st.profiles,
                &st.profile_ids,
                "Profile",
            ),
            (
                "commaSeparatedPermissionSet",
                &st.permission_sets,
                &st.permission_set_ids,
                "PermissionSet",
            ),
        ] {
            for entry in mt::text(fields, field).unwrap_or("").split(',') {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                let known = names.contains(entry) || ids.values().any(|id| id == entry);
                if !known {
                    problems.push(format!("In field: {field} - no {what} named {entry} found"));
                }
            }
        }
        if mt::text(fields, "subjectType") == Some("CustomAttribute")
            && mt::text(fields, "subjectCustomAttribute").is_none_or(str::is_empty)
        {
            problems.push(
                "Subject Custom Attribute is required when the Subject Type is Custom Attribute"
                    .into(),
            );
        }
    }
    problems
}

/// Stores a checked component in `store`; returns whether it was created.
pub fn put(
    store: &mut EcaStore,
    kind: Kind,
    name: &str,
    mut fields: Vec<Elem>,
    id: impl FnOnce() -> String,
    now: Timestamp,
    org_id: &str,
) -> bool {
    if !fields.iter().any(|e| e.name == "fullName") {
        fields.insert(0, leaf("fullName", name));
    }
    if kind == Kind::App && mt::text(&fields, "orgScopedExternalApp").is_none() {
        // Auto-generated by the org ("<orgId>:<appName>").
        fields.push(leaf("orgScopedExternalApp", format!("{org_id}:{name}")));
        fields.sort_by_key(|e| {
            kind.info()
                .def
                .fields
                .iter()
                .position(|f| f.name == e.name)
                .unwrap_or(usize::MAX)
        });
    }
    let map = store.map_mut(kind);
    if let Some(c) = map.get_mut(name) {
        c.fields = fields;
        c.modified = now;
        false
    } else {
        map.insert(
            name.to_owned(),
            StoredApp {
                id: id(),
                fields,
                created: now,
                modified: now,
            },
        );
        true
    }
}

fn leaf(name: &str, text: impl Into<String>) -> Elem {
    Elem {
        name: name.to_owned(),
        text: text.into(),
        children: Vec::new(),
    }
}

// === deploy ===

/// One `DeployMessage`.
#[derive(Debug, Clone)]
pub struct Msg {
    pub changed: bool,
    pub component_type: Option<String>,
    pub created: bool,
    pub created_date: Timestamp,
    pub deleted: bool,
    pub file_name: String,
    pub full_name: String,
    pub id: Option<String>,
    pub problem: Option<String>,
    pub problem_type: Option<&'static str>,
    pub success: bool,
}

impl Msg {
    fn failure(kind: Option<Kind>, name: &str, file: &str, problem: String, now: Timestamp) -> Msg {
        Msg {
            changed: false,
            component_type: kind.map(|k| k.info().name.to_owned()),
            created: false,
            created_date: now,
            deleted: false,
            file_name: file.to_owned(),
            full_name: name.to_owned(),
            id: None,
            problem: Some(problem),
            problem_type: Some("Error"),
            success: false,
        }
    }

    fn render(&self, tag: &str, out: &mut String) {
        out.push_str(&format!("<{tag}><changed>{}</changed>", self.changed));
        if let Some(t) = &self.component_type {
            out.push_str(&format!("<componentType>{}</componentType>", esc(t)));
        }
        out.push_str(&format!(
            "<created>{}</created><createdDate>{}</createdDate><deleted>{}</deleted><fileName>{}</fileName><fullName>{}</fullName>",
            self.created,
            fmt_dt(self.created_date),
            self.deleted,
            esc(&self.file_name),
            esc(&self.full_name)
        ));
        if let Some(id) = &self.id {
            out.push_str(&format!("<id>{}</id>", esc(id)));
        }
        if let Some(p) = &self.problem {
            out.push_str(&format!("<problem>{}</problem>", esc(p)));
        }
        if let Some(p) = self.problem_type {
            out.push_str(&format!("<problemType>{p}</problemType>"));
        }
        out.push_str(&format!("<success>{}</success></{tag}>", self.success));
    }
}

pub fn fmt_dt(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

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

/// Options of one deploy that the simulator honours.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub check_only: bool,
    pub rollback_on_error: bool,
    pub ignore_warnings: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: &'static str,
    pub successes: Vec<Msg>,
    pub failures: Vec<Msg>,
    pub total: usize,
    pub deployed: usize,
    pub completed: Timestamp,
}

/// A `deploy()` job.
#[derive(Debug, Clone)]
pub struct DeployJob {
    pub id: String,
    pub created: Timestamp,
    pub polls: u32,
    pub options: Options,
    pub package: Package,
    /// Injected one-component failures: (fullName, problem).
    pub injected: Vec<(String, String)>,
    pub outcome: Option<Outcome>,
}

const MAX_ENTRIES: usize = 1000;
const MAX_UNZIPPED: u64 = 20 * 1024 * 1024;

/// Reads the zip into a [`Package`]. `Err` → the whole call fails (not a zip at all).
pub fn read_zip(bytes: &[u8], version: u32) -> Result<Package, String> {
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

/// Members of a manifest, and per-type problems (unknown type names, wildcards).
type Manifest = (Vec<(Kind, String)>, Vec<String>);

fn parse_manifest(text: &str, version: u32) -> Result<Manifest, String> {
    let doc = super::soap::parse_xml(text).map_err(|e| format!("Error parsing file: {e}"))?;
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
    let doc = super::soap::parse_xml(text).map_err(|e| format!("Error parsing file: {e}"))?;
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

/// One destructive-change entry: (counts as success, message). Deleting a missing component
/// is a warning, which fails the deploy unless `ignoreWarnings` is set.
fn delete(
    work: &mut EcaStore,
    kind: Kind,
    name: &str,
    ignore_warnings: bool,
    now: Timestamp,
) -> (bool, Msg) {
    let file = kind.file_name(name);
    let id = work.map(kind).get(name).map(|c| c.id.clone());
    if work.delete(kind, name) {
        return (
            true,
            Msg {
                changed: true,
                component_type: Some(kind.info().name.into()),
                created: false,
                created_date: now,
                deleted: true,
                file_name: file,
                full_name: name.to_owned(),
                id,
                problem: None,
                problem_type: None,
                success: true,
            },
        );
    }
    let problem = format!("No {} named: {name} found", kind.info().name);
    let mut m = Msg::failure(Some(kind), name, &file, problem, now);
    m.problem_type = Some("Warning");
    m.success = ignore_warnings;
    (ignore_warnings, m)
}

/// Checks and applies a completed deploy.
pub fn complete(st: &mut State, job: &DeployJob) -> Outcome {
    let now = st.now();
    let mut work = st.eca.clone();
    let mut successes: Vec<Msg> = Vec::new();
    let mut failures: Vec<Msg> = Vec::new();
    for (file, name, problem, kind) in &job.package.problems {
        failures.push(Msg::failure(*kind, name, file, problem.clone(), now));
    }
    if job.package.problems.is_empty() || !job.package.components.is_empty() {
        successes.push(Msg {
            changed: true,
            component_type: None,
            created: false,
            created_date: now,
            deleted: false,
            file_name: "package.xml".into(),
            full_name: "package.xml".into(),
            id: None,
            problem: None,
            problem_type: None,
            success: true,
        });
    }
    let ignore_warnings = job.options.ignore_warnings;
    for (kind, name) in &job.package.pre_deletes {
        let (ok, m) = delete(&mut work, *kind, name, ignore_warnings, now);
        if ok {
            successes.push(m)
        } else {
            failures.push(m)
        }
    }
    let mut comps: Vec<&Comp> = job.package.components.iter().collect();
    comps.sort_by_key(|c| c.kind);
    for c in comps {
        let fields = match &c.fields {
            Ok(f) => f,
            Err(p) => {
                failures.push(Msg::failure(Some(c.kind), &c.name, &c.file, p.clone(), now));
                continue;
            }
        };
        if let Some((_, problem)) = job.injected.iter().find(|(n, _)| *n == c.name) {
            failures.push(Msg::failure(
                Some(c.kind),
                &c.name,
                &c.file,
                problem.clone(),
                now,
            ));
            continue;
        }
        let problems = check_component(st, &work, c.kind, &c.name, fields);
        if !problems.is_empty() {
            for p in problems {
                failures.push(Msg::failure(Some(c.kind), &c.name, &c.file, p, now));
            }
            continue;
        }
        let prefix = c.kind.info().id_prefix;
        let org_id = st.org_id.clone();
        let created = put(
            &mut work,
            c.kind,
            &c.name,
            fields.clone(),
            || st.new_id(prefix),
            now,
            &org_id,
        );
        successes.push(Msg {
            changed: true,
            component_type: Some(c.kind.info().name.into()),
            created,
            created_date: now,
            deleted: false,
            file_name: c.file.clone(),
            full_name: c.name.clone(),
            id: work.map(c.kind).get(&c.name).map(|s| s.id.clone()),
            problem: None,
            problem_type: None,
            success: true,
        });
    }
    for (kind, name) in &job.package.post_deletes {
        let (ok, m) = delete(&mut work, *kind, name, ignore_warnings, now);
        if ok {
            successes.push(m)
        } else {
            failures.push(m)
        }
    }
    let deployed = successes
        .iter()
        .filter(|m| m.component_type.is_some())
        .count();
    let status = if failures.is_empty() {
        if !job.options.check_only {
            st.eca = work;
        }
        "Succeeded"
    } else if job.options.rollback_on_error || job.options.check_only || deployed == 0 {
        "Failed"
    } else {
        st.eca = work;
        "SucceededPartial"
    };
    Outcome {
        status,
        total: job.package.components.len()
            + job.package.pre_deletes.len()
            + job.package.post_deletes.len(),
        deployed,
        successes,
        failures,
        completed: now,
    }
}

/// `<result>` of `checkDeployStatusResponse` (a `DeployResult`, WSDL order).
pub fn render_result(st: &State, job: &DeployJob, include_details: bool) -> String {
    let user_id = st.users.first().map(|u| u.id.clone()).unwrap_or_default();
    let user_name = st
        .users
        .first()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let o = job.outcome.as_ref();
    let mut out = String::from("<result>");
    out.push_str(&format!(
        "<checkOnly>{}</checkOnly>",
        job.options.check_only
    ));
    if let Some(o) = o {
        out.push_str(&format!(
            "<completedDate>{}</completedDate>",
            fmt_dt(o.completed)
        ));
    }
    out.push_str(&format!(
        "<createdBy>{}</createdBy><createdByName>{}</createdByName><createdDate>{}</createdDate>",
        esc(&user_id),
        esc(&user_name),
        fmt_dt(job.created)
    ));
    out.push_str("<details>");
    if let (Some(o), true) = (o, include_details) {
        for m in &o.failures {
            m.render("componentFailures", &mut out);
        }
        for m in &o.successes {
            m.render("componentSuccesses", &mut out);
        }
    }
    out.push_str("</details>");
    out.push_str(&format!("<done>{}</done>", o.is_some()));
    out.push_str(&format!("<id>{}</id>", esc(&job.id)));
    out.push_str(&format!(
        "<ignoreWarnings>{}</ignoreWarnings>",
        job.options.ignore_warnings
    ));
    if let Some(o) = o {
        out.push_str(&format!(
            "<lastModifiedDate>{}</lastModifiedDate>",
            fmt_dt(o.completed)
        ));
    }
    let (errors, deployed, total) = match o {
        Some(o) => (o.failures.len(), o.deployed, o.total),
        None => (0, 0, job.package.components.len()),
    };
    out.push_str(&format!(
        "<numberComponentErrors>{errors}</numberComponentErrors><numberComponentsDeployed>{deployed}</numberComponentsDeployed><numberComponentsTotal>{total}</numberComponentsTotal>"
    ));
    out.push_str("<numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted><numberTestsTotal>0</numberTestsTotal>");
    out.push_str(&format!(
        "<rollbackOnError>{}</rollbackOnError><runTestsEnabled>false</runTestsEnabled>",
        job.options.rollback_on_error
    ));
    out.push_str(&format!("<startDate>{}</startDate>", fmt_dt(job.created)));
    let status = o.map_or("InProgress", |o| o.status);
    out.push_str(&format!(
        "<status>{status}</status><success>{}</success></result>",
        matches!(status, "Succeeded" | "SucceededPartial")
    ));
    out
}
