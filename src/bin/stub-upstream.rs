//! `stub-upstream --name users --listen 127.0.0.1:8081`: answers every request with 200
//! and `{"upstream":"users"}`, draining any request body. A stand-in for a real service when
//! benchmarking the gateway or trying a routes file by hand.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use clap::Parser;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// A stand-in upstream that answers with its own name.
#[derive(Debug, Parser)]
struct Args {
    /// The name it answers with.
    #[arg(long, default_value = "stub")]
    name: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

// One thread: a fixed, steady cost per request, so the benchmark's "direct" baseline is
// not bent by a work-stealing runtime's cross-thread wake-ups on a small machine.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = kit::server::bind(args.listen).await?;
    let body = Bytes::from(serde_json::to_vec(
        &serde_json::json!({ "upstream": args.name }),
    )?);
    eprintln!(
        "stub-upstream {} listening on {}",
        args.name,
        listener.local_addr()?
    );
    loop {
        let accepted = tokio::select! {
            () = kit::shutdown::signal() => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let body = body.clone();
            async move {
                // Drain the body so keep-alive connections stay usable.
                let _ = request.into_body().collect().await;
                let mut response = Response::new(Full::new(body));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
    }
}
