//! `users`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = users::Config::from_env();
    kit::telemetry::init();
    match users::run(config, kit::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("users: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
