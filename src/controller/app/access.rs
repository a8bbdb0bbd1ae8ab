//! Stage: profile and permission-set access to the app.
//!
//! A connected app's grants travel with the app itself (`profileName` / `permissionSetName`), so
//! for it this stage only reports what the app stage found and did.
//!
//! An External Client App's grants are `SetupEntityAccess` records. A deploy of the SAML
//! policies' `commaSeparatedProfile` / `commaSeparatedPermissionSet` adds grants, and a name
//! already granted fails it (field report of issue 15), so this stage reads the grants (SOQL),
//! deploys only the names that are missing, and revokes the extra ones with a `SetupEntityAccess`
//! delete. Whether such a deploy adds or replaces is not documented: when a grant that was there
//! is gone after adding, the org replaces, and the whole set is deployed once more.

use super::inputs::Inputs;
use super::salesforce_app::AppOutcome;
use crate::api::app::AppType;
use crate::api::conditions::{Desired, reasons, types};
use crate::api::shared_str::SharedStr;
use crate::controller::desired;
use crate::controller::org_api::{FoundApp, OrgApi, WantedApp};
use crate::controller::registry::OrgHandle;
use crate::error::Error;
use crate::salesforce::{AccessGrant, SalesforceError};

#[derive(Debug)]
pub enum AccessOutcome {
    /// The app grants what the spec lists.
    Granted,
    /// Grants changed to match the spec: names granted now, and revoked grants. `replaced`: the
    /// org replaced the grants on the first deploy, so the whole set was deployed.
    Changed {
        added: Vec<String>,
        revoked: Vec<String>,
        replaced: bool,
    },
    /// ObserveOnly, and the grants differ from the spec: left alone.
    DifferObserveOnly,
    Failed(Error),
}

pub async fn ensure(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
    app: &AppOutcome,
) -> AccessOutcome {
    if app.access_left_different() {
        return AccessOutcome::DifferObserveOnly;
    }
    if input.spec.app.type_ != AppType::ExternalClientApp {
        return AccessOutcome::Granted;
    }
    match external(org, input).await {
        Ok(o) => o,
        Err(e) => AccessOutcome::Failed(e),
    }
}

fn has(list: &[impl AsRef<str>], name: &str) -> bool {
    list.iter()
        .any(|n| n.as_ref().trim().eq_ignore_ascii_case(name.trim()))
}

/// What the spec lists that `grants` lacks: (profiles, permission sets).
fn missing(input: &Inputs<'_>, grants: &[AccessGrant]) -> (Vec<String>, Vec<String>) {
    let lacks = |want: &[SharedStr], by_profile: bool| -> Vec<String> {
        want.iter()
            .filter(|w| {
                !grants
                    .iter()
                    .any(|g| g.by_profile == by_profile && g.name.eq_ignore_ascii_case(w.trim()))
            })
            .map(|w| w.trim().to_string())
            .collect()
    };
    let access = &input.spec.access;
    (
        lacks(&access.profiles, true),
        lacks(&access.permission_sets, false),
    )
}

/// Grants the spec does not list.
fn extra<'a>(input: &Inputs<'_>, grants: &'a [AccessGrant]) -> Vec<&'a AccessGrant> {
    let access = &input.spec.access;
    grants
        .iter()
        .filter(|g| {
            let list = if g.by_profile {
                &access.profiles
            } else {
                &access.permission_sets
            };
            !has(list, &g.name)
        })
        .collect()
}

async fn grants_of(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Result<Vec<AccessGrant>, Error> {
    match org.api.read_grants(input.api_name()).await {
        Ok(Some(g)) => Ok(g),
        Ok(None) => Err(Error::AppUnreadable {
            name: input.api_name().to_string(),
        }),
        Err(e) => Err(Error::ReadApp(e)),
    }
}

/// Deploys the app as it is with exactly these access names.
async fn deploy(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
    profiles: &[impl AsRef<str>],
    permission_sets: &[impl AsRef<str>],
) -> Result<(), Error> {
    let name = input.api_name();
    let found = org
        .api
        .read_app(AppType::ExternalClientApp, name, input.priority)
        .await
        .map_err(Error::ReadApp)?;
    let FoundApp::External(Some(existing)) = found else {
        return Err(Error::AppUnreadable {
            name: name.to_string(),
        });
    };
    let bundle = desired::external_client_app(input.spec, &input.marker, Some(&existing));
    let bundle = desired::with_access(bundle, profiles, permission_sets);
    org.api
        .write_app(&WantedApp::External(Box::new(bundle)))
        .await
        .map_err(Error::WriteApp)
}

async fn external(
    org: &OrgHandle<impl OrgApi>,
    input: &Inputs<'_>,
) -> Result<AccessOutcome, Error> {
    let grants = grants_of(org, input).await?;
    let (profiles, permission_sets) = missing(input, &grants);
    let extra: Vec<AccessGrant> = extra(input, &grants).into_iter().cloned().collect();
    if profiles.is_empty() && permission_sets.is_empty() && extra.is_empty() {
        return Ok(AccessOutcome::Granted);
    }
    if input.observe_only {
        return Ok(AccessOutcome::DifferObserveOnly);
    }
    let mut replaced = false;
    let mut added: Vec<String> = profiles.iter().chain(&permission_sets).cloned().collect();
    if !added.is_empty() {
        deploy(org, input, &profiles, &permission_sets).await?;
        let after = grants_of(org, input).await?;
        let (p, s) = missing(input, &after);
        if !p.is_empty() || !s.is_empty() {
            // Grants that were there are gone: this org's deploys replace. Send the whole set.
            let access = &input.spec.access;
            deploy(org, input, &access.profiles, &access.permission_sets).await?;
            replaced = true;
            added = p.into_iter().chain(s).collect();
        }
    }
    let mut revoked = Vec::new();
    for g in &extra {
        match org.api.revoke_grant(&g.id).await {
            Ok(()) => revoked.push(g.name.clone()),
            // Gone already (revoked by someone else, or by a replacing deploy).
            Err(SalesforceError::Fault { code, .. }) if code == "NOT_FOUND" => {
                revoked.push(g.name.clone())
            }
            Err(e) => return Err(Error::WriteApp(e)),
        }
    }
    Ok(AccessOutcome::Changed {
        added,
        revoked,
        replaced,
    })
}

impl AccessOutcome {
    pub fn failure(&self) -> Option<&Error> {
        match self {
            AccessOutcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The `AccessGranted` condition.
    pub fn condition(&self, input: &Inputs<'_>) -> Desired {
        let t = types::ACCESS_GRANTED;
        fn list(v: &[impl AsRef<str>]) -> String {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
            }
        }
        let access = &input.spec.access;
        let granted = format!(
            "profiles: {}; permission sets: {}",
            list(&access.profiles),
            list(&access.permission_sets)
        );
        match self {
            AccessOutcome::DifferObserveOnly => Desired::new(
                t,
                false,
                reasons::DRIFTED,
                "profile or permission set access differs from the spec; ObserveOnly makes no change",
            ),
            AccessOutcome::Granted => Desired::new(t, true, reasons::SYNCED, granted),
            AccessOutcome::Changed {
                added,
                revoked,
                replaced,
            } => Desired::new(
                t,
                true,
                reasons::SYNCED,
                format!(
                    "{granted} (granted now by deploy{}: {}; revoked through SetupEntityAccess: {})",
                    if *replaced {
                        " of the whole set, as this org's deploys replace grants"
                    } else {
                        " of the missing names"
                    },
                    list(added),
                    list(revoked)
                ),
            ),
            AccessOutcome::Failed(e) => e.condition(t),
        }
    }
}
