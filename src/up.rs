//! `gateway up`: the whole system in one process, for one machine.
//!
//! The monolith, the users, friends, messages and timeline services and the gateway each
//! run on a Tokio runtime of their own, whose threads carry the part's name; log lines are
//! prefixed with it ([`logs`]), so one terminal reads like six. Each part stays its own
//! binary for production: `up` only wires them together on loopback.
//!
//! [`run`] reads in the order things happen: bind every port, so a taken one is one line
//! and nothing half-runs ([`parts`]); start the five services, each opening its SQLite
//! file under `--data` (or a temporary directory with `--fresh`) and filling an empty
//! store with the demo world ([`service`]); wait until each answers `GET /readyz`
//! ([`ready`]); start the gateway on `--routes` with its upstreams pointed at the
//! addresses just bound and its `demo` issuer at the data directory's signing key, made
//! when missing (`gateway token` signs with it) ([`gateway`]); print what runs where ([`summary`]); supervise
//! until SIGINT or SIGTERM, which stops the gateway first, then the rest, each letting
//! requests in flight finish.

use tokio_util::sync::CancellationToken;

pub mod gateway;
pub mod logs;
pub mod parts;
pub mod ready;
pub mod service;
pub mod summary;

pub use logs::init as init_logs;
pub use service::Service;

use self::gateway::Gateway;
use self::parts::{Bound, Data, Parts};
use self::summary::Summary;
use crate::cli::UpArgs;

/// Stops every part when SIGINT or SIGTERM arrives. The handlers are installed before this
/// returns, so a signal during startup (filling a large demo world, say) stops `up`
/// gracefully instead of killing it.
pub fn on_signal() -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let stop = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received, stopping every part"),
                _ = terminate.recv() => tracing::info!("SIGTERM received, stopping every part"),
            }
            stop.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        kit::shutdown::signal().await;
        stop.cancel();
    });
    Ok(token)
}

/// Runs every part until `stop` is cancelled, then stops them all.
///
/// # Errors
///
/// A port that cannot be bound, a database that cannot be opened, an invalid routes file,
/// or a part that fails while running.
pub async fn run(args: UpArgs, stop: CancellationToken) -> anyhow::Result<()> {
    let data = Data::new(&args)?;
    let bound = Bound::all(&args)?;
    let mut parts = Parts::start(bound, &data, &args.demo.to_string())?;

    let started = async {
        parts.ready().await?;
        Gateway::start(&args, parts.overrides(), &data).await
    };
    let gateway = tokio::select! {
        started = started => started,
        () = stop.cancelled() => {
            parts.abort();
            return Ok(());
        }
    };
    let gateway = match gateway {
        Ok(gateway) => gateway,
        Err(err) => {
            parts.abort();
            return Err(err);
        }
    };
    println!(
        "{}",
        Summary {
            args: &args,
            gateway: &gateway,
            parts: &parts,
            data: &data,
        }
    );

    // Run until told to stop, or until a part stops on its own (which is a failure).
    let failed = tokio::select! {
        () = stop.cancelled() => None,
        ended = parts.first_to_end() => Some(ended),
    };
    gateway.stop().await;
    parts.stop().await;
    drop(data);
    match failed {
        None => Ok(()),
        Some((name, Ok(()))) => anyhow::bail!("{name} stopped unexpectedly"),
        Some((name, Err(err))) => Err(err.context(name)),
    }
}
