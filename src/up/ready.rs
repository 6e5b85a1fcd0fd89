//! Whether a starting service is ready: `GET /readyz` answers 200, asked over the same
//! pooled hyper client the proxy uses for its upstreams.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;

/// How long one question may take, connecting included; a service filling a large demo
/// world may not accept connections yet.
const ATTEMPT: Duration = Duration::from_secs(2);

/// Asks services whether they are ready, reusing one connection to each.
#[derive(Debug)]
pub(super) struct Probe {
    client: Client<crate::snapshot::client::Connector, Empty<Bytes>>,
}

// === impl Probe ===

impl Probe {
    pub(super) fn new() -> Self {
        Self {
            client: crate::snapshot::client::pooled(ATTEMPT),
        }
    }

    /// Whether `GET /readyz` at `addr` answers 200 within [`ATTEMPT`].
    pub(super) async fn ready(&self, addr: SocketAddr) -> bool {
        let Ok(uri) = Uri::try_from(format!("http://{addr}/readyz")) else {
            return false;
        };
        matches!(
            tokio::time::timeout(ATTEMPT, self.client.get(uri)).await,
            Ok(Ok(response)) if response.status() == StatusCode::OK
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_only_on_a_200_from_readyz() {
        use axum::Router;
        use axum::routing::get;

        let probe = Probe::new();
        let ready = kit::test_util::TestServer::start(
            Router::new().route("/readyz", get(|| async { "ok" })),
        )
        .await;
        assert!(probe.ready(ready.addr).await);
        let starting = kit::test_util::TestServer::start(
            Router::new().route("/readyz", get(|| async { StatusCode::SERVICE_UNAVAILABLE })),
        )
        .await;
        assert!(!probe.ready(starting.addr).await);
        let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = nothing.local_addr().unwrap();
        drop(nothing);
        assert!(!probe.ready(addr).await);
    }
}
