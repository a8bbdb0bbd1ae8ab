//! Command line of the `sso-operator` binary, parsed once at start-up and then held in the
//! controller's context (never re-read from the environment inside a reconcile).

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::leader::Timing;

/// Kubernetes operator that makes Salesforce the SAML identity provider for partner telephony.
#[derive(Parser, Debug)]
#[command(name = "sso-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller.
    Run(Box<RunArgs>),
    /// Print both CustomResourceDefinitions as YAML.
    Crd,
    /// Check a Salesforce org against the operator's assumptions (read-only unless --write).
    CheckOrg(Box<crate::check_org::CheckOrgArgs>),
}

/// Log output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "SSO_OPERATOR_NAMESPACE")]
    pub namespace: Option<String>,

    /// Address serving /livez, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Only reconcile while holding the coordination.k8s.io Lease.
    #[arg(long)]
    pub leader_election: bool,

    /// Namespace of the leader-election Lease (default: the watched namespace, else the pod's
    /// namespace from POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(long, default_value = "sso-operator-leader")]
    pub leader_election_lease: String,

    /// Lease duration in seconds: a standby takes the Lease over once it has seen it unchanged
    /// for this long (on its own clock).
    #[arg(long, default_value_t = 15)]
    pub leader_election_lease_seconds: u64,

    /// Renew deadline in seconds: the leader stops reconciling and exits when it has not renewed
    /// the Lease for this long. Must be at least 1 s below the lease duration (the time the leader
    /// is given to stop). Default: two thirds of the lease duration (10 s of 15 s).
    #[arg(long)]
    pub leader_election_renew_deadline_seconds: Option<u64>,

    /// Retry period in seconds: how often the leader renews and a standby reads the Lease; below
    /// the renew deadline. Default: two fifteenths of the lease duration (2 s of 15 s).
    #[arg(long)]
    pub leader_election_retry_period_seconds: Option<u64>,

    /// Widen the Salesforce host allow-list by one `host` or `host:port` (repeatable). Meant for
    /// the simulator in tests and the demo; nothing in a resource can widen the list.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,

    /// This cluster's name in the ownership markers written into Salesforce apps, so another
    /// cluster (staging, disaster recovery) with the same `namespace/name` is not taken for this
    /// one. Default: the uid of the `kube-system` namespace (needs `get` on it).
    #[arg(long, env = "SSO_CLUSTER_NAME", value_parser = cluster_name)]
    pub cluster_name: Option<String>,

    /// Trust only this CA bundle (PEM) for Salesforce connections, e.g. the simulator's CA.
    #[arg(long)]
    pub salesforce_ca_file: Option<PathBuf>,

    /// Reconciles running at once per controller. Salesforce calls are capped per org
    /// (`apiBudget.maxConcurrentCalls`) anyway; more reconciles in flight let the client batch
    /// their reads and writes into calls of up to 10 components. A new app's reconcile waits up to
    /// 2 s for company before its create, so this bounds a converge to about `concurrency / 2`
    /// apps a second, and a batch of 10 per org needs 10 of them in flight for each busy org: at
    /// 64, 10,000 apps applied over 10 orgs queued for over a minute (p99 83 s to Ready). Each one
    /// in flight holds its documents, so more costs memory: at 256 a cold start of 1,000 apps
    /// peaked at 42 MiB (28.8 at 64).
    #[arg(long, default_value_t = 128)]
    pub concurrency: u16,

    /// Batch concurrent Salesforce reads and writes into calls of up to 10 components. Turned off
    /// only to measure the gain in benchmarks.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub coalescing: bool,

    /// How often each SalesforceOrg's credentials and API usage are re-checked, in seconds.
    #[arg(long, default_value_t = 300)]
    pub org_refresh_seconds: u64,

    /// How often every app's IdP metadata is downloaded even though nothing the operator sees
    /// (IdP certificate, app settings, generation, rotation phase) changed, in hours; each app at
    /// its own time, spread over the period. Every start-up downloads all of them too.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub metadata_sweep_hours: u64,

    /// How long an org's Salesforce calls pause after its daily API allocation ran out
    /// (`REQUEST_LIMIT_EXCEEDED`), in seconds.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    pub quota_backoff_seconds: u64,

    /// Deadline for one Salesforce HTTP exchange (body included), in seconds; keep it under the
    /// platform's 10-minute limit.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub salesforce_timeout_seconds: u64,
}

/// A cluster name fit for a marker line: 1-63 characters of letters, digits, `-`, `_`, `.`.
fn cluster_name(s: &str) -> Result<String, String> {
    let ok = (1..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err("1 to 63 letters, digits, '-', '_' or '.'".into())
    }
}

impl RunArgs {
    /// The leader-election timing from the three flags, checked against each other.
    pub fn leader_timing(&self) -> Result<Timing, String> {
        let lease = Duration::from_secs(self.leader_election_lease_seconds);
        let (renew, retry) = Timing::scaled(lease);
        let renew = self
            .leader_election_renew_deadline_seconds
            .map_or(renew, Duration::from_secs);
        let retry = self
            .leader_election_retry_period_seconds
            .map_or(retry, Duration::from_secs);
        Timing::new(lease, renew, retry).map_err(|e| {
            format!(
                "invalid leader-election timing (--leader-election-lease-seconds, \
                 --leader-election-renew-deadline-seconds, \
                 --leader-election-retry-period-seconds): {e}"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> RunArgs {
        let mut argv = vec!["sso-operator", "run"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).expect("parse").command {
            Command::Run(a) => *a,
            Command::Crd | Command::CheckOrg(_) => unreachable!(),
        }
    }

    #[test]
    fn leader_timing_defaults_to_client_go_s_and_scales_with_the_lease() {
        assert_eq!(run(&[]).leader_timing().unwrap(), Timing::DEFAULT);
        let t = run(&["--leader-election-lease-seconds", "6"])
            .leader_timing()
            .unwrap();
        assert_eq!(t.renew_deadline, Duration::from_secs(4));
        assert_eq!(t.retry_period, Duration::from_millis(800));
        let t = run(&[
            "--leader-election-lease-seconds=30",
            "--leader-election-renew-deadline-seconds=20",
            "--leader-election-retry-period-seconds=5",
        ])
        .leader_timing()
        .unwrap();
        assert_eq!(t.retry_period, Duration::from_secs(5));
    }

    #[test]
    fn inconsistent_leader_timing_is_refused_with_the_flags_named() {
        let e = run(&["--leader-election-renew-deadline-seconds=15"])
            .leader_timing()
            .unwrap_err();
        assert!(
            e.contains("--leader-election-renew-deadline-seconds"),
            "{e}"
        );
        assert!(e.contains("must be less than the lease duration"), "{e}");
        let e = run(&["--leader-election-retry-period-seconds=10"])
            .leader_timing()
            .unwrap_err();
        assert!(e.contains("retry period (10s) must be less than"), "{e}");
        run(&["--leader-election-lease-seconds=3"])
            .leader_timing()
            .unwrap_err();
    }
}
