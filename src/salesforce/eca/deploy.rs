//! Deploying with the Metadata API's file-based `deploy()`: `package.xml`, the zip, the `deploy` and
//! `checkDeployStatus` bodies, and the `DeployResult` that comes back.

use std::io::Write as _;

use roxmltree::Node;

use crate::salesforce::error::{DeployProblem, SalesforceError};
use crate::salesforce::wsdl::{METADATA_NS, token, wsdl_enum};
use crate::salesforce::xml::{child, child_text, children, escape, parse_bool, push_elem};

/// `package.xml` listing `members` (type, fullName), one `<types>` per type in first-seen order.
pub fn package_xml(members: &[(&str, &str)], api_version: &str) -> String {
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Package xmlns=\"{METADATA_NS}\">");
    let mut types: Vec<&str> = Vec::new();
    for (t, _) in members {
        if !types.contains(t) {
            types.push(t);
        }
    }
    for t in types {
        out.push_str("<types>");
        for (_, m) in members.iter().filter(|(tt, _)| *tt == t) {
            push_elem(&mut out, "members", m);
        }
        push_elem(&mut out, "name", t);
        out.push_str("</types>");
    }
    push_elem(&mut out, "version", api_version);
    out.push_str("</Package>\n");
    out
}

/// Builds a deflated zip.
pub fn build_zip(files: &[(String, String)]) -> Result<Vec<u8>, SalesforceError> {
    let fail = |e: String| SalesforceError::Config {
        reason: format!("cannot build the deploy zip: {e}"),
    };
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        w.start_file(name.as_str(), opts)
            .map_err(|e| fail(e.to_string()))?;
        w.write_all(text.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    w.finish().map_err(|e| fail(e.to_string()))?;
    Ok(buf.into_inner())
}

/// Deploy options the operator sends: all the WSDL's required elements, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployFlags {
    pub check_only: bool,
    pub ignore_warnings: bool,
    pub rollback_on_error: bool,
}

/// `<deploy><ZipFile>..</ZipFile><DeployOptions>..</DeployOptions></deploy>`, without a
/// `testLevel`: production orgs refuse `NoTestRun` (`INVALID_OPERATION: testLevel of NoTestRun
/// cannot be used in production organizations`, xjsender/haoide#107), and with no test level the
/// org decides, which for a deploy without Apex is to run none (Metadata API guide, "Running
/// Tests in a Deployment"; salesforcecli/plugin-deploy-retrieve#611).
pub fn deploy_body(zip: &[u8], flags: DeployFlags) -> String {
    use base64::Engine as _;
    let b = |v: bool| if v { "true" } else { "false" };
    format!(
        concat!(
            "<deploy><ZipFile>{zip}</ZipFile><DeployOptions>",
            "<allowMissingFiles>false</allowMissingFiles><autoUpdatePackage>false</autoUpdatePackage>",
            "<checkOnly>{check}</checkOnly><ignoreWarnings>{warn}</ignoreWarnings>",
            "<performRetrieve>false</performRetrieve><purgeOnDelete>false</purgeOnDelete>",
            "<rollbackOnError>{rollback}</rollbackOnError><singlePackage>true</singlePackage>",
            "</DeployOptions></deploy>"
        ),
        zip = base64::engine::general_purpose::STANDARD.encode(zip),
        check = b(flags.check_only),
        warn = b(flags.ignore_warnings),
        rollback = b(flags.rollback_on_error),
    )
}

/// `<checkDeployStatus><asyncProcessId>..</asyncProcessId><includeDetails>true</includeDetails>`.
pub fn check_status_body(id: &str) -> String {
    format!(
        "<checkDeployStatus><asyncProcessId>{}</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>",
        escape(id)
    )
}

wsdl_enum!(
    /// `DeployStatus`.
    DeployStatus {
        Pending => "Pending",
        InProgress => "InProgress",
        Succeeded => "Succeeded",
        SucceededPartial => "SucceededPartial",
        Failed => "Failed",
        Canceling => "Canceling",
        Canceled => "Canceled",
    }
);

/// One `DeployMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployMessage {
    /// Empty for the `package.xml` entry.
    pub component_type: String,
    pub full_name: String,
    pub file_name: String,
    pub created: bool,
    pub changed: bool,
    pub deleted: bool,
    pub success: bool,
    pub id: Option<String>,
    pub problem: Option<String>,
    /// `Warning`, `Error` or `Info`.
    pub problem_type: Option<String>,
}

impl DeployMessage {
    fn parse(n: Node<'_, '_>) -> Self {
        let b = |name: &str| {
            child_text(n, name)
                .and_then(|t| parse_bool(&t))
                .unwrap_or(false)
        };
        let s = |name: &str| {
            child_text(n, name)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        DeployMessage {
            component_type: s("componentType").unwrap_or_default(),
            full_name: s("fullName").unwrap_or_default(),
            file_name: s("fileName").unwrap_or_default(),
            created: b("created"),
            changed: b("changed"),
            deleted: b("deleted"),
            success: b("success"),
            id: s("id"),
            problem: s("problem"),
            problem_type: s("problemType"),
        }
    }

    fn to_problem(&self) -> DeployProblem {
        DeployProblem {
            component_type: self.component_type.clone(),
            full_name: self.full_name.clone(),
            file_name: self.file_name.clone(),
            problem: self
                .problem
                .clone()
                .unwrap_or_else(|| "no problem text returned".into()),
            problem_type: self.problem_type.clone().unwrap_or_default(),
        }
    }
}

/// The parts of a `DeployResult` the client uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployResult {
    pub id: String,
    pub done: bool,
    pub status: DeployStatus,
    pub success: bool,
    pub error_message: Option<String>,
    pub error_status_code: Option<String>,
    pub component_successes: Vec<DeployMessage>,
    pub component_failures: Vec<DeployMessage>,
}

impl DeployResult {
    pub fn parse(result: Node<'_, '_>) -> Result<Self, String> {
        let status = child_text(result, "status").ok_or("status missing")?;
        let details = child(result, "details");
        let msgs = |tag: &str| -> Vec<DeployMessage> {
            details
                .map(|d| children(d, tag).map(DeployMessage::parse).collect())
                .unwrap_or_default()
        };
        Ok(DeployResult {
            id: child_text(result, "id").ok_or("id missing")?,
            done: child_text(result, "done")
                .and_then(|t| parse_bool(&t))
                .ok_or("done missing")?,
            status: token("status", &status, DeployStatus::from_token)?,
            success: child_text(result, "success")
                .and_then(|t| parse_bool(&t))
                .unwrap_or(false),
            error_message: child_text(result, "errorMessage").filter(|s| !s.trim().is_empty()),
            error_status_code: child_text(result, "errorStatusCode"),
            component_successes: msgs("componentSuccesses"),
            component_failures: msgs("componentFailures"),
        })
    }

    /// A finished deploy: `Ok` only for `Succeeded` (with rollbackOnError a partial success does
    /// not happen; if it does, the failed components are reported like a failure).
    pub fn into_outcome(self) -> Result<DeployOutcome, SalesforceError> {
        let r = self;
        if r.status == DeployStatus::Succeeded && r.component_failures.is_empty() {
            let components: Vec<_> = r
                .component_successes
                .into_iter()
                .filter(|m| !m.component_type.is_empty())
                .collect();
            let warnings = components
                .iter()
                .filter(|m| m.problem.is_some())
                .cloned()
                .collect();
            return Ok(DeployOutcome {
                id: r.id,
                status: r.status,
                components,
                warnings,
            });
        }
        let message = match (r.error_status_code, r.error_message) {
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
            (None, Some(m)) => Some(m),
            _ => None,
        };
        Err(SalesforceError::DeployFailed {
            id: r.id,
            status: r.status.to_string(),
            problems: r
                .component_failures
                .iter()
                .map(|m| m.to_problem())
                .collect(),
            message,
        })
    }
}

/// A finished, successful deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    /// The async process id (`0Af...`).
    pub id: String,
    pub status: DeployStatus,
    /// Per-component successes (the `package.xml` entry left out).
    pub components: Vec<DeployMessage>,
    /// Successes that carry a problem (warnings, e.g. deleting what was already gone).
    pub warnings: Vec<DeployMessage>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::xml;

    #[test]
    fn deploy_bodies_match_the_wsdl() {
        let body = deploy_body(
            b"PK",
            DeployFlags {
                check_only: false,
                ignore_warnings: true,
                rollback_on_error: true,
            },
        );
        assert_eq!(
            body,
            concat!(
                "<deploy><ZipFile>UEs=</ZipFile><DeployOptions><allowMissingFiles>false</allowMissingFiles>",
                "<autoUpdatePackage>false</autoUpdatePackage><checkOnly>false</checkOnly>",
                "<ignoreWarnings>true</ignoreWarnings><performRetrieve>false</performRetrieve>",
                "<purgeOnDelete>false</purgeOnDelete><rollbackOnError>true</rollbackOnError>",
                "<singlePackage>true</singlePackage></DeployOptions></deploy>"
            )
        );
        assert_eq!(
            check_status_body("0Af1"),
            "<checkDeployStatus><asyncProcessId>0Af1</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>"
        );
    }

    #[test]
    fn zip_holds_the_files() {
        let files = vec![("package.xml".to_string(), "<Package/>".to_string())];
        let z = build_zip(&files).unwrap();
        assert_eq!(&z[..2], b"PK");
    }

    #[test]
    fn parses_a_failed_deploy_result() {
        let x = concat!(
            r#"<result xmlns="http://soap.sforce.com/2006/04/metadata"><checkOnly>false</checkOnly><details>"#,
            "<componentFailures><changed>false</changed><componentType>ExtlClntAppSamlConfigurablePolicies</componentType>",
            "<created>false</created><createdDate>2026-01-01T00:00:00.000Z</createdDate><deleted>false</deleted>",
            "<fileName>extlClntAppSamlConfigurablePolicies/A_samlPlcy.ecaSamlPlcy</fileName><fullName>A_samlPlcy</fullName>",
            "<problem>bad acs</problem><problemType>Error</problemType><success>false</success></componentFailures>",
            "<componentSuccesses><changed>true</changed><created>false</created><createdDate>2026-01-01T00:00:00.000Z</createdDate>",
            "<deleted>false</deleted><fileName>package.xml</fileName><fullName>package.xml</fullName><success>true</success></componentSuccesses>",
            "</details><done>true</done><id>0Af1</id><status>Failed</status><success>false</success></result>"
        );
        let doc = xml::parse("t", x).unwrap();
        let r = DeployResult::parse(doc.root_element()).unwrap();
        assert!(r.done);
        assert_eq!(r.status, DeployStatus::Failed);
        assert_eq!(r.component_failures.len(), 1);
        assert_eq!(r.component_failures[0].problem.as_deref(), Some("bad acs"));
        assert_eq!(r.component_successes[0].component_type, "");
    }
}
