//! `monolith`: see the library's docs.

use kit::cli::ServiceConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = monolith::Config::from_env();
    kit::telemetry::init();
    kit::cli::exit_code(
        "monolith",
        monolith::run(config, kit::shutdown::signal()).await,
    )
}
