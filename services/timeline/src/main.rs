//! `timeline`: see the library's docs.

use kit::cli::ServiceConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = timeline::Config::from_env();
    kit::telemetry::init();
    kit::cli::exit_code(
        "timeline",
        timeline::run(config, kit::shutdown::signal()).await,
    )
}
