//! One pooled keep-alive HTTP/1 client per upstream, kept across reloads while the
//! upstream's address and connect timeout stay the same, so a swap does not drop warm
//! connections.

use std::collections::HashMap;
use std::time::Duration;

use http_body_util::Limited;
use hyper::body::{Body, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::table::Upstream;

/// The client type of the proxy path: request bodies stream through, capped.
pub type UpstreamClient = Client<HttpConnector, Limited<Incoming>>;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Clients by (base URL, connect timeout), one per worker thread: a pooled connection is
/// driven by a task on the runtime that opened it, so each worker keeps its own.
#[derive(Debug)]
pub struct ClientCache {
    workers: usize,
    clients: HashMap<(String, Duration), Box<[UpstreamClient]>>,
}

// === impl ClientCache ===

impl ClientCache {
    /// A cache for `workers` worker threads.
    pub fn new(workers: usize) -> Self {
        Self {
            workers: workers.max(1),
            clients: HashMap::new(),
        }
    }

    /// The number of worker threads it builds clients for.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The clients for `upstream`, one per worker, reusing pooled ones when they fit.
    pub fn clients_for(&mut self, upstream: &Upstream) -> Box<[UpstreamClient]> {
        let key = (upstream.url.to_string(), upstream.connect_timeout);
        let workers = self.workers;
        self.clients
            .entry(key)
            .or_insert_with(|| {
                (0..workers)
                    .map(|_| pooled(upstream.connect_timeout))
                    .collect()
            })
            .clone()
    }

    /// Drops clients no upstream of `keep` uses (requests in flight hold their own clone).
    pub fn retain(&mut self, keep: &[Upstream]) {
        self.clients.retain(|(url, connect), _| {
            keep.iter()
                .any(|u| &*u.url == url && u.connect_timeout == *connect)
        });
    }
}

/// A pooled keep-alive HTTP/1 client with the proxy's connection settings, for request
/// bodies of type `B`: the proxy's upstream clients are these, with streamed bodies.
pub fn pooled<B>(connect_timeout: Duration) -> Client<HttpConnector, B>
where
    B: Body + Send,
    B::Data: Send,
{
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_keepalive(Some(Duration::from_secs(30)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // hyper retries only a request it never wrote to a pooled connection that turned
        // out closed; one that reached the wire is never sent again.
        .retry_canceled_requests(true)
        .build(connector)
}
