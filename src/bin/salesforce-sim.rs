//! `salesforce-sim`: a simulated Salesforce org for tests, benchmarks and the demo.
//!
//! The simulator lives under `src/sim/` and is compiled only into this binary; the
//! operator's library never links it. See `docs/simulator.md`.
#![forbid(unsafe_code)]

#[path = "../sim/mod.rs"]
mod sim;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sim::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("salesforce-sim: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sim::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("salesforce-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
