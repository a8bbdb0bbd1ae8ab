//! Building the runtime state from an org file: the org id (15 or 18 characters, `00D`
//! prefix), users, profile and permission-set ids, the org's certificates (generated now), the
//! identity provider, OAuth clients and their certificates, and the apps already present
//! (validated against the WSDL like a SOAP write). Errors name the org-file key.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::SignedDuration;

use crate::certs::{OrgCertificate, rsa_key_from_cert_pem};
use crate::metadata_types;
use crate::org_file::OrgFile;
use crate::state::{State, User, make_id};
use crate::wsdl_types::CONNECTED_APP;

/// Load and check the org file at `path`, generating the org's certificates. Relative
/// `certificateFile`s are read from the org file's directory.
pub fn load(path: &Path) -> Result<State, String> {
    let file = OrgFile::read(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    build(file, base)
}

/// The state an org file describes; relative `certificateFile`s are read from `base`.
pub fn build(file: OrgFile, base: &Path) -> Result<State, String> {
    let mut state = State {
        org_id: org_id(&file.org_id)?,
        my_domain: file.my_domain.trim_end_matches('/').to_owned(),
        profiles: file.profiles.iter().cloned().collect(),
        permission_sets: file.permission_sets.iter().cloned().collect(),
        idp_enabled: file.identity_provider.enabled,
        idp_certificate: file.identity_provider.certificate.clone(),
        policy: file.policy.clone(),
        edition: file.edition,
        realism: file.realism,
        token_ttl: parse_ttl(&file.token_ttl)?,
        audience: file.audience.clone(),
        daily_max: file.limits.daily_api_requests,
        concurrent_long_requests: file.limits.concurrent_long_requests,
        ..State::default()
    };
    for p in &file.profiles {
        let id = state.new_id("00e");
        state.profile_ids.insert(p.clone(), id);
    }
    for p in &file.permission_sets {
        let id = state.new_id("0PS");
        state.permission_set_ids.insert(p.clone(), id);
    }
    add_users(&mut state, &file)?;
    add_certificates(&mut state, &file)?;
    add_oauth_clients(&mut state, file.oauth_clients, base)?;
    add_connected_apps(&mut state, &file.connected_apps)?;
    Ok(state)
}

/// The 18-character org id of a 15- or 18-character one.
fn org_id(given: &str) -> Result<String, String> {
    let org_id = match given.len() {
        18 => given.to_owned(),
        15 => make_id(given),
        _ => return Err(format!("orgId {given:?} must be 15 or 18 characters")),
    };
    if !org_id.starts_with("00D") || !org_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "orgId {org_id:?} must start with 00D and be alphanumeric"
        ));
    }
    Ok(org_id)
}

/// Parse a duration such as `2h`, `90m`, `3600s` or `1h 30m`.
fn parse_ttl(s: &str) -> Result<SignedDuration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("tokenTtl {s:?}: {e}"))?;
    SignedDuration::try_from(d).map_err(|e| format!("tokenTtl {s:?}: {e}"))
}

fn add_users(state: &mut State, file: &OrgFile) -> Result<(), String> {
    for u in &file.users {
        if !state.profiles.contains(&u.profile) {
            return Err(format!(
                "user {}: profile {:?} is not in profiles",
                u.username, u.profile
            ));
        }
        let id = state.new_id("005");
        state.users.push(User {
            id,
            username: u.username.clone(),
            profile: u.profile.clone(),
            federation_id: u.federation_id.clone(),
            permission_sets: Vec::new(),
            fields: file
                .user_fields
                .get(&u.username)
                .cloned()
                .unwrap_or_default(),
        });
    }
    for name in file.user_fields.keys() {
        if state.user(name).is_none() {
            return Err(format!("userFields: {name:?} is not in users"));
        }
    }
    for a in &file.permission_set_assignments {
        if !state.permission_sets.contains(&a.permission_set) {
            return Err(format!(
                "permissionSetAssignments: permission set {:?} is not in permissionSets",
                a.permission_set
            ));
        }
        let user = state
            .users
            .iter_mut()
            .find(|u| u.username == a.username)
            .ok_or_else(|| {
                format!(
                    "permissionSetAssignments: user {:?} is not in users",
                    a.username
                )
            })?;
        if !user.permission_sets.contains(&a.permission_set) {
            user.permission_sets.push(a.permission_set.clone());
        }
    }
    Ok(())
}

/// Generates the certificates and checks the identity provider's.
fn add_certificates(state: &mut State, file: &OrgFile) -> Result<(), String> {
    let now = state.now();
    let mut certificates = BTreeMap::new();
    for c in &file.certificates {
        let id = state.new_id("0P1");
        let cert = OrgCertificate::generate(c, state.org_id15(), now, id)?;
        certificates.insert(c.name.clone(), cert);
    }
    state.certificates = certificates;
    match (&state.idp_certificate, state.idp_enabled) {
        (Some(name), _) if !state.certificates.contains_key(name) => Err(format!(
            "identityProvider.certificate {name:?} is not in certificates"
        )),
        (None, true) => Err("identityProvider.enabled needs identityProvider.certificate".into()),
        _ => Ok(()),
    }
}

/// Registers the clients and the verification keys of their certificates.
fn add_oauth_clients(
    state: &mut State,
    clients: Vec<crate::org_file::OauthClient>,
    base: &Path,
) -> Result<(), String> {
    for client in clients {
        let pem = match (&client.certificate_pem, &client.certificate_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(base.join(f))
                    .map_err(|e| format!("oauthClients {}: {f}: {e}", client.consumer_key))?,
            ),
            (None, None) => None,
        };
        if let Some(pem) = pem {
            let key = rsa_key_from_cert_pem(&pem)
                .map_err(|e| format!("oauthClients {}: {e}", client.consumer_key))?;
            state.client_keys.insert(client.consumer_key.clone(), key);
        }
        for p in &client.pre_authorized_profiles {
            if !state.profiles.contains(p) {
                return Err(format!(
                    "oauthClients {}: profile {p:?} is not in profiles",
                    client.consumer_key
                ));
            }
        }
        state.oauth_clients.push(client);
    }
    Ok(())
}

/// The connected apps already present, validated against the WSDL.
fn add_connected_apps(state: &mut State, apps: &[serde_json::Value]) -> Result<(), String> {
    for (i, app) in apps.iter().enumerate() {
        let fields = metadata_types::from_json(app, &CONNECTED_APP)
            .map_err(|e| format!("connectedApps[{i}]: {e}"))?;
        let missing = metadata_types::missing_required(&fields, &CONNECTED_APP, "");
        if !missing.is_empty() {
            return Err(format!(
                "connectedApps[{i}]: missing {}",
                missing.join(", ")
            ));
        }
        let name = metadata_types::text(&fields, "fullName")
            .ok_or_else(|| format!("connectedApps[{i}]: fullName is required"))?
            .to_owned();
        state.put_app(&name, fields);
    }
    Ok(())
}
