//! Response compression on real sockets: a test upstream serves a realistic 10 KB timeline
//! and the other kinds of response, the gateway compresses what it should, and the test
//! decodes what crossed the wire.

use std::sync::Arc;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kit::demo::{DemoSpec, World};
use kit::test_util::TestServer;
use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tokio::sync::Notify;

use crate::support::{Gateway, exchange, gateway_with, split_response};

/// The test upstream, and what its `/stream` answer waits for.
struct Upstream {
    server: TestServer,
    release: Arc<Notify>,
    timeline: Bytes,
}

/// A timeline as the timeline service answers it: 20 friends of the demo world with
/// their latest messages, about 10 KB of JSON.
fn timeline() -> Bytes {
    let spec: DemoSpec = "users=200,friends=20,messages=30,seed=7".parse().unwrap();
    let world = World::new(spec);
    let users: Vec<_> = world.users().take(40).collect();
    let messages: Vec<_> = world.messages().collect();
    let mut entries = Vec::new();
    for user in users.iter().skip(1) {
        let mut latest: Vec<_> = messages.iter().filter(|m| m.author_id == user.id).collect();
        latest.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        let latest: Vec<_> = latest
            .iter()
            .take(3)
            .map(|m| json!({"id": m.id, "text": m.text, "created_at": m.created_at}))
            .collect();
        entries.push(json!({
            "friend": {"id": user.id, "name": user.name, "avatar_url": user.avatar_url},
            "messages": latest,
        }));
        let body = json!({
            "user_id": 1, "entries": entries, "missing_friends": [], "degraded": [],
            "generated_at": "2026-11-23T19:15:59.146575Z",
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        if bytes.len() >= 10 * 1024 {
            return bytes.into();
        }
    }
    panic!("the demo world is too small for a 10 KB timeline");
}

/// A JSON answer with `extra` headers.
fn json(
    status: StatusCode,
    extra: &'static [(&'static str, &'static str)],
    body: Bytes,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    for (k, v) in extra {
        headers.insert(*k, v.parse().unwrap());
    }
    response
}

impl Upstream {
    async fn start() -> Self {
        let release = Arc::new(Notify::new());
        let timeline = timeline();
        let body = timeline.clone();
        let copy = timeline.clone();
        let big = Bytes::from(vec![b'a'; 4096]);
        let gate = Arc::clone(&release);
        let app = Router::new()
            .route(
                "/timeline",
                get(move || {
                    let body = body.clone();
                    async move { json(StatusCode::OK, &[("etag", "\"t-1\"")], body) }
                }),
            )
            .route(
                "/copy",
                get(move || {
                    let body = copy.clone();
                    async move { json(StatusCode::OK, &[], body) }
                }),
            )
            .route(
                "/small",
                get(|| async move { json(StatusCode::OK, &[], Bytes::from_static(br#"{"ok":true}"#)) }),
            )
            .route(
                "/png",
                get({
                    let big = big.clone();
                    move || async move {
                        let mut r = json(StatusCode::OK, &[], big);
                        r.headers_mut().insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
                        r
                    }
                }),
            )
            .route(
                "/gzipped",
                get({
                    let big = big.clone();
                    move || async move { json(StatusCode::OK, &[("content-encoding", "gzip")], big) }
                }),
            )
            .route(
                "/no-transform",
                get({
                    let big = big.clone();
                    move || async move { json(StatusCode::OK, &[("cache-control", "no-transform")], big) }
                }),
            )
            .route(
                "/partial",
                get({
                    let big = big.clone();
                    move || async move {
                        json(StatusCode::PARTIAL_CONTENT, &[("content-range", "bytes 0-4095/9000")], big)
                    }
                }),
            )
            .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
            .route(
                "/not-modified",
                get(|| async { (StatusCode::NOT_MODIFIED, [("etag", "\"t-1\"")]).into_response() }),
            )
            .route("/stream", get(move || stream(Arc::clone(&gate))));
        Self {
            server: TestServer::start(app).await,
            release,
            timeline,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }
}

/// The first half of a long JSON-lines body, then, once `release` is notified, the rest.
fn stream_part(half: u8) -> Bytes {
    let lines: String = (0..2000)
        .map(|i| format!("{{\"half\":{half},\"line\":{i},\"text\":\"coffee later tonight\"}}\n"))
        .collect();
    lines.into()
}

async fn stream(release: Arc<Notify>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let _ = tx.send(Ok(stream_part(1))).await;
        release.notified().await;
        let _ = tx.send(Ok(stream_part(2))).await;
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/x-ndjson".parse().unwrap(),
    );
    response
}

async fn decode(coding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "zstd" => ZstdDecoder::new(bytes).read_to_end(&mut out).await,
        "br" => BrotliDecoder::new(bytes).read_to_end(&mut out).await,
        "gzip" => GzipDecoder::new(bytes).read_to_end(&mut out).await,
        other => panic!("{other}"),
    }
    .unwrap();
    out
}

async fn get_with(gateway: &Gateway, path: &str, accept: &str) -> (StatusCode, HeaderMap, Bytes) {
    let response = gateway
        .http
        .get(gateway.url(path))
        .header("accept-encoding", accept)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap())
}

fn varies(headers: &HeaderMap) -> bool {
    headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    })
}

#[tokio::test]
async fn a_10kb_timeline_crosses_as_about_2kb_in_every_coding_and_decodes_to_the_same_bytes() {
    let upstream = Upstream::start().await;
    let gateway = gateway_with(&upstream.url(), "").await;
    assert!(
        upstream.timeline.len() >= 10 * 1024,
        "{}",
        upstream.timeline.len()
    );
    for coding in ["zstd", "br", "gzip"] {
        let (status, headers, body) = get_with(&gateway, "/timeline", coding).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-encoding"], coding);
        assert!(headers.get("content-length").is_none(), "{headers:?}");
        assert!(varies(&headers), "{headers:?}");
        assert_eq!(headers["etag"], "W/\"t-1\"");
        // The demo world's ids, timestamps and word choices are random, which bounds any
        // coder near 4:1 on this payload (zstd -19 makes 2560 bytes of it): about 2.5 KB.
        assert!(
            body.len() <= 2816,
            "{coding}: {} bytes from {}",
            body.len(),
            upstream.timeline.len()
        );
        assert_eq!(decode(coding, &body).await, upstream.timeline, "{coding}");
    }
}

#[tokio::test]
async fn q_values_choose_the_coding_and_identity_is_sent_as_it_is() {
    let upstream = Upstream::start().await;
    let gateway = gateway_with(&upstream.url(), "").await;
    for (accept, chosen) in [
        ("gzip, br, zstd", Some("zstd")),
        ("gzip;q=0.5, br;q=0.8", Some("br")),
        ("br;q=0.1, gzip", Some("gzip")),
        ("*", Some("zstd")),
        ("zstd;q=0, *;q=0.5", Some("br")),
        ("*;q=0, gzip", Some("gzip")),
        ("x-gzip", Some("gzip")),
        ("identity", None),
        ("gzip;q=0, br;q=0, zstd;q=0", None),
        ("deflate", None),
    ] {
        let (_, headers, body) = get_with(&gateway, "/timeline", accept).await;
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            chosen,
            "{accept}"
        );
        // Whatever was chosen, a cache must key on Accept-Encoding.
        assert!(varies(&headers), "{accept}: {headers:?}");
        let decoded = match chosen {
            Some(coding) => decode(coding, &body).await,
            None => body.to_vec(),
        };
        assert_eq!(decoded, upstream.timeline, "{accept}");
    }
}

#[tokio::test]
async fn the_route_order_and_overrides_decide() {
    let upstream = Upstream::start().await;
    let routes = format!(
        "all:\n  compression: {{algorithms: [gzip, br]}}\n\
         upstreams: {{up: {{url: '{}'}}}}\nroutes:\n\
         \x20 - {{path: /timeline, to: up}}\n\
         \x20 - {{prefix: /, to: up, compression: {{enabled: false}}}}\n",
        upstream.url()
    );
    let gateway = Gateway::start(&routes, gateway::table::Overrides::default()).await;
    let (_, headers, _) = get_with(&gateway, "/timeline", "zstd, br, gzip").await;
    assert_eq!(headers["content-encoding"], "gzip");
    let (_, headers, _) = get_with(&gateway, "/timeline", "zstd").await;
    assert!(headers.get("content-encoding").is_none());
    let (_, headers, _) = get_with(&gateway, "/copy", "gzip").await;
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    assert!(!varies(&headers));
}

#[tokio::test]
async fn what_is_small_binary_encoded_partial_or_no_transform_passes_untouched() {
    let upstream = Upstream::start().await;
    let gateway = gateway_with(&upstream.url(), "").await;
    for path in ["/small", "/png", "/gzipped", "/no-transform", "/partial"] {
        let (_, headers, body) = get_with(&gateway, path, "gzip, br, zstd").await;
        let encoding = headers.get("content-encoding").map(|v| v.to_str().unwrap());
        let expected = if path == "/gzipped" {
            Some("gzip")
        } else {
            None
        };
        assert_eq!(encoding, expected, "{path}");
        assert!(!varies(&headers), "{path}: {headers:?}");
        assert_eq!(
            headers["content-length"].to_str().unwrap(),
            body.len().to_string(),
            "{path}"
        );
        if path != "/small" {
            assert_eq!(body, vec![b'a'; 4096], "{path}");
        }
    }
}

#[tokio::test]
async fn head_204_and_304_are_never_compressed() {
    let upstream = Upstream::start().await;
    let gateway = gateway_with(&upstream.url(), "").await;
    let answer = exchange(
        gateway.running.addr,
        b"HEAD /timeline HTTP/1.1\r\nhost: g\r\naccept-encoding: gzip\r\nconnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert!(
        head.iter().all(|l| !l.starts_with("content-encoding")),
        "{head:?}"
    );
    assert!(
        head.contains(&format!("content-length: {}", upstream.timeline.len())),
        "{head:?}"
    );
    assert!(body.is_empty());
    for (path, status) in [("/empty", 204), ("/not-modified", 304)] {
        let (got, headers, body) = get_with(&gateway, path, "gzip").await;
        assert_eq!(got.as_u16(), status);
        assert!(headers.get("content-encoding").is_none(), "{path}");
        assert!(body.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn a_streaming_body_arrives_compressed_before_the_upstream_has_finished() {
    let upstream = Upstream::start().await;
    let gateway = gateway_with(&upstream.url(), "").await;
    for coding in ["gzip", "br", "zstd"] {
        let mut response = gateway
            .http
            .get(gateway.url("/stream"))
            .header("accept-encoding", coding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], coding);
        // The upstream holds its second half until the client has compressed bytes of the
        // first: a gateway that buffered the body whole would never send any.
        let mut received = Vec::new();
        let first = response.chunk().await.unwrap().expect("compressed bytes");
        received.extend_from_slice(&first);
        upstream.release.notify_one();
        while let Some(chunk) = response.chunk().await.unwrap() {
            received.extend_from_slice(&chunk);
        }
        let mut whole = stream_part(1).to_vec();
        whole.extend_from_slice(&stream_part(2));
        assert!(
            received.len() < whole.len() / 5,
            "{coding}: {}",
            received.len()
        );
        assert_eq!(decode(coding, &received).await, whole, "{coding}");
    }
}
