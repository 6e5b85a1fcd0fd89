//! `friends`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = friends::Config::from_env();
    kit::telemetry::init();
    match friends::run(config, kit::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("friends: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
