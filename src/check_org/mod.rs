//! `sso-operator check-org`: what a user runs against a sandbox before trusting the operator with
//! production. It takes a `SalesforceOrg` and its Secret, from the cluster (`--org
//! namespace/name`) or from files (`--org-file`, `--secret-file`: YAML or JSON as `kubectl get -o
//! yaml` prints them), and checks the org read-only (authentication, API version, IdP settings and
//! certificate, listings, metadata documents). With `--write` it also walks a throwaway app of
//! each type (`SsoCheck_CA_<random>`, `SsoCheck_ECA_<random>`) through create, update, access add
//! and remove, metadata download and delete, and deletes what it made even when a step fails.
//! One line per assumption of the reality-variant table (docs/simulator.md): confirmed,
//! contradicted (with what the org said), or not testable; `--output json` prints the same as one
//! JSON object. Exit status: 0 the operator's defaults (and fallbacks) fit the org, 1 they do
//! not, 2 the org could not be set up for checking.

mod probe;
pub mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;

use crate::api::SalesforceOrg;
use crate::controller::connection::connection_with;
use crate::error::ConnectError;
use crate::salesforce::{ClientOptions, Salesforce};
use report::Report;

/// Output format of `check-org`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CheckOrgArgs {
    /// The `SalesforceOrg` in the cluster, `namespace/name` (its Secret is read from there too).
    #[arg(long, conflicts_with_all = ["org_file", "secret_file"], required_unless_present = "org_file")]
    pub org: Option<String>,

    /// The `SalesforceOrg` as a file (YAML or JSON).
    #[arg(long, requires = "secret_file")]
    pub org_file: Option<PathBuf>,

    /// Its Secret as a file (YAML or JSON; `data` or `stringData`).
    #[arg(long)]
    pub secret_file: Option<PathBuf>,

    /// Also create, change and delete a throwaway app of each type (cleaned up even when a step
    /// fails). Without it nothing in the org is changed.
    #[arg(long)]
    pub write: bool,

    /// The profile the throwaway apps grant and revoke (`--write`).
    #[arg(long, default_value = "System Administrator")]
    pub profile: String,

    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,

    /// Widen the Salesforce host allow-list by one `host` or `host:port` (repeatable), as `run`.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,

    /// Trust only this CA bundle (PEM) for Salesforce connections, as `run`.
    #[arg(long)]
    pub salesforce_ca_file: Option<PathBuf>,
}

pub async fn run(args: CheckOrgArgs) -> ExitCode {
    match check(&args).await {
        Ok(report) => {
            match args.output {
                Output::Text => print!("{}", report.text()),
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                ),
            }
            if report.fits {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("check-org: {e}");
            ExitCode::from(2)
        }
    }
}

/// Connects and runs the checks.
pub async fn check(args: &CheckOrgArgs) -> Result<Report, String> {
    let extra_ca_pem = match &args.salesforce_ca_file {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?),
        None => None,
    };
    let sf = Salesforce::new(ClientOptions {
        allow_hosts: args.allow_hosts.clone(),
        extra_ca_pem,
        ..ClientOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let (org, conn) = match (&args.org, &args.org_file, &args.secret_file) {
        (Some(key), _, _) => {
            let (ns, name) = key
                .split_once('/')
                .ok_or_else(|| format!("--org {key}: expected namespace/name"))?;
            let client = kube::Client::try_default()
                .await
                .map_err(|e| format!("cluster: {e}"))?;
            let orgs: kube::Api<SalesforceOrg> = kube::Api::namespaced(client.clone(), ns);
            let org = orgs
                .get(name)
                .await
                .map_err(|e| format!("SalesforceOrg {key}: {e}"))?;
            let conn = crate::controller::connection::connection(&client, &org, sf.options())
                .await
                .map_err(|e| e.to_string())?;
            (org, conn)
        }
        (None, Some(org_file), Some(secret_file)) => {
            let org: SalesforceOrg = read_yaml(org_file)?;
            let secret = secret_of(read_yaml(secret_file)?);
            let conn = connection_with(&org, sf.options(), |name| {
                let secret = secret.clone();
                async move {
                    if secret.name_any() == name {
                        Ok(secret)
                    } else {
                        Err(ConnectError::SecretNotFound {
                            namespace: "(--secret-file)".into(),
                            name,
                        })
                    }
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            (org, conn)
        }
        _ => return Err("give --org namespace/name, or --org-file and --secret-file".into()),
    };
    let client = sf.client(&format!("check-org/{}", org.name_any()), conn);
    let mut findings = probe::read_only(&client).await;
    let authenticated = findings.first().is_some_and(|f| f.fits);
    if args.write && authenticated {
        let suffix: String = format!("{:08x}", rand::random::<u32>());
        findings.extend(
            probe::Walk::new(&client, &args.profile, &suffix)
                .run()
                .await,
        );
    }
    Ok(Report::new(findings, args.write))
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `stringData` folded into `data`, as the API server does.
fn secret_of(mut s: Secret) -> Secret {
    if let Some(sd) = s.string_data.take() {
        let data = s.data.get_or_insert_with(Default::default);
        for (k, v) in sd {
            data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
        }
    }
    s
}
