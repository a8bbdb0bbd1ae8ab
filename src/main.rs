//! The `sso-operator` binary: `run` starts the controller, `crd` prints the CRDs, `check-org`
//! checks an org against the operator's assumptions.
#![forbid(unsafe_code)]

use clap::Parser;
use sso_operator::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => {
            print!("{}", sso_operator::api::crds_yaml());
            std::process::ExitCode::SUCCESS
        }
        Command::Run(args) => sso_operator::controller::run(*args).await,
        Command::CheckOrg(args) => sso_operator::check_org::run(*args).await,
    }
}
