//! TLS for reading an issuer's JWKS over `https://`: rustls, the ring provider, the
//! system's root certificates. Built once, on the first https read.

use std::sync::{Arc, LazyLock};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

static CONFIG: LazyLock<Result<Arc<ClientConfig>, String>> = LazyLock::new(config);

/// `stream` with a TLS session to `host`, its certificate checked against the system's
/// roots.
pub async fn connect(host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>, String> {
    let config = CONFIG.as_ref().map_err(Clone::clone)?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| format!("`{host}` is not a TLS server name: {err}"))?;
    TlsConnector::from(Arc::clone(config))
        .connect(name, stream)
        .await
        .map_err(|err| format!("TLS: {err}"))
}

fn config() -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        // A certificate the store cannot use is skipped; the others still verify.
        let _skipped = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(format!(
            "no root certificates found on this system (install ca-certificates): {:?}",
            found.errors
        ));
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|err| format!("TLS set-up: {err}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}
