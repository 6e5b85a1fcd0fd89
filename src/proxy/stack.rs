//! What every request on the proxy listener passes through around the proxy itself, the
//! gateway's counterpart of the tower stack each service runs (`kit::layers`). Outermost
//! first:
//!
//! 1. **Request id**: hop-by-hop headers removed, then `x-request-id` kept or made, and
//!    echoed on the response.
//! 2. **Span**: one `request` span per request with `request_id`, `method` and `route`
//!    (the route table's pattern, recorded once matched; never the raw path).
//! 3. **Concurrency bound**: a request beyond `--max-concurrent-requests` is answered 503
//!    problem+json with `Retry-After` at once, never queued.
//! 4. **Panic catcher**: a panic while handling one request answers it 500 problem+json;
//!    the worker and the connection keep serving.
//!
//! The bound counts what it refuses and the panics it catches, for `/metrics`; the
//! handler counts everything else it answers, by the route it [`Matched`].
//!
//! It is one hand-written future rather than tower layers, because the proxy path is the
//! hot path: no box and no allocation of its own per request, a single atomic counter for
//! the bound. The span is at `debug` level, so at the default `info` filter creating it
//! costs one branch; `RUST_LOG=info,gateway=debug` turns it on. What the gateway logs at
//! `info` and above on this path (its own 5xx answers, panics) names the request id itself.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures_util::FutureExt as _;
use http::{HeaderValue, Request, Response};
use kit::problem::Problem;
use tracing::{Instrument as _, Span};

use super::answer::{self, ProxyBody};
use super::headers::{self, Peer};
use crate::table::UpstreamId;

/// What the stack wraps: serves one request it has admitted.
pub trait Handler<B> {
    /// Serves `request`, with what the stack settled about it in `context`.
    fn handle(
        &self,
        request: Request<B>,
        context: &RequestContext<'_>,
    ) -> impl Future<Output = Response<ProxyBody>>;
}

/// What the stack settled about a request before its handler sees it.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The connection it came on.
    pub peer: &'a Peer,
    /// Its `x-request-id`, as sent upstream and echoed to the client.
    pub request_id: &'a HeaderValue,
    /// Its span; the handler records the matched route pattern as `route`.
    pub span: &'a Span,
    /// What the handler matched it to, for its metrics.
    pub matched: Matched,
}

/// The route and upstream a request was matched to, set by the handler as it resolves
/// the request: one relaxed atomic, since the context is shared by reference.
#[derive(Debug, Default)]
pub struct Matched(AtomicU64);

/// What a request was matched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Route `index` of the table it arrived on, sending to `upstream`.
    Route {
        /// Its position in the table's routes.
        index: usize,
        /// The upstream chosen.
        upstream: UpstreamId,
    },
    /// The gateway's own `/openapi.json`.
    Spec,
}

/// The stack around a handler `H` (the proxy), one per worker thread.
#[derive(Debug, Clone)]
pub struct Stack<H> {
    inner: H,
    bound: Arc<Bound>,
}

/// How many requests may be in flight at once, over every worker sharing it: a count, not
/// a queue. A request beyond it is refused at once.
#[derive(Debug)]
pub struct Bound {
    in_flight: AtomicUsize,
    max: usize,
    /// Requests refused at the bound, since start.
    refused: AtomicU64,
    /// Requests whose handler panicked, since start.
    panicked: AtomicU64,
}

/// One admitted request's place under a [`Bound`], given back on drop (a finished, failed,
/// panicked or abandoned request alike).
#[derive(Debug)]
struct Permit<'a>(&'a Bound);

// === impl Stack ===

impl<H> Stack<H> {
    /// `inner` behind the stack, sharing `bound` with every other stack cloned from it.
    pub fn new(inner: H, bound: Arc<Bound>) -> Self {
        Self { inner, bound }
    }

    /// Serves one request from `peer` through every layer and then `inner`.
    pub async fn serve<B>(&self, mut request: Request<B>, peer: &Peer) -> Response<ProxyBody>
    where
        H: Handler<B>,
    {
        // Request id, outermost: every answer below carries it, the 503 and the 500
        // included, and the span records it. Hop-by-hop headers go first, so a client's
        // `Connection` header cannot name away the headers the gateway sets (the request id
        // here, the forwarding headers in the proxy).
        headers::strip_hop_by_hop(request.headers_mut());
        let request_id = headers::ensure_request_id(request.headers_mut());
        // The span, outside the bound and the panic catcher, so their 503 and 500 answers
        // happen in it. Field values are only computed when the span is enabled.
        let span = tracing::debug_span!(
            "request",
            request_id = request_id.to_str().unwrap_or_default(),
            method = %request.method(),
            route = tracing::field::Empty,
        );
        let context = RequestContext {
            peer,
            request_id: &request_id,
            span: &span,
            matched: Matched::default(),
        };
        let mut response = self
            .bounded(request, &context)
            .instrument(span.clone())
            .await;
        response
            .headers_mut()
            .entry(kit::layers::REQUEST_ID)
            .or_insert(request_id);
        response
    }

    /// The bound, then the panic catcher, then the handler.
    async fn bounded<B>(
        &self,
        request: Request<B>,
        context: &RequestContext<'_>,
    ) -> Response<ProxyBody>
    where
        H: Handler<B>,
    {
        // Before any work for the request, so an overloaded gateway spends nothing on what
        // it refuses; the permit is held until the handler's future is done or dropped.
        let Some(_permit) = self.bound.try_enter() else {
            self.bound.refused.fetch_add(1, Ordering::Relaxed);
            return overloaded(request.uri().path(), context.request_id);
        };
        // Innermost, around the handler's future alone: a panic in it is caught on the
        // worker that polls it, answered, and the permit above is given back as usual.
        // AssertUnwindSafe: the future is dropped after a panic, and what it shares with
        // later requests (the immutable snapshot, hyper's pools) stays consistent when a
        // request is abandoned midway, as it does when a client disconnects.
        // The URI for the 500's `instance`: a reference-counted handle on the bytes hyper
        // parsed, not a copy.
        let uri = request.uri().clone();
        match AssertUnwindSafe(self.inner.handle(request, context))
            .catch_unwind()
            .await
        {
            Ok(response) => response,
            Err(panic) => {
                self.bound.panicked.fetch_add(1, Ordering::Relaxed);
                panicked(&*panic, uri.path(), context.request_id)
            }
        }
    }
}

/// 503, `Retry-After: 1`: the gateway is at its bound.
fn overloaded(path: &str, request_id: &HeaderValue) -> Response<ProxyBody> {
    // Debug, not warn: under overload a line per refused request would cost the most
    // exactly when there is least to spare.
    tracing::debug!("refused: at the concurrency bound");
    let mut problem = Problem::overloaded();
    problem.instance = Some(path.to_owned());
    problem.request_id = request_id.to_str().ok().map(str::to_owned);
    answer::problem(&problem)
}

/// 500: the handler panicked. The panic's message is logged, never sent.
fn panicked(panic: &(dyn Any + Send), path: &str, request_id: &HeaderValue) -> Response<ProxyBody> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    let mut problem = Problem::internal();
    problem.request_id = request_id.to_str().ok().map(str::to_owned);
    tracing::error!(
        panic = message,
        request_id = problem.request_id.as_deref().unwrap_or_default(),
        path,
        "request handler panicked; answered 500"
    );
    problem.instance = Some(path.to_owned());
    answer::problem(&problem)
}

// === impl Matched ===

/// The value [`Matched`] holds for [`Match::Spec`]; 0 is "nothing matched".
const SPEC: u64 = u64::MAX;

impl Matched {
    /// Records what the request was matched to.
    pub fn set(&self, matched: Match) {
        let value = match matched {
            Match::Route { index, upstream } => {
                // Both fit in 32 bits: a table has far fewer routes and upstreams.
                ((index as u64 + 1) << 32) | (upstream.index() as u64 & 0xffff_ffff)
            }
            Match::Spec => SPEC,
        };
        self.0.store(value, Ordering::Relaxed);
    }

    /// What the request was matched to, if anything.
    pub fn get(&self) -> Option<Match> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            SPEC => Some(Match::Spec),
            value => Some(Match::Route {
                index: usize::try_from((value >> 32) - 1).unwrap_or(usize::MAX),
                upstream: UpstreamId(usize::try_from(value & 0xffff_ffff).unwrap_or(0)),
            }),
        }
    }
}

// === impl Bound ===

impl Bound {
    /// At most `max` requests in flight (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            max: max.max(1),
            refused: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
        }
    }

    /// The most requests in flight at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests refused at the bound since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Requests whose handler panicked since start.
    pub fn panicked(&self) -> u64 {
        self.panicked.load(Ordering::Relaxed)
    }

    /// A place for one more request, or `None` at the bound.
    fn try_enter(&self) -> Option<Permit<'_>> {
        // One atomic add in the common case. Relaxed: the count orders nothing else. A
        // refused request overshoots the count for a moment and takes it back, which can
        // only make a concurrent arrival see the bound as reached, never exceed it.
        let before = self.in_flight.fetch_add(1, Ordering::Relaxed);
        if before >= self.max {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Permit(self))
    }
}

// === impl Permit ===

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
