//! `gateway`: see the library's documentation and docs/gateway.md.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::process::ExitCode;

use clap::Parser as _;
use gateway::cli::{Cli, Command};

/// Every failure ends as one `gateway: …` (or `up: …`) message on stderr and exit 1.
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            kit::telemetry::init();
            let served = async {
                let running = gateway::startup::start(args.into()).await?;
                running.serve_until(kit::shutdown::signal()).await;
                Ok(())
            };
            kit::cli::exit_code("gateway", served.await)
        }
        Command::Check(args) => {
            match gateway::check::check(&args.file, &args.upstreams.overrides()) {
                Ok(summary) => {
                    print!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    eprint!("{errors}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token(args) => kit::cli::exit_code("gateway", token(&args)),
        #[cfg(feature = "services")]
        Command::Openapi(args) => match gateway::specs::run(&args) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("gateway: {err:#}");
                ExitCode::FAILURE
            }
        },
        #[cfg(feature = "services")]
        Command::Up(args) => {
            gateway::up::init_logs();
            let upped = async {
                let stop = gateway::up::on_signal()?;
                gateway::up::run(args, stop).await
            };
            kit::cli::exit_code("up", upped.await)
        }
    }
}

/// `gateway token`: one token per line on stdout.
fn token(args: &gateway::cli::TokenArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let key = gateway::token::DemoKey::ensure(&args.data)?;
    let subjects: Vec<String> = args.users.iter().flatten().cloned().collect();
    let tokens = key.tokens(&subjects, args.ttl, &args.issuer, &args.audience)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for token in tokens {
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}
