//! The checks: read-only ones (authentication, API version, IdP settings and certificate, the
//! listings, the metadata documents), and with `--write` a walk of a throwaway app of each type
//! through create, read, update, access add and remove, metadata download and delete, which
//! deletes whatever it created even when a step fails.

use crate::api::app::{AppType, SsoConnectedAppSpec};
use crate::controller::desired;
use crate::salesforce::{OrgClient, ReadPriority, SalesforceError};

use super::report::Finding;

/// The read-only checks (only the first when authentication fails).
pub async fn read_only(client: &OrgClient) -> Vec<Finding> {
    let mut out = Vec::new();
    match client.authenticate().await {
        Ok(id) => out.push(Finding::confirmed(
            "authentication",
            format!("token for user {} in org {}", id.user_id, id.org_id),
        )),
        Err(e) => {
            out.push(Finding::failed("authentication", e.to_string()));
            return out;
        }
    }
    out.push(api_version(client));
    let idp_cert = match client.read_identity_provider().await {
        Ok(Some(idp)) if idp.enable_identity_provider => {
            out.push(Finding::confirmed(
                "identityProvider",
                format!("enabled, signing with {}", idp.certificate_name),
            ));
            Some(idp.certificate_name)
        }
        Ok(_) => {
            out.push(Finding::confirmed(
                "identityProvider",
                "readable and off: the operator enables it with the certificate a spec names",
            ));
            None
        }
        Err(e) => {
            out.push(Finding::failed("identityProvider", e.to_string()));
            None
        }
    };
    out.push(certificate_read(client, idp_cert.as_deref()).await);
    let apps = match client.list_connected_apps().await {
        Ok(l) => {
            out.push(Finding::confirmed(
                "listing",
                format!("{} connected apps listed", l.len()),
            ));
            l
        }
        Err(e) => {
            out.push(Finding::failed("listing", e.to_string()));
            Vec::new()
        }
    };
    out.push(match client.list_external_client_apps().await {
        Ok(l) => Finding::confirmed(
            "ecaAvailable",
            format!("{} External Client Apps listed", l.len()),
        ),
        Err(e) => Finding {
            fits: true,
            ..Finding::failed(
                "ecaAvailable",
                format!("External Client Apps cannot be listed ({e}): use connected apps"),
            )
        },
    });
    out.extend(
        metadata_documents(
            client,
            idp_cert.is_some(),
            apps.first().map(|a| a.full_name.as_str()),
        )
        .await,
    );
    out
}

/// Whether the org's API version can hold External Client Apps with SAML.
fn api_version(client: &OrgClient) -> Finding {
    let version = &client.connection().api_version;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major >= 63 {
        Finding::confirmed(
            "apiVersion",
            format!("{version}: External Client Apps with SAML can be managed (63.0 or later)"),
        )
    } else {
        Finding {
            fits: true,
            ..Finding::failed(
                "apiVersion",
                format!("{version}: below 63.0, only connected apps can be managed"),
            )
        }
    }
}

/// Whether the IdP certificate reads with its content as PEM.
async fn certificate_read(client: &OrgClient, idp_cert: Option<&str>) -> Finding {
    match idp_cert {
        None => Finding::untestable("certificateRead", "no IdP certificate to read"),
        Some(name) => match client.read_certificate(name).await {
            Ok(Some(c)) => match c.content.as_deref() {
                Some(pem) if crate::salesforce::pem_sha256_fingerprint(pem).is_some() => {
                    Finding::confirmed(
                        "certificateRead",
                        format!("{name}: content is a PEM certificate"),
                    )
                }
                Some(_) => Finding {
                    fits: true,
                    ..Finding::failed(
                        "certificateRead",
                        format!(
                            "{name}: content is not a PEM certificate; the operator takes the certificate from the IdP metadata"
                        ),
                    )
                },
                None => Finding::untestable(
                    "certificateRead",
                    format!(
                        "{name}: no content returned; the operator takes the certificate from the IdP metadata"
                    ),
                ),
            },
            Ok(None) => Finding::failed("certificateRead", format!("{name} not found")),
            Err(e) => Finding::failed("certificateRead", e.to_string()),
        },
    }
}

/// The org's IdP metadata document, and one app's.
async fn metadata_documents(
    client: &OrgClient,
    idp_on: bool,
    first_app: Option<&str>,
) -> Vec<Finding> {
    let (org, stamp) = match client.fetch_idp_metadata(None).await {
        Ok(md) => (
            Finding::confirmed(
                "orgMetadata",
                format!(
                    "/.well-known/samlidp.xml served (entity id {})",
                    md.entity_id
                ),
            ),
            valid_until_stamp(&md.xml),
        ),
        Err(e) if !idp_on => (
            Finding::untestable("orgMetadata", format!("the IdP is off ({e})")),
            Finding::untestable("metadataValidUntil", "no metadata document"),
        ),
        Err(e) => (
            Finding::failed("orgMetadata", e.to_string()),
            Finding::untestable("metadataValidUntil", "no metadata document"),
        ),
    };
    let app = match first_app {
        None => Finding::untestable("appMetadata", "no connected app in the org"),
        Some(name) => match client.fetch_idp_metadata(Some(name)).await {
            Ok(_) => Finding::confirmed(
                "appMetadata",
                format!("/.well-known/samlidp/{}.xml served", name),
            ),
            Err(e) => Finding::untestable(
                "appMetadata",
                format!("{}: {e} (not a SAML app, or the IdP is off)", name),
            ),
        },
    };
    vec![org, stamp, app]
}

/// How the document stamps `validUntil`: a time of day to the millisecond means per download
/// (every download differs there, which the operator ignores); midnight means whole days.
fn valid_until_stamp(xml: &str) -> Finding {
    let stamp = xml
        .split_once("validUntil=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_string());
    match stamp {
        Some(v) if v.contains("T00:00:00") && v.trim_end_matches('Z').ends_with(".000") => {
            Finding::variant(
                "metadataValidUntil",
                "wholeDays",
                format!("validUntil {v}: whole days, repeated downloads are identical"),
            )
        }
        Some(v) => Finding::confirmed(
            "metadataValidUntil",
            format!(
                "validUntil {v}: stamped per download; a change of validUntil alone is not republished"
            ),
        ),
        None => Finding::untestable("metadataValidUntil", "the document has no validUntil"),
    }
}

/// The spec of a throwaway app `name` of `kind`, granting `profile`.
fn throwaway(name: &str, kind: AppType, profile: &str) -> SsoConnectedAppSpec {
    let kind = match kind {
        AppType::ConnectedApp => "ConnectedApp",
        AppType::ExternalClientApp => "ExternalClientApp",
    };
    serde_json::from_value(serde_json::json!({
        "orgRef": {"name": "check-org"},
        "app": {"type": kind, "apiName": name, "label": format!("{name} sso-operator check"),
                "contactEmail": "sso-operator-check@example.com"},
        "saml": {"acsUrl": "https://sso-operator-check.example.com/acs",
                 "entityId": "https://sso-operator-check.example.com/sp",
                 "subjectType": "Username"},
        "access": {"profiles": [profile]}
    }))
    .expect("the throwaway spec is valid")
}

/// What the throwaway apps' descriptions say.
const MARKER: &str = "made by sso-operator check-org to test this org; safe to delete";

/// The write walk: what it found, and the apps it created and has not deleted yet.
pub struct Walk<'a> {
    client: &'a OrgClient,
    profile: &'a str,
    pub findings: Vec<Finding>,
    /// Apps created and not deleted yet.
    created: Vec<(AppType, String)>,
    /// The end of this run's app names.
    suffix: String,
}

impl<'a> Walk<'a> {
    /// A walk whose apps are named `SsoCheck_CA_<suffix>` and `SsoCheck_ECA_<suffix>`.
    pub fn new(client: &'a OrgClient, profile: &'a str, suffix: &str) -> Self {
        Walk {
            client,
            profile,
            findings: Vec::new(),
            created: Vec::new(),
            suffix: suffix.to_string(),
        }
    }

    /// Both apps' walks, then the cleanup of anything left (always).
    pub async fn run(mut self) -> Vec<Finding> {
        self.findings.push(Finding::untestable(
            "consumerKeyEcho",
            "the operator never sends consumerKey or consumerSecret back, so it does not matter",
        ));
        let ca = format!("SsoCheck_CA_{}", self.suffix);
        let eca = format!("SsoCheck_ECA_{}", self.suffix);
        if let Err(e) = self.connected_app(&ca).await {
            self.findings.push(e);
        }
        if let Err(e) = self.external_client_app(&eca).await {
            self.findings.push(e);
        }
        self.cleanup().await;
        self.findings
    }

    async fn connected_app(&mut self, name: &str) -> Result<(), Finding> {
        let c = self.client;
        let spec = throwaway(name, AppType::ConnectedApp, self.profile);
        let app = desired::connected_app(&spec, MARKER, None);
        match c.create_connected_app(&app).await {
            Ok(_) => {
                self.created.push((AppType::ConnectedApp, name.to_string()));
                self.findings.push(Finding::untestable(
                    "creationBlocked",
                    "connected apps can be created in this org",
                ));
            }
            Err(SalesforceError::CreationBlocked {
                status_code,
                message,
                ..
            }) => {
                // A SOAP fault's text starts with its code; a SaveResult error's does not.
                let fault = message.starts_with(&format!("{status_code}:"));
                let observed = format!(
                    "creation refused ({}): {status_code}: {message}; use type ExternalClientApp",
                    if fault {
                        "a fault for the whole call"
                    } else {
                        "per component"
                    }
                );
                self.findings.push(if fault {
                    Finding::variant("creationBlocked", "fault", observed)
                } else {
                    Finding::confirmed("creationBlocked", observed)
                });
                return Ok(());
            }
            Err(e) => return Err(Finding::failed("connectedAppCreate", e.to_string())),
        }
        match c.read_connected_app(name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Finding::failed(
                    "connectedAppRead",
                    "created, then not found by readMetadata",
                ));
            }
            Err(e) => return Err(Finding::failed("connectedAppRead", e.to_string())),
        }
        let mut changed = app.clone();
        changed.label = format!("{name} sso-operator check (updated)");
        c.upsert_connected_app(&changed)
            .await
            .map_err(|e| Finding::failed("connectedAppUpdate", e.to_string()))?;
        self.findings
            .push(match c.fetch_idp_metadata(Some(name)).await {
                Ok(_) => Finding::confirmed(
                    "connectedAppMetadata",
                    format!("/.well-known/samlidp/{name}.xml served"),
                ),
                Err(e) => Finding::failed("connectedAppMetadata", e.to_string()),
            });
        c.delete_connected_app(name)
            .await
            .map_err(|e| Finding::failed("connectedAppDelete", e.to_string()))?;
        self.created.retain(|(_, n)| n != name);
        Ok(())
    }

    async fn external_client_app(&mut self, name: &str) -> Result<(), Finding> {
        let c = self.client;
        let spec = throwaway(name, AppType::ExternalClientApp, self.profile);
        let bundle = desired::external_client_app(&spec, MARKER, None);
        // Counted as created before the deploy answers: a deploy that timed out may still land.
        self.created
            .push((AppType::ExternalClientApp, name.to_string()));
        c.deploy_external_client_app(&bundle)
            .await
            .map_err(|e| Finding::failed("ecaDeploy", e.to_string()))?;
        self.findings.push(Finding::confirmed(
            "edition",
            "a deploy without testLevel is accepted (never NoTestRun, which production refuses)",
        ));
        let read = c
            .read_external_client_app(name, ReadPriority::Required)
            .await
            .map_err(|e| Finding::failed("ecaRead", e.to_string()))?
            .ok_or_else(|| {
                Finding::failed("ecaRead", "deployed, then not found by readMetadata")
            })?;
        let policies = self.policy_reads(&read);
        self.findings.extend(policies);
        let lower = name.to_ascii_lowercase();
        self.findings
            .push(match c.external_client_app_name_as_read(&lower).await {
                Ok(Some(_)) => {
                    Finding::confirmed("nameMatching", format!("{name} is found as {lower}"))
                }
                Ok(None) => Finding::variant(
                    "nameMatching",
                    "caseSensitive",
                    format!("{name} is not found as {lower}"),
                ),
                Err(e) => Finding::failed("nameMatching", e.to_string()),
            });
        self.access_walk(name, &spec, &read).await?;
        self.findings
            .push(match c.fetch_idp_metadata(Some(name)).await {
                Ok(_) => Finding::confirmed(
                    "ecaMetadata",
                    format!("/.well-known/samlidp/{name}.xml served"),
                ),
                Err(SalesforceError::NotFound { .. }) => Finding::variant(
                    "ecaMetadata",
                    "notFound",
                    format!("/.well-known/samlidp/{name}.xml is 404; the operator publishes the org's document"),
                ),
                Err(e) => Finding::failed("ecaMetadata", e.to_string()),
            });
        c.delete_external_client_app(name)
            .await
            .map_err(|e| Finding::failed("ecaDelete", e.to_string()))?;
        self.created.retain(|(_, n)| n != name);
        Ok(())
    }

    /// What reading the policies back right after the deploy tells about the org.
    fn policy_reads(&self, read: &crate::salesforce::ExternalClientAppBundle) -> Vec<Finding> {
        let mut out = Vec::new();
        match &read.saml_policies {
            Some(saml) if read.policies.is_some() => {
                out.push(Finding::confirmed(
                    "ecaPolicyReads",
                    "readMetadata returns the app's policies",
                ));
                out.push(if saml.signing_algorithm_type.is_none() {
                    Finding::variant(
                        "defaultsInReads",
                        "omitted",
                        "a read leaves out signingAlgorithmType SHA256 that was deployed; the operator takes absent as the default",
                    )
                } else {
                    Finding::confirmed("defaultsInReads", "reads return default values")
                });
                let granted = saml.comma_separated_profile.clone().unwrap_or_default();
                out.push(if granted.to_ascii_lowercase().contains(&self.profile.to_ascii_lowercase()) {
                    Finding::confirmed("ecaAccessReads", format!("commaSeparatedProfile reads as names: {granted}"))
                } else if granted.starts_with("00e") {
                    Finding::variant("ecaAccessReads", "ids", format!("commaSeparatedProfile reads as ids: {granted}; the operator reads grants as SetupEntityAccess rows"))
                } else {
                    Finding::untestable("ecaAccessReads", format!("commaSeparatedProfile reads as '{granted}'"))
                });
            }
            _ => {
                out.push(Finding::variant(
                    "ecaPolicyReads",
                    "retrieveOnly",
                    "readMetadata returns no policies right after the deploy; the operator deploys them when the spec changes and cannot check their drift",
                ));
                for check in ["defaultsInReads", "ecaAccessReads"] {
                    out.push(Finding::untestable(check, "the policies cannot be read"));
                }
            }
        }
        out
    }

    /// Access through SetupEntityAccess: read, grant again (additive or replacing), revoke.
    async fn access_walk(
        &mut self,
        name: &str,
        spec: &SsoConnectedAppSpec,
        read: &crate::salesforce::ExternalClientAppBundle,
    ) -> Result<(), Finding> {
        let c = self.client;
        let grants = self.grants(name).await?;
        if !grants
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(self.profile))
        {
            return Err(Finding::failed(
                "setupEntityAccess",
                format!("no grant to {} among {grants:?}", self.profile),
            ));
        }
        self.findings.push(Finding::confirmed(
            "setupEntityAccess",
            format!("grants read with SOQL: {} row(s)", grants.len()),
        ));
        // The same name once more: an additive org refuses it as already granted.
        let again = desired::with_access(
            desired::external_client_app(spec, MARKER, Some(read)),
            &[self.profile],
            &[] as &[&str],
        );
        self.findings
            .push(match c.deploy_external_client_app(&again).await {
                Err(e) if e.to_string().to_ascii_lowercase().contains("already") => {
                    Finding::confirmed(
                        "ecaAccessWrites",
                        format!("additive: a granted name sent again is refused ({e})"),
                    )
                }
                Err(e) => return Err(Finding::failed("ecaUpdate", e.to_string())),
                Ok(_) => Finding::variant(
                    "ecaAccessWrites",
                    "replacing",
                    "a granted name sent again is accepted; the operator deploys the whole set where grants are replaced",
                ),
            });
        let grants = self.grants(name).await?;
        for g in grants
            .iter()
            .filter(|g| g.name.eq_ignore_ascii_case(self.profile))
        {
            c.revoke_grant(&g.id)
                .await
                .map_err(|e| Finding::failed("revokeGrant", e.to_string()))?;
        }
        let left = self.grants(name).await?;
        self.findings.push(
            if left
                .iter()
                .any(|g| g.name.eq_ignore_ascii_case(self.profile))
            {
                Finding::failed("revokeGrant", "the grant is still there after its delete")
            } else {
                Finding::confirmed(
                    "revokeGrant",
                    "a SetupEntityAccess delete revokes the grant",
                )
            },
        );
        Ok(())
    }

    async fn grants(&self, name: &str) -> Result<Vec<crate::salesforce::AccessGrant>, Finding> {
        match self.client.read_external_client_app_grants(name).await {
            Ok(Some(g)) => Ok(g),
            Ok(None) => Err(Finding::failed(
                "setupEntityAccess",
                format!("{name} is not listed"),
            )),
            Err(e) => Err(Finding::failed("setupEntityAccess", e.to_string())),
        }
    }

    /// Deletes what is left, then lists both kinds to show that nothing is.
    async fn cleanup(&mut self) {
        let c = self.client;
        let mut problems = Vec::new();
        for (kind, name) in std::mem::take(&mut self.created) {
            let r = match kind {
                AppType::ConnectedApp => c.delete_connected_app(&name).await,
                AppType::ExternalClientApp => c.delete_external_client_app(&name).await,
            };
            if let Err(e) = r {
                problems.push(format!("{name}: {e}"));
            }
        }
        let mut left = Vec::new();
        for listed in [
            c.list_connected_apps().await,
            c.list_external_client_apps().await,
        ] {
            match listed {
                Ok(l) => left.extend(
                    l.into_iter()
                        .map(|f| f.full_name)
                        .filter(|n| n.starts_with("SsoCheck_") && n.ends_with(&self.suffix)),
                ),
                Err(e) => problems.push(format!("listing: {e}")),
            }
        }
        self.findings
            .push(if problems.is_empty() && left.is_empty() {
                Finding::confirmed("cleanup", "nothing left behind")
            } else {
                Finding::failed(
                    "cleanup",
                    format!("left behind: {left:?}; problems: {problems:?}; delete them in Setup"),
                )
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throwaway_specs_are_valid_for_both_kinds() {
        let s = throwaway(
            "SsoCheck_ECA_1a2b",
            AppType::ExternalClientApp,
            "System Administrator",
        );
        assert_eq!(s.app.type_, AppType::ExternalClientApp);
        let b = desired::external_client_app(&s, MARKER, None);
        assert_eq!(
            b.saml_policies.unwrap().comma_separated_profile.as_deref(),
            Some("System Administrator")
        );
        let s = throwaway(
            "SsoCheck_CA_1a2b",
            AppType::ConnectedApp,
            "System Administrator",
        );
        assert_eq!(
            desired::connected_app(&s, MARKER, None).profile_name,
            vec!["System Administrator".to_string()]
        );
    }
}
