//! Controller wiring (filled in below).
use crate::config::RunArgs;

pub async fn run(_args: RunArgs) -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
