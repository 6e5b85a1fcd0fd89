//! The proxy listener: HTTP/1.1 with keep-alive on every accepted connection, TCP_NODELAY,
//! a header read timeout, and a graceful stop that lets requests in flight finish.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proxy::{Peer, Proxy};

/// The connection read buffer, and so the largest request head hyper itself accepts; it
/// sits above the highest `settings.max_header_bytes` so the gateway's own 431 answers.
pub const MAX_HEAD_BUFFER: usize = 64 * 1024 + 8 * 1024;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `proxy` on `listener` until `stop`, then waits up to `grace` for open
/// connections to finish their requests.
pub async fn serve(listener: TcpListener, proxy: Proxy, stop: CancellationToken, grace: Duration) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .max_buf_size(MAX_HEAD_BUFFER);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
        let context = Arc::new((proxy.clone(), Peer::new(addr.ip())));
        let service = service_fn(move |request| {
            let context = Arc::clone(&context);
            async move {
                let (proxy, peer) = &*context;
                Ok::<_, Infallible>(proxy.handle(request, peer).await)
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("proxy stopped"),
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "proxy stopped with requests still in flight"),
    }
}
