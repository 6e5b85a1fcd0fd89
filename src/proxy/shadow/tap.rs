//! The primary's response body as it streams to the client, with a copy of its frames
//! kept for the shadow comparison: each frame is passed on as it comes (the copy is a
//! reference-counted handle on the same bytes), and the copy is handed over when the body
//! ends. Past [`MAX_COMPARED_BYTES`] the copy is given up, never the client's body.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode};
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

use super::compare::Answer;

/// The largest body compared, on either side; a larger one is counted as dropped.
pub const MAX_COMPARED_BYTES: usize = 1024 * 1024;

/// A body with, perhaps, a copy being kept for a shadow comparison.
#[derive(Debug)]
pub struct Tap<B> {
    inner: B,
    sink: Option<Box<Sink>>,
}

/// What the shadow task gets of the primary's answer.
#[derive(Debug)]
pub enum Captured {
    /// The whole answer.
    Whole(Answer),
    /// Its body is over [`MAX_COMPARED_BYTES`].
    TooLarge,
}

/// Where the copy goes, and the copy so far.
#[derive(Debug)]
pub struct Sink {
    to: oneshot::Sender<Captured>,
    status: StatusCode,
    content_type: Option<HeaderValue>,
    chunks: Vec<Bytes>,
    len: usize,
}

// === impl Sink ===

impl Sink {
    /// A sink for an answer with `status` and `headers`, handing the copy to `to`.
    pub fn new(to: oneshot::Sender<Captured>, status: StatusCode, headers: &HeaderMap) -> Self {
        Self {
            to,
            status,
            content_type: headers.get(http::header::CONTENT_TYPE).cloned(),
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Hands the copy over.
    fn finish(self) {
        let body = match self.chunks.len() {
            0 => Bytes::new(),
            1 => self.chunks.into_iter().next().unwrap_or_default(),
            _ => {
                let mut whole = BytesMut::with_capacity(self.len);
                for chunk in &self.chunks {
                    whole.extend_from_slice(chunk);
                }
                whole.freeze()
            }
        };
        // The task may have given up waiting; nothing to do then.
        let _ = self.to.send(Captured::Whole(Answer {
            status: self.status.as_u16(),
            content_type: self.content_type,
            body,
        }));
    }

    fn too_large(self) {
        let _ = self.to.send(Captured::TooLarge);
    }
}

// === impl Tap ===

impl<B: Body> Tap<B> {
    /// `inner` passed through untouched.
    pub fn plain(inner: B) -> Self {
        Self { inner, sink: None }
    }

    /// `inner`, its data copied into `sink` (handed over at once if the body is already
    /// over, or declared over the limit).
    pub fn new(inner: B, sink: Option<Sink>) -> Self {
        let Some(sink) = sink else {
            return Self::plain(inner);
        };
        let declared = inner.size_hint().exact();
        if declared.is_some_and(|n| n > MAX_COMPARED_BYTES as u64) {
            sink.too_large();
            return Self::plain(inner);
        }
        if inner.is_end_stream() {
            sink.finish();
            return Self::plain(inner);
        }
        Self {
            inner,
            sink: Some(Box::new(sink)),
        }
    }
}

impl<B> Body for Tap<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if this.sink.is_none() {
            return polled;
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && let Some(sink) = this.sink.as_mut()
                {
                    sink.len += data.len();
                    if sink.len > MAX_COMPARED_BYTES {
                        if let Some(sink) = this.sink.take() {
                            sink.too_large();
                        }
                    } else {
                        sink.chunks.push(data.clone());
                    }
                }
                // The server may stop polling once the body says it is over.
                if this.inner.is_end_stream()
                    && let Some(sink) = this.sink.take()
                {
                    sink.finish();
                }
            }
            Poll::Ready(None) => {
                if let Some(sink) = this.sink.take() {
                    sink.finish();
                }
            }
            // A broken body is not an answer to compare: the sink is dropped, which the
            // task sees as not compared.
            Poll::Ready(Some(Err(_))) => this.sink = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
