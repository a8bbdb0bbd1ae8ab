//! The file-based calls for External Client Apps (salesforce-api.md §8.2; module docs of
//! `eca/`): `deploy(ZipFile, DeployOptions)` reads the zip at once and answers an
//! `AsyncResult`; `checkDeployStatus(asyncProcessId, includeDetails)` answers `InProgress`
//! for `policy.deployPollsInProgress` polls, then completes and applies the deploy.

use base64::Engine as _;
use roxmltree::Node;

use crate::eca::apply;
use crate::eca::job::{DeployJob, Options};
use crate::eca::package;
use crate::fault_rules;
use crate::metadata_types::{self as mt, Deser, MD_NS, esc, from_xml};
use crate::realism::Edition;
use crate::soap::envelope::{Ctx, client_fault, fault, invalid_here, ok_envelope, required};
use crate::state::State;
use crate::wsdl_types::DEPLOY_OPTIONS;
use crate::xml;
use axum::response::Response;

/// The refusal of a `NoTestRun` deploy in a production org, as Salesforce words it
/// (xjsender/haoide#107; Metadata API guide: NoTestRun is for development environments only).
pub const NO_TEST_RUN_IN_PRODUCTION: &str =
    "testLevel of NoTestRun cannot be used in production organizations";

/// The base64 zip and the options of a deploy; Err when the call fails whole.
fn deploy_request(op: Node, edition: Edition) -> Result<(String, Options), Box<Response>> {
    let mut zip_b64 = None;
    let mut options = Options {
        check_only: false,
        rollback_on_error: true,
        ignore_warnings: false,
    };
    for c in xml::elements(op) {
        match (c.tag_name().namespace().unwrap_or(""), c.tag_name().name()) {
            (MD_NS, "ZipFile") if zip_b64.is_none() => zip_b64 = Some(xml::text(c)),
            (MD_NS, "DeployOptions") => {
                let fields =
                    from_xml(c, &DEPLOY_OPTIONS).map_err(|Deser(m)| Box::new(client_fault(&m)))?;
                let flag = |n: &str| mt::text(&fields, n).map(|v| v == "true");
                options.check_only = flag("checkOnly").unwrap_or(false);
                options.rollback_on_error = flag("rollbackOnError").unwrap_or(true);
                options.ignore_warnings = flag("ignoreWarnings").unwrap_or(false);
                if edition == Edition::Production
                    && mt::text(&fields, "testLevel") == Some("NoTestRun")
                {
                    return Err(Box::new(fault(
                        "sf:INVALID_OPERATION",
                        NO_TEST_RUN_IN_PRODUCTION,
                    )));
                }
            }
            _ => return Err(Box::new(invalid_here(c))),
        }
    }
    let b64 = zip_b64.ok_or_else(|| Box::new(required("ZipFile")))?;
    Ok((b64, options))
}

/// `deploy(ZipFile, DeployOptions)`: reads the zip now, answers an `AsyncResult`, and applies
/// the package when a later `checkDeployStatus` finds it complete.
pub fn deploy(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let (b64, options) = match deploy_request(op, st.edition) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(clean.as_bytes()) else {
        return client_fault("The ZipFile value is not valid for the type xsd:base64Binary");
    };
    let package = match package::read_zip(&bytes, ctx.version) {
        Ok(p) => p,
        Err(m) => return fault("sf:INVALID_ZIP", &m),
    };
    ctx.full_names = package.names();
    // Injected one-component failures (`/__sim/faults` with `failComponent`).
    let injected = fault_rules::take_component_failures(&mut st.faults);
    let id = st.new_id("0Af");
    let job = DeployJob {
        id: id.clone(),
        created: st.now(),
        polls: 0,
        options,
        package,
        injected,
        outcome: None,
    };
    st.deploys.insert(id.clone(), job);
    ok_envelope(&format!(
        "<deployResponse><result><done>false</done><id>{}</id><state>Queued</state></result></deployResponse>",
        esc(&id)
    ))
}

/// The process id and `includeDetails` of a status check; Err when the call fails whole.
fn status_request(op: Node) -> Result<(String, bool), Box<Response>> {
    let mut id = None;
    let mut include_details = false;
    for c in xml::elements(op) {
        match (c.tag_name().namespace().unwrap_or(""), c.tag_name().name()) {
            (MD_NS, "asyncProcessId") if id.is_none() => id = Some(xml::text(c)),
            (MD_NS, "includeDetails") => {
                let v = xml::text(c);
                mt::check_scalar(&mt::Ty::Bool, &v).map_err(|m| Box::new(client_fault(&m)))?;
                include_details = v == "true" || v == "1";
            }
            _ => return Err(Box::new(invalid_here(c))),
        }
    }
    let id = id.ok_or_else(|| Box::new(required("asyncProcessId")))?;
    Ok((id, include_details))
}

/// `checkDeployStatus(asyncProcessId, includeDetails)`.
pub fn check_deploy_status(st: &mut State, op: Node, ctx: &mut Ctx) -> Response {
    let (id, include_details) = match status_request(op) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    ctx.full_names = vec![id.clone()];
    let Some(mut job) = st.deploys.remove(&id) else {
        return fault(
            "sf:INVALID_CROSS_REFERENCE_KEY",
            &format!("invalid cross reference id: {id}"),
        );
    };
    job.polls += 1;
    if job.outcome.is_none() && job.polls > st.policy.deploy_polls_in_progress {
        job.outcome = Some(apply::complete(st, &job));
    }
    let body = format!(
        "<checkDeployStatusResponse>{}</checkDeployStatusResponse>",
        apply::render_result(st, &job, include_details)
    );
    st.deploys.insert(id, job);
    ok_envelope(&body)
}
