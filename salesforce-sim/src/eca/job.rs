//! A `deploy()` job: the options the simulator honours, its outcome, and the `DeployMessage`s
//! it reports (rendered in WSDL order).

use jiff::Timestamp;

use crate::eca::kind::Kind;
use crate::eca::package::Package;
use crate::metadata_types::esc;
use crate::xml;

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
    /// A component (or `package.xml`, without a type) deployed or deleted.
    pub fn success(kind: Option<Kind>, name: &str, file: &str, now: Timestamp) -> Msg {
        Msg {
            changed: true,
            component_type: kind.map(|k| k.info().name.to_owned()),
            created: false,
            created_date: now,
            deleted: false,
            file_name: file.to_owned(),
            full_name: name.to_owned(),
            id: None,
            problem: None,
            problem_type: None,
            success: true,
        }
    }

    /// A component that failed with `problem` (an error).
    pub fn failure(
        kind: Option<Kind>,
        name: &str,
        file: &str,
        problem: String,
        now: Timestamp,
    ) -> Msg {
        Msg {
            changed: false,
            problem: Some(problem),
            problem_type: Some("Error"),
            success: false,
            ..Msg::success(kind, name, file, now)
        }
    }

    pub fn render(&self, tag: &str, out: &mut String) {
        out.push_str(&format!("<{tag}><changed>{}</changed>", self.changed));
        if let Some(t) = &self.component_type {
            out.push_str(&format!("<componentType>{}</componentType>", esc(t)));
        }
        out.push_str(&format!(
            "<created>{}</created><createdDate>{}</createdDate><deleted>{}</deleted><fileName>{}</fileName><fullName>{}</fullName>",
            self.created,
            xml::date_time(self.created_date),
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
