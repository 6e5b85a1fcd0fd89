//! The framing facts of a request that hyper reads and then hides. hyper frames a request
//! that has both `Content-Length` and `Transfer-Encoding` by the latter, drops the former
//! from the parsed headers and closes the connection afterwards (all as RFC 9112 section
//! 6.1 permits), and merges repeated equal `Content-Length` lines into one; the proxy could
//! not tell either from what it is handed. A smuggling probe sends exactly these, and the
//! gateway refuses them with 400, as nginx and haproxy do.
//!
//! So each connection's bytes pass a [`Scanner`] on their way to hyper. It follows the
//! stream the way hyper's HTTP/1.1 server does: a head (parsed with httparse, hyper's own
//! parser, with hyper's settings), then a body framed by `Content-Length` or by chunks,
//! then the next head. It records, by position on the connection, each head that carries
//! both framings or several `Content-Length` lines; the listener hands the verdict to the
//! request of that position as a [`Refused`] extension. Wherever the scanner
//! cannot follow (a head hyper will refuse anyway, an oversized head), it stops checking
//! that connection rather than guess, so it never refuses a request hyper frames plainly.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::proxy::hygiene::{Refusal, Refused};

/// The most header lines hyper's server parses (its default); a head with more is refused
/// by hyper itself.
const MAX_HEADERS: usize = 100;

/// Verdicts on the heads of one connection, written by its [`Guarded`] stream and read by
/// the service as each request arrives.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// Whether any head was refused; the common case reads only this.
    any: AtomicBool,
    /// Requests handed to the service so far.
    served: AtomicU64,
    /// (head position, why), for the refused heads.
    refused: Mutex<Vec<(u64, Refusal)>>,
}

/// A connection's stream with its bytes scanned on the way in.
#[derive(Debug)]
pub struct Guarded<S> {
    inner: S,
    scanner: Scanner,
    verdicts: std::sync::Arc<Verdicts>,
}

/// Follows a stream of HTTP/1.1 requests as hyper's server reads them.
#[derive(Debug, Default)]
pub struct Scanner {
    state: State,
    /// The part of a head that arrived so far, when a head spans reads.
    pending: Vec<u8>,
    /// Heads seen so far.
    heads: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a request head.
    #[default]
    Head,
    /// Inside a body of known length: this many bytes remain.
    Fixed(u64),
    /// Inside a chunked body.
    Chunked(Chunk, u64),
    /// Lost the thread (hyper refuses what follows, or the scanner cannot follow it).
    Off,
}

/// Where in a chunked body the stream is, named as hyper's decoder names its states; the
/// `u64` beside it is the chunk size being read, then the bytes of the chunk left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Body,
    BodyCr,
    BodyLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

/// What a head says about itself.
enum Head {
    /// Complete, `len` bytes, followed by a body in `next` state; refused or not.
    Done {
        len: usize,
        next: State,
        refusal: Option<Refusal>,
    },
    /// Needs more bytes.
    Partial,
    /// hyper will refuse it, or the scanner cannot follow it.
    Lost,
}

// === impl Verdicts ===

impl Verdicts {
    /// The verdict for the next request the service is handed: `Some` when its head was
    /// refused. One atomic add and one load when no head of the connection was.
    pub fn next_request(&self) -> Option<Refused> {
        let position = self.served.fetch_add(1, Ordering::Relaxed);
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused
            .iter()
            .find(|(at, _)| *at == position)
            .map(|&(_, why)| Refused(why))
    }

    fn record(&self, position: u64, why: Refusal) {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((position, why));
        self.any.store(true, Ordering::Relaxed);
    }
}

// === impl Guarded ===

impl<S> Guarded<S> {
    /// `inner`, scanned; the verdicts go to `verdicts`.
    pub fn new(inner: S, verdicts: std::sync::Arc<Verdicts>) -> Self {
        Self {
            inner,
            scanner: Scanner::default(),
            verdicts,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let verdicts = &this.verdicts;
            this.scanner
                .feed(&buf.filled()[before..], |at, why| verdicts.record(at, why));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// === impl Scanner ===

impl Scanner {
    /// Follows `bytes`, the next ones read from the connection, calling `refuse` with the
    /// position of each refused head.
    pub fn feed(&mut self, bytes: &[u8], mut refuse: impl FnMut(u64, Refusal)) {
        if self.state == State::Off || bytes.is_empty() {
            return;
        }
        if self.pending.is_empty() {
            self.scan(bytes, &mut refuse);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(bytes);
            self.scan(&joined, &mut refuse);
        }
    }

    /// Whether the scanner still follows the stream.
    pub fn following(&self) -> bool {
        self.state != State::Off
    }

    fn scan(&mut self, mut bytes: &[u8], refuse: &mut impl FnMut(u64, Refusal)) {
        while !bytes.is_empty() {
            match self.state {
                State::Off => return,
                State::Head => match head(bytes) {
                    Head::Done { len, next, refusal } => {
                        if let Some(why) = refusal {
                            refuse(self.heads, why);
                        }
                        self.heads += 1;
                        self.state = next;
                        bytes = &bytes[len..];
                    }
                    Head::Partial => {
                        if bytes.len() > crate::server::MAX_HEAD_BUFFER {
                            // hyper answers 431 and closes.
                            self.state = State::Off;
                        } else {
                            self.pending = bytes.to_vec();
                        }
                        return;
                    }
                    Head::Lost => {
                        self.state = State::Off;
                        return;
                    }
                },
                State::Fixed(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Fixed(left)
                    };
                }
                State::Chunked(Chunk::Body, left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Chunked(Chunk::BodyCr, 0)
                    } else {
                        State::Chunked(Chunk::Body, left)
                    };
                }
                State::Chunked(at, size) => {
                    self.state = chunk_step(at, size, bytes[0]);
                    bytes = &bytes[1..];
                }
            }
        }
    }
}

/// One byte of a chunked body outside chunk data, as hyper's decoder takes it; `Off` where
/// hyper's decoder fails.
fn chunk_step(at: Chunk, size: u64, byte: u8) -> State {
    let digit = |b: u8| char::from(b).to_digit(16).map(u64::from);
    let grown = |d: u64| size.checked_mul(16).and_then(|s| s.checked_add(d));
    let next = match (at, byte) {
        (Chunk::Start | Chunk::Size, b) if digit(b).is_some() => match digit(b).and_then(grown) {
            Some(size) => return State::Chunked(Chunk::Size, size),
            None => return State::Off,
        },
        (Chunk::Size | Chunk::SizeLws, b'\t' | b' ') => Chunk::SizeLws,
        (Chunk::Size | Chunk::SizeLws, b';') => Chunk::Extension,
        (Chunk::Size | Chunk::SizeLws | Chunk::Extension, b'\r') => Chunk::SizeLf,
        (Chunk::Extension, b'\n') => return State::Off,
        (Chunk::Extension, _) => Chunk::Extension,
        (Chunk::SizeLf, b'\n') if size == 0 => Chunk::EndCr,
        (Chunk::SizeLf, b'\n') => Chunk::Body,
        (Chunk::BodyCr, b'\r') => Chunk::BodyLf,
        (Chunk::BodyLf, b'\n') => Chunk::Start,
        (Chunk::Trailer, b'\r') => Chunk::TrailerLf,
        (Chunk::Trailer, _) => Chunk::Trailer,
        (Chunk::TrailerLf, b'\n') => Chunk::EndCr,
        (Chunk::EndCr, b'\r') => Chunk::EndLf,
        (Chunk::EndCr, _) => Chunk::Trailer,
        (Chunk::EndLf, b'\n') => return State::Head,
        _ => return State::Off,
    };
    State::Chunked(next, size)
}

/// Parses one request head at the start of `bytes` as hyper's server does, and says how
/// its body is framed.
fn head(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match httparse::ParserConfig::default().parse_request(&mut request, bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::Lost,
    };
    let http10 = request.version == Some(0);
    let mut chunked = None;
    let mut lengths = 0usize;
    let mut length = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // hyper: the last line decides, by its last coding.
            chunked = Some(
                std::str::from_utf8(header.value)
                    .ok()
                    .and_then(|v| v.rsplit(',').next())
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked")),
            );
        } else if header.name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            let parsed = digits(header.value);
            match (length, parsed) {
                (_, None) => length = Some(None),
                (None, Some(n)) => length = Some(Some(n)),
                (Some(Some(earlier)), Some(n)) if earlier != n => length = Some(None),
                _ => {}
            }
        }
    }
    let refusal = match (chunked, lengths) {
        (Some(_), 1..) => Some(Refusal::LengthAndChunked),
        (None, 2..) => Some(Refusal::ManyLengths),
        _ => None,
    };
    let next = match (chunked, length) {
        (Some(true), _) if !http10 => State::Chunked(Chunk::Start, 0),
        // hyper refuses these heads and closes the connection.
        (Some(_), _) | (None, Some(None)) => return Head::Lost,
        (None, Some(Some(0)) | None) => State::Head,
        (None, Some(Some(n))) => State::Fixed(n),
    };
    Head::Done { len, next, refusal }
}

/// A `Content-Length` value as hyper reads it: ASCII digits only, at least one, no overflow.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
