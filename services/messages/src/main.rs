//! `messages`: see the library's docs.

use kit::cli::ServiceConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = messages::Config::from_env();
    kit::telemetry::init();
    kit::cli::exit_code(
        "messages",
        messages::run(config, kit::shutdown::signal()).await,
    )
}
