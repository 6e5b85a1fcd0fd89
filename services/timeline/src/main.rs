//! `timeline`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = timeline::Config::from_env();
    kit::telemetry::init();
    match timeline::run(config, kit::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("timeline: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
