//! `gateway`: see the library's documentation and docs/gateway.md.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::process::ExitCode;

use clap::Parser as _;
use gateway::cli::{Cli, Command, Format, SyncCommand, VerifyArgs};

/// Every failure ends as one `gateway: …` (or `up: …`) message on stderr and exit 1;
/// `sync verify` exits 2 for a side it cannot read, 1 for a difference.
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
        Command::Sync(args) => match args.command {
            SyncCommand::Verify(args) => sync_verify(&args).await,
        },
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

/// `gateway sync verify`: the report on stdout and exit 0 (equal) or 1 (a difference); a
/// side that cannot be read is one line on stderr and exit 2.
async fn sync_verify(args: &VerifyArgs) -> ExitCode {
    const UNREADABLE: u8 = 2;
    let verified = match gateway::sync::Sides::resolve(&args.routes, args.side_flags()) {
        Ok(sides) => gateway::sync::verify(&sides, args.timeout)
            .await
            .map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let report = match verified {
        Ok(report) => report,
        Err(err) => {
            eprintln!("gateway: sync verify: {err}");
            return ExitCode::from(UNREADABLE);
        }
    };
    match args.format {
        Format::Text => print!("{}", gateway::sync::Text(&report)),
        Format::Json => print!("{}", report.to_json()),
    }
    if report.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
