//! The proxy path: resolve a request against the table active at its arrival, forward it
//! through that upstream's pooled client with bodies streaming both ways, and pass the
//! answer back untouched except for hop-by-hop headers, `Via`, `x-upstream`,
//! `x-request-id` and, where the route and the client agree, compression ([`compress`]).
//! A route a reload has just moved to another upstream may be held there until the
//! hand-over's final catch-up ends ([`crate::handover::hold`]).
//! A route with a `shadow:` also sends a copy of its safe requests elsewhere and compares
//! the answers, off the client's path ([`shadow`]).
//!
//! Every request reaches [`Proxy`] through the [`stack`] (request id, span, concurrency
//! bound, panic catcher), which the listener puts around it. Each answer is counted in the
//! snapshot's [`metrics`] under the route and upstream it matched.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::header::{ALLOW, CONTENT_LENGTH, HOST, WWW_AUTHENTICATE};
use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Request, Response};
use http_body_util::{Either, LengthLimitError, Limited};
use hyper::body::Incoming;
use kit::problem::Problem;

pub mod answer;
pub mod auth;
pub mod compress;
pub mod error;
pub mod headers;
pub mod hygiene;
pub mod limit;
pub mod shadow;
pub mod spec;
pub mod stack;

pub use answer::ProxyBody;
pub use error::ProxyError;
pub use headers::Peer;
pub use stack::{Bound, Handler, Match, Matched, RequestContext, Stack};

use crate::metrics::{self, MethodSlot};
use crate::snapshot::Snapshot;
use crate::snapshot::limits::ClientKey;
use crate::table::{
    LimitBy, PathError, Resolution, Route, RouteTable, Upstream, UpstreamId, check_path,
};

/// The proxy of one worker thread: cheap to clone, one per connection.
#[derive(Debug, Clone)]
pub struct Proxy {
    tables: Arc<ArcSwap<Snapshot>>,
    /// Which worker this is: it uses that worker's connection pools.
    worker: usize,
}

// === impl Proxy ===

impl Proxy {
    /// A proxy for worker `worker`, serving whatever snapshot `tables` holds at each
    /// request's arrival.
    pub fn new(tables: Arc<ArcSwap<Snapshot>>, worker: usize) -> Self {
        Self { tables, worker }
    }

    async fn forward(
        &self,
        snapshot: &Snapshot,
        mut request: Request<Incoming>,
        context: &RequestContext<'_>,
    ) -> Result<Response<ProxyBody>, (ProxyError, String)> {
        let table = &snapshot.table;
        let (route, index, upstream, id) =
            admit(table, &request).map_err(|e| (e, request.uri().path().to_owned()))?;
        context.span.record("route", route.pattern.source());
        context.matched.set(Match::Route {
            index,
            upstream: id,
        });
        if let Some(by) = metrics::split_by(route, request.uri().path(), request.headers()) {
            snapshot.metrics.route(index).side(Some(id)).chosen(by);
        }
        if let Some(answer) = hygiene::max_forwards(&mut request, route.methods)
            .map_err(|why| (ProxyError::Refused(why), request.uri().path().to_owned()))?
        {
            return Ok(answer);
        }
        let peer = context.peer;
        // A reference-counted handle; turned into text only if the request fails.
        let original = request.uri().path_and_query().cloned();
        let path = || {
            original
                .as_ref()
                .map_or_else(String::new, |pq| pq.path().to_owned())
        };
        // Only the gateway says who the caller is: a client's own claim never passes, on
        // any route.
        request.headers_mut().remove(auth::X_AUTHENTICATED_USER);
        let limiter = snapshot.limiter(index);
        let mut rate_state = None;
        // By address before the token is checked, so a flood costs no signature checks.
        if let Some(limiter) = limiter
            && limiter.limit().by == LimitBy::Address
        {
            let key = ClientKey::address(peer.ip);
            rate_state = Some(limit::admit(limiter, &key).map_err(|e| (e, path()))?);
        }
        if let Some(route_auth) = &route.auth {
            let subject = auth::authenticate(
                snapshot,
                route_auth,
                request.headers(),
                request.uri().path(),
            )
            .await
            .map_err(|e| (e, path()))?;
            if let Some(value) = subject.as_deref().and_then(auth::subject_header) {
                request
                    .headers_mut()
                    .insert(auth::X_AUTHENTICATED_USER, value);
            }
            if let Some(limiter) = limiter
                && limiter.limit().by == LimitBy::Subject
            {
                let key = match subject {
                    Some(subject) => ClientKey::Subject(subject.into_boxed_str()),
                    None => ClientKey::address(peer.ip),
                };
                rate_state = Some(limit::admit(limiter, &key).map_err(|e| (e, path()))?);
            }
        }
        // A hand-over moved this route to this upstream and is still catching up: wait for
        // it, so the upstream has the writes acknowledged on the old side first.
        if let Some(gate) = snapshot.held(index, id) {
            gate.opened().await;
        }
        let offer = compress::negotiate(&route.compression, request.method(), request.headers());
        headers::set_forwarding(&mut request, peer, table.trusts(peer.ip));
        let version = request.version();
        headers::add_via(request.headers_mut(), version);
        // Alongside the primary, never in its way: a copy of a picked safe request starts
        // now, and the primary's body is copied for it as it streams to the client.
        let shadow = shadow::start(snapshot.shadow(index), id, &request);
        let limit = route.max_body_bytes;
        let outbound = retarget(request, upstream, limit).map_err(|e| (e, path()))?;

        let client = snapshot.client(self.worker, id);
        let timeout = route.timeout_for(upstream);
        let mut response = match tokio::time::timeout(timeout, client.request(outbound)).await {
            Ok(Ok(response)) => response,
            Ok(Err(cause)) => return Err((classify(cause, upstream, limit), path())),
            Err(_elapsed) => {
                let error = ProxyError::Timeout {
                    upstream: upstream.name.clone(),
                    after: timeout,
                    connecting: false,
                };
                return Err((error, path()));
            }
        };
        if let Err(fault) = hygiene::check_response(&mut response) {
            let upstream = upstream.name.clone();
            return Err((ProxyError::BadResponse { upstream, fault }, path()));
        }
        headers::strip_hop_by_hop(response.headers_mut());
        let version = response.version();
        headers::add_via(response.headers_mut(), version);
        if table.settings().upstream_header {
            response
                .headers_mut()
                .insert(headers::X_UPSTREAM, upstream.name_header.clone());
        }
        if let (Some(limiter), Some(state)) = (limiter, rate_state) {
            limit::describe(response.headers_mut(), limiter.policy_header(), state);
        }
        let sink = shadow.and_then(|s| s.sink(response.status(), response.headers()));
        let mut response = response.map(|body| shadow::Tap::new(body, sink));
        let coded = offer.and_then(|o| compress::prepare(&route.compression, o, &mut response));
        let response = match coded {
            Some((coding, length)) => compress::encoded(response, coding, length),
            None => compress::plain(response),
        };
        Ok(response.map(Either::Left))
    }

    /// The answer to one request: the gateway's own refusals and `/openapi.json`, or the
    /// forwarded request; what it matched is left in `context` for the metrics.
    async fn answer(
        &self,
        snapshot: &Snapshot,
        request: Request<Incoming>,
        context: &RequestContext<'_>,
    ) -> Response<ProxyBody> {
        if let Some(why) = hygiene::refused(&request) {
            let path = request.uri().path().to_owned();
            return problem_response(&ProxyError::Refused(why), context.request_id, path);
        }
        // The gateway's own path: it wins over every route, `prefix: /` included.
        if request.uri().path() == crate::openapi::PATH {
            context.span.record("route", crate::openapi::PATH);
            context.matched.set(Match::Spec);
            return spec::respond(&snapshot.openapi, request.method());
        }
        match self.forward(snapshot, request, context).await {
            Ok(response) => response,
            Err((error, path)) => {
                if let (Some(failure), Some(Match::Route { upstream, .. })) =
                    (error.upstream_failure(), context.matched.get())
                {
                    snapshot.metrics.upstream_failed(upstream, failure);
                }
                problem_response(&error, context.request_id, path)
            }
        }
    }
}

impl Handler<Incoming> for Proxy {
    /// Serves one request on the snapshot active at its arrival, and counts it in that
    /// snapshot's metrics by what it matched; the stack around it has settled its request
    /// id and removed its hop-by-hop headers.
    async fn handle(
        &self,
        request: Request<Incoming>,
        context: &RequestContext<'_>,
    ) -> Response<ProxyBody> {
        let started = Instant::now();
        let method = MethodSlot::of(request.method());
        // Held to the end of the request: a swap meanwhile does not affect it.
        let snapshot = self.tables.load_full();
        let response = self.answer(&snapshot, request, context).await;
        let metrics = &snapshot.metrics;
        let side = match context.matched.get() {
            Some(Match::Route { index, upstream }) => metrics.route(index).side(Some(upstream)),
            Some(Match::Spec) => metrics.spec().side(None),
            None => metrics.unmatched().side(None),
        };
        side.record(method, response.status().as_u16(), started.elapsed());
        response
    }
}

/// The checks before any upstream is involved: head size, path hygiene, a route, and a
/// declared body size within the route's limit.
fn admit<'t>(
    table: &'t RouteTable,
    request: &Request<Incoming>,
) -> Result<(&'t Route, usize, &'t Upstream, UpstreamId), ProxyError> {
    let limit = table.settings().max_header_bytes;
    if headers::head_size(request) > limit {
        return Err(ProxyError::HeadersTooLarge { limit });
    }
    check_path(request.uri().path())?;
    let (route, index, upstream, id) =
        match table.resolve(request.method(), request.uri().path(), request.headers()) {
            Resolution::Found {
                route,
                index,
                upstream,
                id,
            } => (route, index, upstream, id),
            Resolution::MethodNotAllowed(allowed) => {
                return Err(ProxyError::MethodNotAllowed(allowed));
            }
            Resolution::NotFound => return Err(ProxyError::NoRoute),
        };
    let limit = route.max_body_bytes;
    if declared_length(request).is_some_and(|n| n > limit) {
        return Err(ProxyError::BodyTooLarge { limit });
    }
    Ok((route, index, upstream, id))
}

/// The request as sent upstream: the same path and query at the upstream's address, its
/// own `Host`, and the body capped at `limit` bytes as it streams.
fn retarget(
    request: Request<Incoming>,
    upstream: &Upstream,
    limit: u64,
) -> Result<Request<Limited<Incoming>>, ProxyError> {
    let (mut parts, body) = request.into_parts();
    parts.headers.insert(HOST, upstream.host.clone());
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.scheme = Some(upstream.scheme.clone());
    uri.authority = Some(upstream.authority.clone());
    if uri.path_and_query.is_none() {
        uri.path_and_query = Some(PathAndQuery::from_static("/"));
    }
    // Scheme, authority and path each parsed already, so together they form a URI; a
    // failure would be a bug, refused rather than sent somewhere unintended.
    parts.uri = Uri::from_parts(uri).map_err(|_| ProxyError::BadPath(PathError::NotAbsolute))?;
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(Request::from_parts(parts, Limited::new(body, cap)))
}

/// The `Content-Length` the client declared, if any.
fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Maps a client error: our body cap → 413, the client's own body failing (malformed
/// chunks, cut short) → 400, a connect timeout → 504, anything else (refused, reset, closed
/// early, a malformed response) → 502.
fn classify(
    cause: hyper_util::client::legacy::Error,
    upstream: &Upstream,
    limit: u64,
) -> ProxyError {
    let mut source = cause.source();
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return ProxyError::BodyTooLarge { limit };
        }
        // hyper reports a failing request body as a user error whose cause is the error
        // the client connection's body gave: another hyper error.
        if let Some(user) = err.downcast_ref::<hyper::Error>()
            && user.is_user()
            && user
                .source()
                .is_some_and(|inner| inner.downcast_ref::<hyper::Error>().is_some())
        {
            return ProxyError::BadBody;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
            && cause.is_connect()
        {
            return ProxyError::Timeout {
                upstream: upstream.name.clone(),
                after: upstream.connect_timeout,
                connecting: true,
            };
        }
        source = err.source();
    }
    ProxyError::Unreachable {
        upstream: upstream.name.clone(),
        cause,
    }
}

/// The problem+json answer for one of the gateway's own failures; 5xx causes are logged
/// here, once, and never sent.
fn problem_response(
    error: &ProxyError,
    request_id: &HeaderValue,
    path: String,
) -> Response<ProxyBody> {
    let mut problem: Problem = error.problem(&path);
    problem.request_id = request_id.to_str().ok().map(str::to_owned);
    problem.instance = Some(path);
    if problem.status >= 500 {
        tracing::warn!(
            status = problem.status,
            request_id = problem.request_id.as_deref().unwrap_or_default(),
            error = %error,
            cause = ?error.source(),
            "proxy failure"
        );
    }
    let mut response = answer::problem(&problem);
    match error {
        ProxyError::MethodNotAllowed(allowed) => {
            if let Ok(value) =
                HeaderValue::from_str(&allowed.names().collect::<Vec<_>>().join(", "))
            {
                response.headers_mut().insert(ALLOW, value);
            }
        }
        // RFC 6750 section 3: no error code when no token was sent, `invalid_token` with a
        // description when the one sent was refused.
        ProxyError::Unauthorized { reason: None } => {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        ProxyError::Unauthorized { reason: Some(why) } => {
            let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{why}\"");
            let value = HeaderValue::from_str(&challenge)
                .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""));
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        ProxyError::RateLimited { policy, state, .. } => {
            limit::describe(response.headers_mut(), policy, state.clone());
        }
        _ => {}
    }
    response
}
