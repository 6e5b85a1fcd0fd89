//! One pooled keep-alive HTTP/1 client per upstream, kept across reloads while the
//! upstream's address and connect timeout stay the same, so a swap does not drop warm
//! connections.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use http_body_util::Limited;
use hyper::body::{Body, Incoming};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::table::Upstream;

/// The client type of the proxy path: request bodies stream through, capped.
pub type UpstreamClient = Client<Connector, Limited<Incoming>>;

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
pub fn pooled<B>(connect_timeout: Duration) -> Client<Connector, B>
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
        .build(Connector(connector))
}

/// [`HttpConnector`]'s TCP connections, described to the client without their addresses:
/// the client copies a connection's description into every response's extensions, and
/// with addresses (hyper-util's `HttpInfo`) that is three allocations a request nothing
/// reads.
#[derive(Clone, Debug)]
pub struct Connector(HttpConnector);

/// A connection of [`Connector`].
#[derive(Debug)]
pub struct Bare(TokioIo<TcpStream>);

// === impl Connector ===

impl tower::Service<Uri> for Connector {
    type Response = Bare;
    type Error = <HttpConnector as tower::Service<Uri>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Bare, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // Boxed once per new connection, not per request.
        let connecting = self.0.call(uri);
        Box::pin(async move { connecting.await.map(Bare) })
    }
}

// === impl Bare ===

impl Connection for Bare {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for Bare {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Bare {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
