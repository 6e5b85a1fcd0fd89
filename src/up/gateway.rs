//! The gateway as `up` runs it: `gateway serve` on a runtime of its own, its upstreams
//! pointed at where the services listen.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::parts::Data;
use super::service::{self, Service};
use crate::cli::UpArgs;
use crate::startup::{self, Running, ServeConfig};
use crate::table::Overrides;

/// The gateway, serving.
#[derive(Debug)]
pub(super) struct Gateway {
    pub(super) running: Running,
    runtime: Runtime,
}

// === impl Gateway ===

impl Gateway {
    /// Starts the gateway on `--routes` with `upstreams` replacing the file's URLs, the
    /// `demo` issuer trusting the signing key of the data directory (made when missing),
    /// and every reload path armed.
    pub(super) async fn start(
        args: &UpArgs,
        upstreams: Overrides,
        data: &Data,
    ) -> anyhow::Result<Self> {
        let key = crate::token::DemoKey::ensure(data.path())?;
        let upstreams = upstreams.with_jwks(
            crate::token::DEMO_ISSUER,
            key.jwks_file.to_string_lossy().into_owned(),
        );
        let config = ServeConfig {
            routes: args.routes.clone(),
            listen: SocketAddr::new(args.host, args.gateway_port),
            admin: SocketAddr::new(args.host, args.admin_port),
            admin_token: None,
            overrides: upstreams,
            watch: true,
            sighup: true,
            shutdown_grace: Duration::from_secs(10),
            workers: startup::default_workers(),
            // What the five parts behind it accept at once together (each sheds beyond
            // kit's limit): the gateway refuses only what would be refused anyway, and
            // sooner.
            max_concurrent_requests: Service::ALL.len()
                * kit::layers::Limits::default().max_concurrency,
        };
        let runtime = service::runtime("gateway")?;
        match runtime.spawn(startup::start(config)).await {
            Ok(Ok(running)) => Ok(Self { running, runtime }),
            Ok(Err(err)) => {
                runtime.shutdown_background();
                Err(err.context("gateway"))
            }
            Err(join) => {
                runtime.shutdown_background();
                anyhow::bail!("gateway: crashed while starting: {join}")
            }
        }
    }

    /// Stops accepting, lets requests in flight finish, and lets the runtime go.
    pub(super) async fn stop(self) {
        self.running.stop().await;
        self.runtime.shutdown_background();
    }
}
