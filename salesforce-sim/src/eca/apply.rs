//! Completing a deploy: destructive changes, then the components in dependency order, each
//! checked against the org as it will be; applied unless it fails (`rollbackOnError`,
//! `checkOnly`); and the `DeployResult` that `checkDeployStatus` renders.

use jiff::Timestamp;

use crate::eca::access;
use crate::eca::check::{check_component, put};
use crate::eca::job::{DeployJob, Msg, Outcome};
use crate::eca::kind::{EcaStore, Kind};
use crate::eca::package::Comp;
use crate::metadata_types::esc;
use crate::state::State;
use crate::xml;

/// The messages of one deploy, sorted as they are reported.
#[derive(Default)]
struct Messages {
    successes: Vec<Msg>,
    failures: Vec<Msg>,
}

impl Messages {
    fn push(&mut self, ok: bool, m: Msg) {
        if ok {
            self.successes.push(m)
        } else {
            self.failures.push(m)
        }
    }
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
        let m = Msg {
            deleted: true,
            id,
            ..Msg::success(Some(kind), name, &file, now)
        };
        return (true, m);
    }
    let problem = format!("No {} named: {name} found", kind.info().name);
    let mut m = Msg::failure(Some(kind), name, &file, problem, now);
    m.problem_type = Some("Warning");
    m.success = ignore_warnings;
    (ignore_warnings, m)
}

/// Checks one component against `work` (the org as this deploy leaves it so far) and stores
/// it there: its success message, or its failure messages.
fn deploy_component(
    st: &mut State,
    work: &mut EcaStore,
    job: &DeployJob,
    c: &Comp,
    now: Timestamp,
) -> Result<Msg, Vec<Msg>> {
    let fail = |problem: String| Msg::failure(Some(c.kind), &c.name, &c.file, problem, now);
    let mut fields = c.fields.clone().map_err(|p| vec![fail(p)])?;
    if let Some((_, problem)) = job.injected.iter().find(|(n, _)| *n == c.name) {
        return Err(vec![fail(problem.clone())]);
    }
    // Names are matched as the org matches them: an existing component keeps its stored name,
    // and a policy names its app as the org spells it.
    let name = st
        .realism
        .find(work.map(c.kind).keys(), &c.name)
        .cloned()
        .unwrap_or_else(|| c.name.clone());
    if let Some(parent) = fields
        .iter_mut()
        .find(|e| e.name == "externalClientApplication")
        && let Some(k) = st.realism.find(work.apps.keys(), &parent.text)
    {
        parent.text = k.clone();
    }
    let mut problems = Vec::new();
    if c.kind == Kind::Saml {
        let current = work.saml.get(&name).map(|s| s.fields.as_slice());
        problems = access::merge(st, current, &mut fields);
    }
    problems.extend(check_component(st, work, c.kind, &name, &fields));
    if !problems.is_empty() {
        return Err(problems.into_iter().map(fail).collect());
    }
    let prefix = c.kind.info().id_prefix;
    let org_id = st.org_id.clone();
    let created = put(
        work,
        c.kind,
        &name,
        fields,
        || st.new_id(prefix),
        now,
        &org_id,
    );
    Ok(Msg {
        created,
        id: work.map(c.kind).get(&name).map(|s| s.id.clone()),
        ..Msg::success(Some(c.kind), &c.name, &c.file, now)
    })
}

/// Checks and applies a completed deploy.
pub fn complete(st: &mut State, job: &DeployJob) -> Outcome {
    let now = st.now();
    let mut work = st.eca.clone();
    let mut msgs = Messages::default();
    for (file, name, problem, kind) in &job.package.problems {
        msgs.push(false, Msg::failure(*kind, name, file, problem.clone(), now));
    }
    if job.package.problems.is_empty() || !job.package.components.is_empty() {
        let package = Msg::success(None, "package.xml", "package.xml", now);
        msgs.push(true, package);
    }
    let ignore_warnings = job.options.ignore_warnings;
    let realism = st.realism;
    let key = |work: &EcaStore, kind: Kind, name: &String| {
        realism
            .find(work.map(kind).keys(), name)
            .cloned()
            .unwrap_or_else(|| name.clone())
    };
    for (kind, name) in &job.package.pre_deletes {
        let name = &key(&work, *kind, name);
        let (ok, m) = delete(&mut work, *kind, name, ignore_warnings, now);
        msgs.push(ok, m);
    }
    let mut comps: Vec<&Comp> = job.package.components.iter().collect();
    comps.sort_by_key(|c| c.kind);
    for c in comps {
        match deploy_component(st, &mut work, job, c, now) {
            Ok(m) => msgs.push(true, m),
            Err(failed) => msgs.failures.extend(failed),
        }
    }
    for (kind, name) in &job.package.post_deletes {
        let name = &key(&work, *kind, name);
        let (ok, m) = delete(&mut work, *kind, name, ignore_warnings, now);
        msgs.push(ok, m);
    }
    let deployed = msgs
        .successes
        .iter()
        .filter(|m| m.component_type.is_some())
        .count();
    let status = if msgs.failures.is_empty() {
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
        successes: msgs.successes,
        failures: msgs.failures,
        completed: now,
    }
}

/// `<result>` of `checkDeployStatusResponse` (a `DeployResult`, WSDL order).
pub fn render_result(st: &State, job: &DeployJob, include_details: bool) -> String {
    let (user_id, user_name) = st.first_user();
    let o = job.outcome.as_ref();
    let mut out = String::from("<result>");
    out.push_str(&format!(
        "<checkOnly>{}</checkOnly>",
        job.options.check_only
    ));
    if let Some(o) = o {
        out.push_str(&format!(
            "<completedDate>{}</completedDate>",
            xml::date_time(o.completed)
        ));
    }
    out.push_str(&format!(
        "<createdBy>{}</createdBy><createdByName>{}</createdByName><createdDate>{}</createdDate>",
        esc(&user_id),
        esc(&user_name),
        xml::date_time(job.created)
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
            xml::date_time(o.completed)
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
    out.push_str(&format!(
        "<startDate>{}</startDate>",
        xml::date_time(job.created)
    ));
    let status = o.map_or("InProgress", |o| o.status);
    out.push_str(&format!(
        "<status>{status}</status><success>{}</success></result>",
        matches!(status, "Succeeded" | "SucceededPartial")
    ));
    out
}
