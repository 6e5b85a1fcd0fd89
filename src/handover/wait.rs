//! Waiting for one hand-over: read the old side's `/feeds` for its feed's source and
//! head, then poll the new side's `/feeds` until a follower of that source is at or past
//! the head, or the pair's timeout passes; after the swap, the same again from a fresh
//! read of the old side's head ([`FeedClient::catch_up`]).
//!
//! The views read are tolerant: only `source`, `head` and each follower's `source` and
//! `position` are looked at (kit's `FeedsView` and `FollowerStatus` carry more).

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use super::{Handover, Outcome, Pair};

/// Time between two reads of the new side's `/feeds` while the old table serves.
pub const POLL: Duration = Duration::from_millis(20);

/// The same while requests are held: each read saved shortens their wait.
pub const HELD_POLL: Duration = Duration::from_millis(2);

/// Time allowed to connect to a side.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Largest `/feeds` body read.
const MAX_BODY: usize = 1024 * 1024;

/// The client the reloader reads `/feeds` with: pooled, so polling reuses a connection.
#[derive(Debug, Clone)]
pub struct FeedClient {
    client: Client<HttpConnector, Empty<Bytes>>,
}

/// What a side's `GET /feeds` answers: its feed's head and its followers of other feeds.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct FeedsView {
    /// The side's feed.
    pub source: String,
    /// Its last position.
    pub head: u64,
    /// Each follower of another side's feed: one per direction of replication.
    #[serde(default)]
    pub followers: Vec<Follower>,
}

/// One follower of another side's feed, with its lag.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = FeedFollower)]
pub struct Follower {
    /// Its name: `users-from-monolith` applies the monolith's feed to the users service.
    #[serde(default)]
    pub consumer: String,
    /// The feed it follows.
    pub source: String,
    /// The last position it applied.
    pub position: u64,
    /// The source's head at its last read.
    #[serde(default)]
    pub head: u64,
    /// Events known to be waiting.
    #[serde(default)]
    pub lag_events: u64,
    /// Seconds since it was last at the head.
    #[serde(default)]
    pub lag_seconds: f64,
    /// Whether its last read reached the source.
    #[serde(default)]
    pub connected: bool,
}

/// Why a `/feeds` could not be used.
#[derive(Debug)]
enum Unread {
    /// The side answered, but not with a feed view (404: it keeps no feed).
    NoFeed(String),
    /// The side could not be read at all, or failed.
    Unreachable(String),
}

// === impl FeedClient ===

impl Default for FeedClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(10))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }
}

impl FeedClient {
    /// `base`'s `GET /feeds`, within `timeout`; an error names why it could not be read
    /// (the side keeps no feed, or does not answer).
    pub async fn status(&self, base: &str, timeout: Duration) -> Result<FeedsView, String> {
        self.feeds(base, Instant::now() + timeout)
            .await
            .map_err(|unread| match unread {
                Unread::NoFeed(why) | Unread::Unreachable(why) => why,
            })
    }

    /// Waits for every pair at once; the result is in the order of `pairs`.
    pub async fn hand_over_all(&self, pairs: &[Pair]) -> Vec<Handover> {
        join_all(pairs.iter().map(|pair| self.hand_over(pair))).await
    }

    /// Waits for one pair, as long as its timeout at most.
    #[tracing::instrument(skip_all, fields(from = %pair.from, to = %pair.to))]
    pub async fn hand_over(&self, pair: &Pair) -> Handover {
        let started = Instant::now();
        let deadline = started + pair.timeout;
        let mut handover = Handover {
            from: pair.from.clone(),
            to: pair.to.clone(),
            routes: pair.routes.clone(),
            source: None,
            head: None,
            final_head: None,
            position: None,
            waited_ms: 0,
            held_ms: 0,
            timeout_ms: millis(pair.timeout),
            outcome: Outcome::NotReplicated,
            detail: None,
        };
        let old = match self.feeds(&pair.from_url, deadline).await {
            Ok(view) => view,
            Err(unread) => {
                handover.fail(&pair.from, unread);
                return handover.finish(started);
            }
        };
        handover.source = Some(old.source.clone());
        handover.head = Some(old.head);
        self.follow(pair, &old, deadline, POLL, &mut handover).await;
        handover.finish(started)
    }

    /// The final catch-up of a pair whose first wait caught up, once the table is swapped
    /// and `drained` tells whether the previous table's requests finished in time: reads
    /// the old side's head again and waits for the new side to reach it, until the
    /// deadline of the wait that began at `started`.
    #[tracing::instrument(skip_all, fields(from = %pair.from, to = %pair.to))]
    pub async fn catch_up(
        &self,
        pair: &Pair,
        mut handover: Handover,
        started: Instant,
        drained: bool,
    ) -> Handover {
        let deadline = started + pair.timeout;
        if !drained {
            handover.outcome = Outcome::TimedOut;
            handover.detail = Some(format!(
                "requests on the previous table were still running after {}",
                humantime::format_duration(pair.timeout)
            ));
            return handover.finish(started);
        }
        let old = match self.feeds(&pair.from_url, deadline).await {
            Ok(view) => view,
            Err(Unread::Unreachable(_)) if Instant::now() >= deadline => {
                handover.outcome = Outcome::TimedOut;
                handover.detail = Some(format!(
                    "{}'s head was not read again within {}",
                    pair.from,
                    humantime::format_duration(pair.timeout)
                ));
                return handover.finish(started);
            }
            Err(unread) => {
                handover.fail(&pair.from, unread);
                return handover.finish(started);
            }
        };
        handover.final_head = Some(old.head);
        self.follow(pair, &old, deadline, HELD_POLL, &mut handover)
            .await;
        handover.finish(started)
    }

    /// Polls the new side every `poll` until a follower of `old`'s feed is at `old`'s
    /// head, or `deadline`; leaves the outcome in `handover`.
    async fn follow(
        &self,
        pair: &Pair,
        old: &FeedsView,
        deadline: Instant,
        poll: Duration,
        handover: &mut Handover,
    ) {
        loop {
            let new = match self.feeds(&pair.to_url, deadline).await {
                Ok(view) => view,
                // Reached before, so the side is there: a read cut short by the
                // deadline is the wait running out.
                Err(Unread::Unreachable(_))
                    if handover.position.is_some() && Instant::now() >= deadline =>
                {
                    handover.time_out(pair, old);
                    return;
                }
                Err(unread) => {
                    handover.fail(&pair.to, unread);
                    return;
                }
            };
            let Some(position) = new
                .followers
                .iter()
                .filter(|f| f.source == old.source)
                .map(|f| f.position)
                .max()
            else {
                handover.outcome = Outcome::NotReplicated;
                handover.detail = Some(format!(
                    "{} follows no feed of {} (its feed `{}`)",
                    pair.to, pair.from, old.source
                ));
                return;
            };
            handover.position = Some(position);
            if position >= old.head {
                handover.outcome = Outcome::CaughtUp;
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                handover.time_out(pair, old);
                return;
            }
            tokio::time::sleep_until((now + poll).min(deadline)).await;
        }
    }

    /// `GET {base}/feeds`, answered before `deadline`.
    async fn feeds(&self, base: &str, deadline: Instant) -> Result<FeedsView, Unread> {
        let uri: Uri = format!("{base}/feeds")
            .parse()
            .map_err(|_| Unread::Unreachable(format!("`{base}/feeds` is not a URL")))?;
        let request = Request::get(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("gateway/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|err| Unread::Unreachable(format!("GET {uri}: {err}")))?;
        let read = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|err| Unread::Unreachable(format!("GET {uri}: {}", cause(&err))))?;
            let status = response.status();
            if status.is_server_error() {
                return Err(Unread::Unreachable(format!("GET {uri} answered {status}")));
            }
            if status != StatusCode::OK {
                return Err(Unread::NoFeed(format!("GET {uri} answered {status}")));
            }
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|err| Unread::Unreachable(format!("GET {uri}: reading: {err}")))?
                .to_bytes();
            serde_json::from_slice(&body)
                .map_err(|err| Unread::NoFeed(format!("GET {uri}: not a feed view: {err}")))
        };
        tokio::time::timeout_at(deadline, read)
            .await
            .unwrap_or_else(|_| Err(Unread::Unreachable(format!("GET {uri}: no answer in time"))))
    }
}

// === impl Handover ===

impl Handover {
    /// Records why `side`'s `/feeds` could not be used.
    fn fail(&mut self, side: &str, unread: Unread) {
        let (outcome, why) = match unread {
            Unread::NoFeed(why) => (Outcome::NotReplicated, why),
            Unread::Unreachable(why) => (Outcome::Unreachable, why),
        };
        self.outcome = outcome;
        self.detail = Some(format!("{side}: {why}"));
    }

    /// Records that the new side was not there by the deadline.
    fn time_out(&mut self, pair: &Pair, old: &FeedsView) {
        self.outcome = Outcome::TimedOut;
        let phase = if self.final_head.is_some() {
            " (the head read again after the swap)"
        } else {
            ""
        };
        self.detail = Some(format!(
            "{}'s follower of `{}` was at {} of {}{phase} after {}",
            pair.to,
            old.source,
            self.position.unwrap_or_default(),
            old.head,
            humantime::format_duration(pair.timeout)
        ));
    }

    /// Stamps the time waited since `started` and logs the outcome.
    fn finish(mut self, started: Instant) -> Self {
        self.waited_ms = millis(started.elapsed());
        let detail = self.detail.as_deref().unwrap_or("");
        match self.outcome {
            Outcome::CaughtUp => tracing::info!(
                from = %self.from, to = %self.to, source = ?self.source, head = ?self.head,
                final_head = ?self.final_head, position = ?self.position,
                waited_ms = self.waited_ms,
                "hand-over: the new side caught up with the old side's feed"
            ),
            Outcome::NotReplicated => tracing::info!(
                from = %self.from, to = %self.to, detail,
                "hand-over: nothing to wait for"
            ),
            Outcome::TimedOut => tracing::warn!(
                from = %self.from, to = %self.to, source = ?self.source, head = ?self.head,
                final_head = ?self.final_head, position = ?self.position,
                waited_ms = self.waited_ms, detail,
                "hand-over timed out: the new side had not caught up; the swap goes ahead and held requests go on"
            ),
            Outcome::Unreachable => tracing::warn!(
                from = %self.from, to = %self.to, detail,
                "hand-over: a side's /feeds could not be read; the swap goes ahead and held requests go on"
            ),
        }
        self
    }
}

/// The innermost cause of a client error (hyper-util's own message is generic).
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
