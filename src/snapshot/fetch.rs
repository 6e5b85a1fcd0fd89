//! One `GET` of a small document (an issuer's JWKS) on a connection of its own: reads are
//! rare, so no pool is kept, and the body is capped.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, HOST, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Time allowed for the whole read: connect, request and body.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The body of `GET uri`, at most `limit` bytes, or why not.
pub async fn get(uri: &Uri, limit: usize) -> Result<Bytes, String> {
    match tokio::time::timeout(FETCH_TIMEOUT, get_inner(uri, limit)).await {
        Ok(result) => result.map_err(|why| format!("GET {uri}: {why}")),
        Err(_) => Err(format!(
            "GET {uri}: no answer within {}",
            humantime::format_duration(FETCH_TIMEOUT)
        )),
    }
}

async fn get_inner(uri: &Uri, limit: usize) -> Result<Bytes, String> {
    let host = uri.host().ok_or("no host")?;
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|err| format!("cannot connect: {err}"))?;
    let _ = stream.set_nodelay(true);
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = Request::get(path)
        .header(
            HOST,
            HeaderValue::from_str(authority).map_err(|e| e.to_string())?,
        )
        .header(ACCEPT, "application/json, application/jwk-set+json")
        .header(USER_AGENT, concat!("gateway/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<Bytes>::new())
        .map_err(|err| err.to_string())?;
    if https {
        let stream = super::tls::connect(host, stream).await?;
        send(TokioIo::new(stream), request, limit).await
    } else {
        send(TokioIo::new(stream), request, limit).await
    }
}

async fn send<I>(io: I, request: Request<Empty<Bytes>>, limit: usize) -> Result<Bytes, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|err| format!("HTTP handshake: {err}"))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(%err, "JWKS connection ended with an error");
        }
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("no answer: {err}"))?;
    if response.status() != StatusCode::OK {
        return Err(format!("answered {}", response.status()));
    }
    let body = Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(|err| format!("reading the body: {err}"))?;
    Ok(body.to_bytes())
}
