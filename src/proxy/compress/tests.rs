use http_body_util::{BodyExt as _, Full};
use tokio::io::AsyncReadExt as _;

use super::*;

const ALL: [Coding; 3] = [Coding::Zstd, Coding::Brotli, Coding::Gzip];

fn pick(offered: &[Coding], accept: &str) -> Option<Coding> {
    choose(offered, [&HeaderValue::from_str(accept).unwrap()])
}

#[test]
fn the_highest_weight_wins_and_ties_go_to_the_routes_order() {
    assert_eq!(pick(&ALL, "gzip, br, zstd"), Some(Coding::Zstd));
    assert_eq!(pick(&ALL, "gzip;q=0.5, br;q=0.8"), Some(Coding::Brotli));
    assert_eq!(pick(&ALL, "gzip;q=1.0, br;q=0.999"), Some(Coding::Gzip));
    assert_eq!(pick(&ALL, "GZIP;Q=1"), Some(Coding::Gzip));
    assert_eq!(pick(&ALL, "x-gzip"), Some(Coding::Gzip));
    assert_eq!(
        pick(&[Coding::Gzip, Coding::Brotli], "br, gzip"),
        Some(Coding::Gzip)
    );
    assert_eq!(pick(&[Coding::Gzip], "zstd, br"), None);
}

#[test]
fn star_identity_and_zero_weights() {
    assert_eq!(pick(&ALL, "*"), Some(Coding::Zstd));
    assert_eq!(pick(&ALL, "zstd;q=0, *"), Some(Coding::Brotli));
    assert_eq!(pick(&ALL, "*;q=0, gzip"), Some(Coding::Gzip));
    assert_eq!(pick(&ALL, "*;q=0"), None);
    assert_eq!(pick(&ALL, "identity"), None);
    assert_eq!(pick(&ALL, "gzip;q=0"), None);
    assert_eq!(pick(&ALL, ""), None);
    assert_eq!(pick(&ALL, "deflate, compress"), None);
    // A malformed weight drops its member, not the list.
    assert_eq!(
        pick(&ALL, "zstd;q=2, br;q=0.1234, gzip;q=0.3"),
        Some(Coding::Gzip)
    );
    // Several lines are one list.
    let lines = [
        HeaderValue::from_static("gzip;q=0.1"),
        HeaderValue::from_static("br"),
    ];
    assert_eq!(choose(&ALL, &lines), Some(Coding::Brotli));
}

#[test]
fn qvalues_follow_the_grammar() {
    assert_eq!(qvalue("1"), Some(1000));
    assert_eq!(qvalue("1.000"), Some(1000));
    assert_eq!(qvalue("0.5"), Some(500));
    assert_eq!(qvalue("0.05"), Some(50));
    assert_eq!(qvalue("0"), Some(0));
    for bad in ["1.5", "2", "0.1234", "-0", "", ".5", "0.x"] {
        assert_eq!(qvalue(bad), None, "{bad:?}");
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

#[test]
fn negotiation_costs_nothing_without_accept_encoding_and_skips_head_and_no_transform() {
    let policy = Compression::default();
    assert_eq!(negotiate(&policy, &Method::GET, &headers(&[])), None);
    assert_eq!(
        negotiate(
            &policy,
            &Method::GET,
            &headers(&[("accept-encoding", "gzip")])
        ),
        Some(Offer(Some(Coding::Gzip)))
    );
    assert_eq!(
        negotiate(
            &policy,
            &Method::GET,
            &headers(&[("accept-encoding", "identity")])
        ),
        Some(Offer(None))
    );
    assert_eq!(
        negotiate(
            &policy,
            &Method::HEAD,
            &headers(&[("accept-encoding", "gzip")])
        ),
        None
    );
    let no_transform = headers(&[
        ("accept-encoding", "gzip"),
        ("cache-control", "no-transform"),
    ]);
    assert_eq!(negotiate(&policy, &Method::GET, &no_transform), None);
    let off = Compression {
        enabled: false,
        ..Compression::default()
    };
    assert_eq!(
        negotiate(&off, &Method::GET, &headers(&[("accept-encoding", "gzip")])),
        None
    );
}

fn response(status: u16, pairs: &[(&str, &str)]) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    *response.headers_mut() = headers(pairs);
    response
}

#[test]
fn a_compressed_head_loses_length_ranges_and_digests_and_weakens_its_etag() {
    let policy = Compression::default();
    let mut r = response(
        200,
        &[
            ("content-type", "Application/JSON; charset=utf-8"),
            ("content-length", "5000"),
            ("accept-ranges", "bytes"),
            ("content-digest", "sha-256=:x:"),
            ("etag", "\"v1\""),
            ("vary", "origin"),
        ],
    );
    assert_eq!(
        prepare(&policy, Offer(Some(Coding::Brotli)), &mut r),
        Some((Coding::Brotli, Some(5000)))
    );
    let h = r.headers();
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["etag"], "W/\"v1\"");
    for gone in ["content-length", "accept-ranges", "content-digest"] {
        assert!(h.get(gone).is_none(), "{gone}");
    }
    let vary: Vec<_> = h.get_all("vary").iter().collect();
    assert_eq!(vary, ["origin", "accept-encoding"]);
    // A weak ETag stays as it is.
    let mut r = response(200, &[("content-type", "text/plain"), ("etag", "W/\"v1\"")]);
    prepare(&policy, Offer(Some(Coding::Gzip)), &mut r);
    assert_eq!(r.headers()["etag"], "W/\"v1\"");
}

#[test]
fn identity_still_varies_and_what_is_never_compressed_is_left_alone() {
    let policy = Compression::default();
    let mut r = response(
        200,
        &[
            ("content-type", "application/json"),
            ("vary", "Accept-Encoding"),
        ],
    );
    assert_eq!(prepare(&policy, Offer(None), &mut r), None);
    assert_eq!(r.headers().get_all("vary").iter().count(), 1);
    let mut r = response(200, &[("content-type", "application/json")]);
    assert_eq!(prepare(&policy, Offer(None), &mut r), None);
    assert_eq!(r.headers()["vary"], "accept-encoding");
    for (status, pairs) in [
        (204, &[("content-type", "application/json")][..]),
        (304, &[("content-type", "application/json")]),
        (206, &[("content-type", "application/json")]),
        (
            200,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
        ),
        (
            200,
            &[
                ("content-type", "application/json"),
                ("content-range", "bytes 0-1/2"),
            ],
        ),
        (
            200,
            &[
                ("content-type", "application/json"),
                ("cache-control", "public, no-transform"),
            ],
        ),
        (
            200,
            &[
                ("content-type", "application/json"),
                ("content-length", "1023"),
            ],
        ),
        (200, &[("content-type", "image/png")]),
        (200, &[]),
    ] {
        let mut r = response(status, pairs);
        let before = r.headers().clone();
        assert_eq!(
            prepare(&policy, Offer(Some(Coding::Gzip)), &mut r),
            None,
            "{status} {pairs:?}"
        );
        assert_eq!(r.headers(), &before, "{status} {pairs:?}");
    }
}

async fn decode(coding: Coding, bytes: &[u8]) -> Vec<u8> {
    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    let mut out = Vec::new();
    match coding {
        Coding::Zstd => ZstdDecoder::new(bytes).read_to_end(&mut out).await,
        Coding::Brotli => BrotliDecoder::new(bytes).read_to_end(&mut out).await,
        Coding::Gzip => GzipDecoder::new(bytes).read_to_end(&mut out).await,
    }
    .unwrap();
    out
}

#[tokio::test]
async fn every_coding_round_trips_and_keeps_trailers() {
    let text: Vec<u8> = (0..2000)
        .flat_map(|i| format!("{{\"id\":{i},\"text\":\"hello\"}},").into_bytes())
        .collect();
    for coding in ALL {
        let body = Encoded::new(Full::new(Bytes::from(text.clone())), coding, None);
        let encoded = body.collect().await.unwrap().to_bytes();
        assert!(
            encoded.len() < text.len() / 5,
            "{coding:?}: {}",
            encoded.len()
        );
        assert_eq!(decode(coding, &encoded).await, text, "{coding:?}");
    }
    // Trailers come after the data.
    let frames = futures_util::stream::iter([
        Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"abc"))),
        Ok(Frame::trailers(headers(&[("x-sum", "1")]))),
    ]);
    let body = Encoded::new(http_body_util::StreamBody::new(frames), Coding::Gzip, None);
    let collected = body.collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["x-sum"], "1");
    assert_eq!(decode(Coding::Gzip, &collected.to_bytes()).await, b"abc");
}
