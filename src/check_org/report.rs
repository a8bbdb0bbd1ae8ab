//! What `check-org` found: one finding per assumption or capability, printed as text (one line
//! each) or JSON, with the variant label of the org (the reality variants of
//! docs/simulator.md that this org turned out to be in) and whether the operator's defaults fit.

use serde::Serialize;

/// How an assumption fared against the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The org behaves as the operator's default assumes (or the capability works).
    Confirmed,
    /// The org behaves otherwise; `observed` says how.
    Contradicted,
    /// Not checked: read-only mode, or nothing in the org to check it on.
    NotTestable,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::NotTestable => "not testable",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The assumption or capability, by the name docs/simulator.md gives it (a reality-variant
    /// switch where there is one).
    pub check: &'static str,
    pub verdict: Verdict,
    /// What the org did or said.
    pub observed: String,
    /// The switch position this org showed, where it is not the default (`ecaAccessWrites=replacing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Whether the operator works with what was found (by its default or by its fallback).
    pub fits: bool,
}

impl Finding {
    pub fn confirmed(check: &'static str, observed: impl Into<String>) -> Self {
        Finding {
            check,
            verdict: Verdict::Confirmed,
            observed: observed.into(),
            variant: None,
            fits: true,
        }
    }

    /// Contradicted, and the operator takes its fallback (`fits`), naming the switch position.
    pub fn variant(check: &'static str, position: &str, observed: impl Into<String>) -> Self {
        Finding {
            check,
            verdict: Verdict::Contradicted,
            observed: observed.into(),
            variant: Some(format!("{check}={position}")),
            fits: true,
        }
    }

    /// A capability the operator needs, missing.
    pub fn failed(check: &'static str, observed: impl Into<String>) -> Self {
        Finding {
            check,
            verdict: Verdict::Contradicted,
            observed: observed.into(),
            variant: None,
            fits: false,
        }
    }

    pub fn untestable(check: &'static str, why: impl Into<String>) -> Self {
        Finding {
            check,
            verdict: Verdict::NotTestable,
            observed: why.into(),
            variant: None,
            fits: true,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub findings: Vec<Finding>,
    /// The switch positions off their defaults, sorted and joined with `,` (`default`: none), as
    /// the simulator labels its variants.
    pub variant: String,
    /// Every finding fits: the operator's defaults (and fallbacks) work in this org.
    pub fits: bool,
    /// `--write` was given.
    pub wrote: bool,
}

impl Report {
    pub fn new(findings: Vec<Finding>, wrote: bool) -> Self {
        let mut parts: Vec<String> = findings.iter().filter_map(|f| f.variant.clone()).collect();
        parts.sort();
        parts.dedup();
        let variant = if parts.is_empty() {
            "default".to_string()
        } else {
            parts.join(",")
        };
        let fits = findings.iter().all(|f| f.fits);
        Report {
            findings,
            variant,
            fits,
            wrote,
        }
    }

    /// One line per finding, then the variant and the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let mark = if f.fits { "" } else { " [does not fit]" };
            out.push_str(&format!(
                "{:<22} {:<13} {}{mark}\n",
                f.check,
                f.verdict.word(),
                f.observed
            ));
        }
        out.push_str(&format!("variant: {}\n", self.variant));
        out.push_str(if self.fits {
            "result: the operator's defaults fit this org\n"
        } else {
            "result: the operator's defaults do NOT fit this org (see [does not fit])\n"
        });
        if !self.wrote {
            out.push_str("(read-only: --write also creates, changes and deletes a throwaway app of each type)\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variant_label_names_the_positions_off_their_default_sorted() {
        let r = Report::new(
            vec![
                Finding::confirmed("authentication", "ok"),
                Finding::variant("nameMatching", "caseSensitive", "x"),
                Finding::variant("ecaMetadata", "notFound", "404"),
                Finding::untestable("consumerKeyEcho", "never sent"),
            ],
            true,
        );
        assert_eq!(r.variant, "ecaMetadata=notFound,nameMatching=caseSensitive");
        assert!(r.fits);
        let r = Report::new(vec![Finding::failed("authentication", "401")], false);
        assert_eq!(r.variant, "default");
        assert!(!r.fits);
        assert!(r.text().contains("[does not fit]"), "{}", r.text());
    }
}
