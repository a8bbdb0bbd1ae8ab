//! Stage: profile and permission-set access to the app. The grants travel with the app itself
//! (its `profileName`/`permissionSetName`, or the ECA's SAML policies), so this stage only reports
//! what the app stage found and did.

use super::inputs::Inputs;
use super::salesforce_app::AppOutcome;
use crate::api::conditions::{Desired, reasons, types};

#[derive(Debug, PartialEq, Eq)]
pub enum AccessOutcome {
    /// The app grants what the spec lists.
    Granted,
    /// ObserveOnly, and the grants differ from the spec: left alone.
    DifferObserveOnly,
}

pub fn check(app: &AppOutcome) -> AccessOutcome {
    if app.access_left_different() {
        AccessOutcome::DifferObserveOnly
    } else {
        AccessOutcome::Granted
    }
}

impl AccessOutcome {
    /// The `AccessGranted` condition.
    pub fn condition(&self, input: &Inputs<'_>) -> Desired {
        let t = types::ACCESS_GRANTED;
        match self {
            AccessOutcome::DifferObserveOnly => Desired::new(
                t,
                false,
                reasons::DRIFTED,
                "profile or permission set access differs from the spec; ObserveOnly makes no change",
            ),
            AccessOutcome::Granted => {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "none".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                let access = &input.spec.access;
                Desired::new(
                    t,
                    true,
                    reasons::SYNCED,
                    format!(
                        "profiles: {}; permission sets: {}",
                        list(&access.profiles),
                        list(&access.permission_sets)
                    ),
                )
            }
        }
    }
}
