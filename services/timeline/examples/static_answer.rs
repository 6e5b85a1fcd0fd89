//! The ceiling the live view is measured against: `GET /timeline/{id}` answered with one
//! fixed body (a timeline saved from the view, of the size the benchmark asks for) through
//! the very stack the timeline service serves with (kit's router layers and server: request
//! ids, tracing, limits, the same HTTP/1 listener), with no work per request beyond it.
//! `load/bench.sh` runs it next to the view; the view's requests/s against this one say
//! how close answering from memory comes to the limit of the machine and the stack.
//!
//! ```text
//! cargo run --release -p timeline --example static_answer -- --listen 127.0.0.1:18090 --body timeline.json
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Parser;
use utoipa_axum::router::OpenApiRouter;

/// Serves one saved timeline at every `/timeline/{id}`.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// The JSON body to answer with.
    #[arg(long)]
    body: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = Bytes::from(
        std::fs::read(&args.body)
            .with_context(|| format!("cannot read {}", args.body.display()))?,
    );
    let answer = move || {
        let body = body.clone();
        async move { ([(http::header::CONTENT_TYPE, "application/json")], body).into_response() }
    };
    let api = OpenApiRouter::new().route("/timeline/{id}", get(answer));
    let app = kit::service::app(api, (), &kit::layers::Limits::default());
    let listener = kit::server::bind(args.listen).await?;
    eprintln!("static_answer listening on {}", listener.local_addr()?);
    kit::server::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
