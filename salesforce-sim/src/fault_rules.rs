//! Injected faults (`POST /__sim/faults`, docs/simulator.md "Test controls"): the rules as
//! the control endpoint accepts and lists them, and how a rule matches a request. Applied by
//! the middleware in `faults.rs`; `failComponent` rules by `deploy()` (`soap/deploy.rs`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SoapFaultSpec {
    pub code: String,
    pub message: String,
}

/// One injected fault: applies to the next `count` requests matching `operation` and/or
/// `pathPrefix`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Operation name: a SOAP operation (`upsertMetadata`, ...), `token`, `limits`,
    /// `versions`, `idpMetadata`, or `rest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    #[serde(default = "one")]
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soap_fault: Option<SoapFaultSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub reset: bool,
    #[serde(default)]
    pub truncate: bool,
    #[serde(default)]
    pub html: bool,
    /// `deploy` only: the component (fullName) that fails in the next deploy that carries it,
    /// with `problem` as its `DeployMessage.problem`. Applied by the deploy itself, not here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

fn one() -> u64 {
    1
}

impl FaultRule {
    pub fn matches(&self, operation: &str, path: &str) -> bool {
        self.count > 0
            && self.fail_component.is_none()
            && self.operation.as_deref().is_none_or(|o| o == operation)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }

    pub fn kind(&self) -> &'static str {
        if self.reset {
            "reset"
        } else if self.soap_fault.is_some() {
            "soapFault"
        } else if self.html {
            "html"
        } else if self.truncate {
            "truncate"
        } else if self.status.is_some() || self.body.is_some() {
            "status"
        } else {
            "latency"
        }
    }
}

/// Takes the first rule matching a request (counting it down; spent rules are dropped).
pub fn take_matching(rules: &mut Vec<FaultRule>, operation: &str, path: &str) -> Option<FaultRule> {
    let found = rules
        .iter_mut()
        .find(|r| r.matches(operation, path))
        .map(|r| {
            r.count -= 1;
            r.clone()
        });
    rules.retain(|r| r.count > 0);
    found
}

/// Takes the one-component failures (`failComponent`) that apply to one deploy, counting each
/// rule down: (fullName, problem) pairs.
pub fn take_component_failures(rules: &mut Vec<FaultRule>) -> Vec<(String, String)> {
    let mut injected = Vec::new();
    for rule in rules.iter_mut() {
        if let Some(name) = rule.fail_component.clone()
            && rule.count > 0
            && rule.operation.as_deref().is_none_or(|o| o == "deploy")
        {
            rule.count -= 1;
            let problem = rule
                .problem
                .clone()
                .unwrap_or_else(|| format!("Injected failure for {name}"));
            injected.push((name, problem));
        }
    }
    rules.retain(|r| r.count > 0);
    injected
}
