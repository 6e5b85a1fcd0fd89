//! Binding a listener with a clear error, and serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct BindError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// What the operating system said, in words.
    pub reason: String,
}

/// Binds `addr` (port 0 picks a free port); a taken port is one clear line, not a panic.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|err| BindError::new(addr, &err))
}

// === impl BindError ===

impl BindError {
    /// Describes why binding `addr` failed, in words a person acts on.
    pub fn new(addr: SocketAddr, err: &std::io::Error) -> Self {
        let reason = match err.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the address is already in use (is another instance running?)".to_owned()
            }
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::AddrNotAvailable => {
                "the address is not available on this machine".to_owned()
            }
            _ => err.to_string(),
        };
        Self { addr, reason }
    }
}

/// Serves `app` until `shutdown` completes, then stops accepting and lets requests in
/// flight finish before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!(%addr, "stopped");
    Ok(())
}
