//! `friends`: see the library's docs.

use kit::cli::ServiceConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = friends::Config::from_env();
    kit::telemetry::init();
    kit::cli::exit_code(
        "friends",
        friends::run(config, kit::shutdown::signal()).await,
    )
}
