//! Response compression on the proxy path: zstd, br or gzip, chosen by the request's
//! `Accept-Encoding` (q-values, `identity`, `*` and `q=0` honoured, ties broken by the
//! route's order of `algorithms`), for the route's compressible media types above its
//! `min_bytes`. The body is encoded as it streams ([`Encoded`]), never buffered whole:
//! whatever the encoder holds is flushed to the client whenever the upstream has nothing
//! more ready.
//!
//! Never compressed: HEAD, 1xx, 204, 206 and 304 responses, a response that already has
//! a `Content-Encoding` or a `Content-Range`, and `Cache-Control: no-transform` on the
//! request or the response (RFC 9110 section 7.7). A compressed response loses
//! `Content-Length`, `Accept-Ranges` and the content digests, gets `Vary: Accept-Encoding`,
//! and a strong `ETag` is weakened (`W/`), since the bytes are no longer the upstream's.
//!
//! The cost for a request that is not compressed is the route's flag and one header
//! lookup (`Accept-Encoding`); nothing is allocated.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::Level;
use async_compression::tokio::write::{BrotliEncoder, GzipEncoder, ZstdEncoder};
use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, VARY,
};
use http::{Method, Response, StatusCode};
use http_body_util::Either;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::AsyncWrite;

use super::shadow::Tap;
use crate::table::{Coding, Compression};

/// The body of an upstream's response: as it came, or encoded on the way (either way
/// perhaps copied for a shadow comparison first).
pub type UpstreamBody = Either<Tapped, Encoded<Tapped>>;

/// An upstream's body as it came, perhaps copied on the way for a shadow comparison.
pub type Tapped = Tap<Incoming>;

/// Content digests describe the bytes as the upstream sent them (RFC 9530).
const DIGESTS: [&str; 2] = ["content-digest", "repr-digest"];

/// Brotli's quality: 5 is the usual on-the-fly setting, several times faster than the
/// default 11 and within a few percent of its size on JSON.
const BROTLI_QUALITY: i32 = 5;
/// Brotli's window (`lgwin`): 512 KiB, bounding the encoder's memory per response.
const BROTLI_WINDOW: i32 = 19;
/// zstd's level: its default.
const ZSTD_LEVEL: i32 = 3;
/// zstd's window log: 512 KiB, as for brotli; every decoder accepts it.
const ZSTD_WINDOW_LOG: u32 = 19;

/// What a request's `Accept-Encoding` settled: the coding to use, or `None` for identity.
/// Only a request that sent `Accept-Encoding` has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer(pub Option<Coding>);

/// A body encoded with one coding as it streams.
#[derive(Debug)]
pub struct Encoded<B> {
    inner: B,
    encoder: Encoder,
    /// Data written since the last flush.
    dirty: bool,
    state: State,
}

#[derive(Debug)]
enum State {
    Streaming,
    /// The inner body ended (with these trailers, if any); they follow the encoded data.
    Trailers(Option<HeaderMap>),
    Done,
}

/// One coding's streaming encoder, writing into a buffer taken out as frames. Boxed: the
/// encoders' states differ in size by kilobytes, and one allocation more per compressed
/// response is nothing beside the encoder's own.
#[derive(Debug)]
enum Encoder {
    Zstd(Box<ZstdEncoder<Vec<u8>>>),
    Brotli(Box<BrotliEncoder<Vec<u8>>>),
    Gzip(Box<GzipEncoder<Vec<u8>>>),
}

/// The request's `Accept-Encoding` judged against `policy`: `None` when the route does not
/// compress, the method is HEAD, or the request has no `Accept-Encoding` (the common
/// case, which costs this one lookup) or asks for no transformation.
pub fn negotiate(policy: &Compression, method: &Method, headers: &HeaderMap) -> Option<Offer> {
    if !policy.enabled || *method == Method::HEAD {
        return None;
    }
    let accept = headers.get(ACCEPT_ENCODING)?;
    if has_no_transform(headers) {
        return None;
    }
    // Several lines are one list (RFC 9110 section 5.3); the first line is enough for
    // nearly every client, the rest are read only when present.
    let mut lines = headers.get_all(ACCEPT_ENCODING).iter();
    let chosen = match (lines.next(), lines.next()) {
        (Some(_), None) => choose(&policy.algorithms, [accept]),
        _ => choose(&policy.algorithms, headers.get_all(ACCEPT_ENCODING)),
    };
    Some(Offer(chosen))
}

/// Settles the response head for `offer`: when the response is one the route compresses,
/// `Vary: Accept-Encoding` is added, and if a coding was chosen the headers are rewritten
/// for it. Returns the coding and the upstream's declared length, for the body.
pub fn prepare<B>(
    policy: &Compression,
    offer: Offer,
    response: &mut Response<B>,
) -> Option<(Coding, Option<u64>)> {
    if !compressible(policy, response.status(), response.headers()) {
        return None;
    }
    let headers = response.headers_mut();
    add_vary(headers);
    let coding = offer.0?;
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    headers.remove(CONTENT_LENGTH);
    headers.remove(ACCEPT_RANGES);
    for digest in DIGESTS {
        headers.remove(digest);
    }
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
    if let Some(etag) = headers.get(ETAG)
        && !etag.as_bytes().starts_with(b"W/")
    {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(weak) = HeaderValue::from_bytes(&weak) {
            headers.insert(ETAG, weak);
        }
    }
    Some((coding, length))
}

/// Whether the response is one the route compresses: a status with content that is not a
/// part, not encoded already, no `no-transform`, a compressible type, and not known to be
/// below `min_bytes`.
fn compressible(policy: &Compression, status: StatusCode, headers: &HeaderMap) -> bool {
    if status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        )
        || headers.contains_key(CONTENT_ENCODING)
        || headers.contains_key(CONTENT_RANGE)
        || has_no_transform(headers)
    {
        return false;
    }
    let Some(essence) = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim())
    else {
        return false;
    };
    let compresses = if essence.bytes().any(|b| b.is_ascii_uppercase()) {
        policy.compresses(&essence.to_ascii_lowercase())
    } else {
        policy.compresses(essence)
    };
    if !compresses {
        return false;
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    length.is_none_or(|n| n >= policy.min_bytes)
}

/// Whether `Cache-Control` says `no-transform`.
fn has_no_transform(headers: &HeaderMap) -> bool {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

/// Adds `Accept-Encoding` to `Vary` unless it is there already (or `Vary: *`).
fn add_vary(headers: &mut HeaderMap) {
    let listed = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|name| name == "*" || name.eq_ignore_ascii_case("accept-encoding"));
    if !listed {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// The coding for an `Accept-Encoding` list (RFC 9110 section 12.5.3): the offered coding
/// with the highest weight above 0, a coding the list does not name taking the weight of
/// `*` (0 without one), ties going to the earlier in `offered`. `None`: identity.
pub fn choose<'a>(
    offered: &[Coding],
    lines: impl IntoIterator<Item = &'a HeaderValue>,
) -> Option<Coding> {
    // Weights in thousandths, per offered coding, and of `*`.
    let mut named: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    for line in lines {
        let Ok(line) = line.to_str() else { continue };
        for member in line.split(',') {
            let mut parts = member.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let Some(weight) = weight(parts) else {
                continue;
            };
            let slot = if coding == "*" {
                &mut star
            } else {
                match offered_index(coding) {
                    Some(i) => &mut named[i],
                    None => continue,
                }
            };
            *slot = Some(slot.map_or(weight, |w| w.max(weight)));
        }
    }
    let mut best: Option<(Coding, u16)> = None;
    for &coding in offered {
        let w = named[index(coding)].or(star).unwrap_or(0);
        if w > 0 && best.is_none_or(|(_, b)| w > b) {
            best = Some((coding, w));
        }
    }
    best.map(|(coding, _)| coding)
}

/// A member's weight from its parameters: `q=` in thousandths (1000 without one), `None`
/// when the `q` is malformed (the member is then ignored).
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        weight = qvalue(value.trim())?;
    }
    Some(weight)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The slot of a coding token (case-insensitive; `x-gzip` is gzip, RFC 9110 section
/// 8.4.1.3).
fn offered_index(token: &str) -> Option<usize> {
    let coding = if token.eq_ignore_ascii_case("zstd") {
        Coding::Zstd
    } else if token.eq_ignore_ascii_case("br") {
        Coding::Brotli
    } else if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
        Coding::Gzip
    } else {
        return None;
    };
    Some(index(coding))
}

fn index(coding: Coding) -> usize {
    match coding {
        Coding::Zstd => 0,
        Coding::Brotli => 1,
        Coding::Gzip => 2,
    }
}

/// The response with its body as it came.
pub fn plain(response: Response<Tapped>) -> Response<UpstreamBody> {
    response.map(Either::Left)
}

/// The response with its body encoded with `coding`; `length` is the upstream's declared
/// length, a hint for the encoder.
pub fn encoded(
    response: Response<Tapped>,
    coding: Coding,
    length: Option<u64>,
) -> Response<UpstreamBody> {
    response.map(|body| Either::Right(Encoded::new(body, coding, length)))
}

// === impl Encoded ===

impl<B> Encoded<B> {
    /// `inner` encoded with `coding`.
    pub fn new(inner: B, coding: Coding, length: Option<u64>) -> Self {
        let sink = Vec::new();
        let encoder = match coding {
            Coding::Zstd => Encoder::Zstd(Box::new(ZstdEncoder::with_quality_and_params(
                sink,
                Level::Precise(ZSTD_LEVEL),
                &[async_compression::zstd::CParameter::window_log(
                    ZSTD_WINDOW_LOG,
                )],
            ))),
            Coding::Brotli => {
                let mut params = async_compression::brotli::EncoderParams::default()
                    .quality(Level::Precise(BROTLI_QUALITY))
                    .window_size(BROTLI_WINDOW);
                if let Some(n) = length.and_then(|n| usize::try_from(n).ok()) {
                    params = params.size_hint(n);
                }
                Encoder::Brotli(Box::new(BrotliEncoder::with_params(sink, params)))
            }
            Coding::Gzip => {
                Encoder::Gzip(Box::new(GzipEncoder::with_quality(sink, Level::Default)))
            }
        };
        Self {
            inner,
            encoder,
            dirty: false,
            state: State::Streaming,
        }
    }
}

impl<B> Body for Encoded<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Trailers(trailers) => {
                    let trailers = trailers.take();
                    this.state = State::Done;
                    match trailers {
                        Some(t) => return Poll::Ready(Some(Ok(Frame::trailers(t)))),
                        None => return Poll::Ready(None),
                    }
                }
                State::Streaming => {}
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.encoder.write(cx, &data)?;
                        this.dirty = true;
                        if let Some(out) = this.encoder.take() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => {
                        this.encoder.finish(cx)?;
                        this.state = State::Trailers(frame.into_trailers().ok());
                        if let Some(out) = this.encoder.take() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                },
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err.into()))),
                Poll::Ready(None) => {
                    this.encoder.finish(cx)?;
                    this.state = State::Trailers(None);
                    if let Some(out) = this.encoder.take() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
                Poll::Pending => {
                    // The upstream has nothing more ready: send what the encoder holds,
                    // so a slow or streaming body reaches the client as it comes.
                    if this.dirty {
                        this.dirty = false;
                        this.encoder.flush(cx)?;
                        if let Some(out) = this.encoder.take() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

// === impl Encoder ===

impl Encoder {
    fn sink(&mut self) -> Pin<&mut (dyn AsyncWrite + Unpin + Send)> {
        match self {
            Self::Zstd(e) => Pin::new(&mut **e),
            Self::Brotli(e) => Pin::new(&mut **e),
            Self::Gzip(e) => Pin::new(&mut **e),
        }
    }

    fn buffer(&mut self) -> &mut Vec<u8> {
        match self {
            Self::Zstd(e) => e.get_mut(),
            Self::Brotli(e) => e.get_mut(),
            Self::Gzip(e) => e.get_mut(),
        }
    }

    /// The encoded bytes so far, if any.
    fn take(&mut self) -> Option<Bytes> {
        let buffer = self.buffer();
        (!buffer.is_empty()).then(|| Bytes::from(std::mem::take(buffer)))
    }

    /// Encodes all of `data`.
    fn write(&mut self, cx: &mut Context<'_>, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = ready_now(self.sink().poll_write(cx, data))?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "encoder took nothing",
                ));
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// Pushes out everything encoded so far (a sync flush: the stream goes on).
    fn flush(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        ready_now(self.sink().poll_flush(cx))
    }

    /// Ends the encoded stream.
    fn finish(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        ready_now(self.sink().poll_shutdown(cx))
    }
}

/// The encoders write into a `Vec`, which is always ready, so every poll is ready at once.
fn ready_now<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::Error::other("an in-memory encoder was not ready")),
    }
}

#[cfg(test)]
mod tests;
