//! `gateway`: see the library's documentation and docs/gateway.md.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::process::ExitCode;

use clap::Parser as _;
use gateway::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            kit::telemetry::init();
            let running = gateway::startup::start(args.into()).await?;
            running.serve_until(kit::shutdown::signal()).await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            match gateway::check::check(&args.file, &args.upstreams.overrides()) {
                Ok(summary) => {
                    print!("{summary}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    eprint!("{errors}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Openapi(args) => gateway::openapi::run(&args),
        Command::Up(args) => {
            gateway::up::init_logs();
            let stop = gateway::up::on_signal()?;
            Ok(kit::cli::exit_code(
                "up",
                gateway::up::run(args, stop).await,
            ))
        }
    }
}
