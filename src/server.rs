//! The proxy listener, thread per core: each worker is an OS thread with its own
//! single-threaded tokio runtime, its own `SO_REUSEPORT` socket on the shared address (the
//! kernel spreads connections over them) and its own upstream connection pools. A request
//! never changes thread, so no request pays for cross-thread wake-ups, the dominant cost of
//! a work-stealing runtime on a proxy's short requests.
//!
//! Each connection is HTTP/1.1 with keep-alive, TCP_NODELAY and a header read timeout; a
//! stop lets requests in flight finish. Its bytes pass the [`framing`] scanner on the way
//! to hyper, which finds the ambiguous framings hyper hides from the proxy.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use kit::server::BindError;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proxy::hygiene::{self, Refused};
use crate::proxy::{Bound, Peer, Proxy, Stack};

pub mod framing;

use crate::snapshot::Snapshot;
use crate::table::validate::MAX_HEADER_BYTES_LIMIT;
use framing::{Guarded, Verdicts};

/// The connection read buffer, and so the largest request head hyper itself accepts; it
/// sits above the highest `settings.max_header_bytes` a table may set, so the gateway's
/// own 431 answers.
pub const MAX_HEAD_BUFFER: usize = MAX_HEADER_BYTES_LIMIT as usize + 8 * 1024;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Pending connections per socket.
const BACKLOG: i32 = 1024;

/// Binds `workers` sockets to `addr` with `SO_REUSEPORT` (port 0: the first picks the
/// port, the others join it). Returns the bound address and the sockets.
pub fn bind(
    addr: SocketAddr,
    workers: usize,
) -> Result<(SocketAddr, Vec<std::net::TcpListener>), BindError> {
    let mut listeners: Vec<std::net::TcpListener> = Vec::with_capacity(workers);
    let mut bound = addr;
    for _ in 0..workers.max(1) {
        let listener = bind_one(bound).map_err(|err| BindError::new(addr, &err))?;
        if let Ok(local) = listener.local_addr() {
            bound = local;
        }
        listeners.push(listener);
    }
    Ok((bound, listeners))
}

fn bind_one(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Starts one worker thread per listener; each serves until `stop`, then waits up to
/// `grace` for its connections to finish their requests. Every worker puts the proxy
/// behind the same stack, sharing one `bound` on the requests in flight.
pub fn spawn_workers(
    listeners: Vec<std::net::TcpListener>,
    tables: &Arc<ArcSwap<Snapshot>>,
    bound: &Arc<Bound>,
    stop: &CancellationToken,
    grace: Duration,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let mut handles = Vec::with_capacity(listeners.len());
    for (worker, listener) in listeners.into_iter().enumerate() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let stack = Stack::new(Proxy::new(Arc::clone(tables), worker), Arc::clone(bound));
        let stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name(format!("gateway-worker-{worker}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, stack, stop, grace).await,
                        Err(err) => tracing::error!(worker, %err, "cannot register the listener"),
                    }
                });
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

/// Serves `stack` on `listener` until `stop`, then waits up to `grace` for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    stack: Stack<Proxy>,
    stop: CancellationToken,
    grace: Duration,
) {
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
        let verdicts = Arc::new(Verdicts::default());
        let stream = Guarded::new(stream, Arc::clone(&verdicts));
        let context = Arc::new((stack.clone(), Peer::new(addr.ip()), verdicts));
        let service = service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let context = Arc::clone(&context);
            async move {
                let (stack, peer, verdicts) = &*context;
                // hyper hands requests over in the order their heads arrived, one at a
                // time, so the n-th request here is the n-th head the scanner saw. The
                // header checks run here, before the stack removes hop-by-hop headers.
                let refusal = verdicts
                    .next_request()
                    .or_else(|| hygiene::check_request(&request).err().map(Refused));
                if let Some(refusal) = refusal {
                    request.extensions_mut().insert(refusal);
                }
                Ok::<_, Infallible>(stack.serve(request, peer).await)
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
        () = graceful.shutdown() => tracing::debug!("proxy worker stopped"),
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "proxy worker stopped with requests still in flight"),
    }
}

#[cfg(test)]
mod tests;
