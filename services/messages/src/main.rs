//! `messages`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = messages::Config::from_env();
    kit::telemetry::init();
    match messages::run(config, kit::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("messages: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
