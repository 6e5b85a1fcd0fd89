//! Shadow traffic: a copy of a picked GET or HEAD request goes to the route's shadow
//! upstream in a task of its own on the shadow thread ([`lane`]), once the primary's
//! answer is over; the primary's answer reaches the client as it always does, its body
//! copied on the way ([`tap`]); then the copy is sent, and when its answer is whole the
//! two are compared ([`compare`]) and counted, then dropped. Comparisons run on the shadow
//! thread too, large ones included: a long one holds up only other copies.
//!
//! The client never waits for the shadow: the task holds one of the route's
//! `max_in_flight` places (taken without waiting; none free and the copy is dropped), its
//! request has its own timeout, and whatever it meets (a dead, slow or wrong shadow) ends
//! in the route's counters only. A sample of compared requests (`noise_sample`) is sent to
//! the primary a second time: what differs between the primary's two answers is noise,
//! and a difference made only of noise is counted as such, not as a difference.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::uri::{PathAndQuery, Uri};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Empty, Limited};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, oneshot};

pub mod compare;
pub mod lane;
pub mod tap;

pub use tap::{Captured, Sink, Tap};

use self::compare::Answer;
use self::tap::MAX_COMPARED_BYTES;
use crate::snapshot::shadow::{Difference, Endpoint, Outcome, ShadowState};
use crate::table::{Methods, UpstreamId};

/// How long the task waits for the primary's body to reach its end (a slow client reads
/// it at its own pace); past it the copy is dropped.
const PRIMARY_WAIT: Duration = Duration::from_secs(30);

/// A shadow started for one request: where the primary's answer is to be handed. When
/// the route only sends copies and compares nothing, dropping it (with the primary's
/// head) is what lets the copy go.
#[derive(Debug)]
pub struct Started {
    to: oneshot::Sender<Captured>,
    compare: bool,
}

/// The parts of the request a copy needs.
#[derive(Debug)]
struct Head {
    method: Method,
    path: PathAndQuery,
    headers: HeaderMap,
}

/// Why a shadow exchange gave no answer to compare.
#[derive(Debug)]
enum Failure {
    /// No connection, a timeout, a broken answer.
    Error,
    /// An answer over the comparison limit.
    TooLarge,
}

// === impl Started ===

impl Started {
    /// The sink for the primary's answer, once its head is known; `None` when nothing is
    /// compared, so the body is not copied.
    pub fn sink(self, status: StatusCode, headers: &HeaderMap) -> Option<Sink> {
        self.compare.then(|| Sink::new(self.to, status, headers))
    }
}

/// Starts the shadow of `request` (about to go to the route's upstream `primary`) if the
/// route has one, the method is safe, the request is picked, and a place is free; `None`
/// otherwise. On a comparing route, dropping the result without a sink (the primary gave
/// no answer) counts the copy as dropped and sends none.
pub fn start<B>(
    state: Option<&Arc<ShadowState>>,
    primary: UpstreamId,
    request: &Request<B>,
) -> Option<Started> {
    let state = state?;
    if !Methods::is_safe(request.method()) || !state.pick() {
        return None;
    }
    let Some(permit) = state.try_permit() else {
        state.stats.record(Outcome::Dropped);
        return None;
    };
    let head = Head {
        method: request.method().clone(),
        path: request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
        headers: request.headers().clone(),
    };
    let (to, from) = oneshot::channel();
    let compare = state.config.compare;
    let state = Arc::clone(state);
    lane::spawn(run(state, primary, head, from, permit));
    Some(Started { to, compare })
}

/// The shadow of one request, from its copy to its count.
async fn run(
    state: Arc<ShadowState>,
    primary: UpstreamId,
    head: Head,
    from: oneshot::Receiver<Captured>,
    _permit: OwnedSemaphorePermit,
) {
    let config = &state.config;
    // The copy leaves once the primary's answer is over, so the copy's exchange never
    // competes with the client's. Without a comparison, the head is the signal
    // (the sender is dropped with it); with one, the whole captured body.
    if !config.compare {
        let _ = tokio::time::timeout(PRIMARY_WAIT, from).await;
        if exchange(&state.shadow, &head, config.timeout)
            .await
            .is_err()
        {
            state.stats.record(Outcome::Error);
        }
        return;
    }
    let Ok(Ok(Captured::Whole(primary_answer))) = tokio::time::timeout(PRIMARY_WAIT, from).await
    else {
        return state.stats.record(Outcome::Dropped);
    };
    let shadow = match exchange(&state.shadow, &head, config.timeout).await {
        Ok(answer) => answer,
        Err(Failure::Error) => return state.stats.record(Outcome::Error),
        Err(Failure::TooLarge) => return state.stats.record(Outcome::Dropped),
    };
    if state.sample_noise()
        && let Some(endpoint) = state.primary(primary)
        && let Ok(again) = exchange(endpoint, &head, config.timeout).await
        && again.status == primary_answer.status
    {
        let noise = compare::compare(&primary_answer, &again, &config.ignore);
        state.stats.learn_noise(noise.pointers);
    }
    let (primary_status, shadow_status) = (primary_answer.status, shadow.status);
    let found = compare::compare(&primary_answer, &shadow, &config.ignore);
    let outcome = if found.is_equal() {
        Outcome::Equal
    } else if !found.status
        && !found.content_type
        && !found.truncated
        && state.stats.all_noise(&found.pointers)
    {
        Outcome::Noise
    } else {
        Outcome::Different(Difference {
            at: OffsetDateTime::now_utc(),
            method: head.method.to_string(),
            path: head.path.as_str().to_owned(),
            primary_status,
            shadow_status,
            pointers: found.pointers,
        })
    };
    state.stats.record(outcome);
}

/// Sends the copy of `head` to `endpoint` and reads the whole answer, within `timeout`.
async fn exchange(endpoint: &Endpoint, head: &Head, timeout: Duration) -> Result<Answer, Failure> {
    let mut headers = head.headers.clone();
    headers.insert(HOST, endpoint.host.clone());
    let uri = Uri::builder()
        .scheme(endpoint.scheme.clone())
        .authority(endpoint.authority.clone())
        .path_and_query(head.path.clone())
        .build()
        .map_err(|_| Failure::Error)?;
    let mut request = Request::new(Empty::<Bytes>::new());
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let client = endpoint.client();
    let answer = async move {
        let response = client.request(request).await.map_err(|err| {
            tracing::debug!(upstream = %endpoint.name, %err, "shadow request failed");
            Failure::Error
        })?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_COMPARED_BYTES)
            .collect()
            .await
            .map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    Failure::TooLarge
                } else {
                    Failure::Error
                }
            })?
            .to_bytes();
        Ok(Answer {
            status: parts.status.as_u16(),
            content_type: parts.headers.get(http::header::CONTENT_TYPE).cloned(),
            body,
        })
    };
    tokio::time::timeout(timeout, answer)
        .await
        .unwrap_or(Err(Failure::Error))
}
