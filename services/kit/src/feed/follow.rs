//! Following a feed: a [`Follower`] reads another service's feed batch by batch and hands
//! each batch to a [`Consumer`], which applies it and stores the position it reached with
//! the effects (in one transaction, where it has a database), so a restart neither loses
//! nor repeats an effect. Delivery is at least once: a consumer applies an event twice
//! without changing anything.
//!
//! A source that cannot be reached is retried with backoff while the service keeps serving;
//! the follower's lag shows on `/metrics` and `GET /feeds`. A source that no longer holds
//! what follows the stored position (410 on HTTP) makes the consumer [`reset`](Consumer::reset)
//! its view and replay from 0.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Event;
use super::outbox::Page;

/// What a follower hands its batches to.
pub trait Consumer: Send + Sync + 'static {
    /// Where to resume: the position stored with the last effect (0 when none).
    fn position(&self) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Applies `events` (in `seq` order; possibly empty) and stores `next_after` as the
    /// position, atomically with the effects where the consumer has a database.
    fn apply(
        &self,
        events: &[Event],
        next_after: u64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The source no longer holds what follows the stored position: forget what was built
    /// from it, so it is rebuilt by a replay from 0.
    fn reset(&self) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The follower reached the source's head, for the first time since it started or
    /// since a [`reset`](Self::reset): a view rebuilt by a replay from 0 now holds all the
    /// source holds, so what depends on keys the source no longer has (their deletions
    /// expired before the replay could see them) can go. Nothing by default.
    fn caught_up(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// Where a follower reads from.
#[derive(Debug)]
pub enum Source {
    /// `GET {url}/changes` of the source service, long-polling.
    Http {
        /// The source service's base URL, e.g. `http://127.0.0.1:8081`.
        url: String,
        /// The client (with its connect timeout); requests set their own total timeout.
        client: reqwest::Client,
    },
    /// A durable consumer of the source's JetStream stream.
    Nats(Box<super::nats::StreamSource>),
}

/// Where a follower starts when it has no stored position to resume from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// From the consumer's stored position ([`Consumer::position`]).
    Stored,
    /// From the feed's current head: only changes made from now on (a cache that only
    /// needs to learn of changes).
    Head,
}

/// How a follower reads.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// This follower's name (`friends` following `users`): the durable consumer's name,
    /// and a label on metrics.
    pub consumer: String,
    /// The source's name (`users`).
    pub source: String,
    /// Only these entity types (all when empty).
    pub entities: Vec<String>,
    /// Events per read.
    pub batch: u32,
    /// How long a read waits for something new (the long poll).
    pub wait: Duration,
    /// Where to start.
    pub start: Start,
    /// First and longest pause between attempts after a failure.
    pub backoff: (Duration, Duration),
}

/// A running follower; cloning is shallow.
#[derive(Debug, Clone)]
pub struct Follower {
    shared: Arc<Shared>,
}

/// What `GET /feeds` and `/metrics` show of a follower.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowerStatus {
    /// The follower's name.
    pub consumer: String,
    /// The feed it follows.
    pub source: String,
    /// `http` or `nats`.
    pub transport: &'static str,
    /// The last position applied.
    pub position: u64,
    /// The source's head at the last read.
    pub head: u64,
    /// Events known to be waiting: `head - position`.
    pub lag_events: u64,
    /// Seconds since the follower was last at the head (0 when it is).
    pub lag_seconds: f64,
    /// Whether the last read reached the source.
    pub connected: bool,
    /// Replays from 0 since start (the source no longer held the stored position).
    pub replays: u64,
}

#[derive(Debug)]
struct Shared {
    options: FollowOptions,
    transport: &'static str,
    applied: watch::Sender<u64>,
    head: AtomicU64,
    connected: AtomicBool,
    replays: AtomicU64,
    /// When the follower was last at the head; `None` before its first read.
    caught_up_at: Mutex<Option<Instant>>,
    started: Instant,
    /// Reads begun so far; each read's number is the count when it began.
    reads: AtomicU64,
    /// The number of the last read after which everything up to the head it saw was
    /// applied.
    current_after: watch::Sender<u64>,
    /// Set by [`Follower::confirm`]: the next read asks without waiting.
    confirm: AtomicBool,
    /// Wakes the loop out of a long poll for [`Follower::confirm`].
    cut_short: tokio::sync::Notify,
}

/// A page, or why there is none.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source no longer holds what follows the position asked for.
    #[error("the source no longer holds what follows position {0}")]
    Gone(u64),
    /// The source could not be read.
    #[error("{0}")]
    Unreachable(String),
}

// === impl FollowOptions ===

impl FollowOptions {
    /// `consumer` following `source`'s whole feed from its stored position, 1000 events a
    /// read, long polls of 10 s, backoff from 100 ms to 5 s.
    pub fn new(consumer: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
            source: source.into(),
            entities: Vec::new(),
            batch: 1000,
            wait: Duration::from_secs(10),
            start: Start::Stored,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    /// Only the events of these entity types.
    #[must_use]
    pub fn entities(mut self, entities: &[&str]) -> Self {
        self.entities = entities.iter().map(|e| (*e).to_owned()).collect();
        self
    }

    /// Starting where `start` says.
    #[must_use]
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }
}

// === impl Source ===

impl Source {
    /// The HTTP feed of the service at `url`.
    pub fn http(url: impl Into<String>, client: reqwest::Client) -> Self {
        Self::Http {
            url: url.into().trim_end_matches('/').to_owned(),
            client,
        }
    }

    fn transport(&self) -> &'static str {
        match self {
            Self::Http { .. } => "http",
            Self::Nats(_) => "nats",
        }
    }

    /// One page after `after`, waiting up to `wait` for one over HTTP (a JetStream fetch
    /// never waits for messages not yet in the stream); `replay_oldest` is the `oldest` of
    /// the first page of a replay from 0 in progress (see [`Page::oldest`]).
    async fn read(
        &mut self,
        after: u64,
        replay_oldest: Option<u64>,
        options: &FollowOptions,
        wait: Duration,
    ) -> Result<Page, SourceError> {
        match self {
            Self::Http { url, client } => {
                read_http(client, url, after, replay_oldest, options, wait).await
            }
            Self::Nats(source) => source.read(after, options).await,
        }
    }

    fn is_http(&self) -> bool {
        matches!(self, Self::Http { .. })
    }
}

async fn read_http(
    client: &reqwest::Client,
    url: &str,
    after: u64,
    replay_oldest: Option<u64>,
    options: &FollowOptions,
    wait: Duration,
) -> Result<Page, SourceError> {
    let timeout = wait + Duration::from_secs(5);
    let wait = humantime::format_duration(wait).to_string();
    let mut query: Vec<(&str, String)> = vec![
        ("after", after.to_string()),
        ("limit", options.batch.to_string()),
        ("wait", wait),
    ];
    if !options.entities.is_empty() {
        query.push(("entities", options.entities.join(",")));
    }
    if let Some(oldest) = replay_oldest.filter(|_| after != 0) {
        query.push(("oldest", oldest.to_string()));
    }
    let response = client
        .get(format!("{url}/changes"))
        .query(&query)
        .timeout(timeout)
        .send()
        .await
        .map_err(|err| SourceError::Unreachable(format!("{url}: {err}")))?;
    let status = response.status();
    if status == reqwest::StatusCode::GONE {
        return Err(SourceError::Gone(after));
    }
    if !status.is_success() {
        return Err(SourceError::Unreachable(format!(
            "{url}/changes answered {status}"
        )));
    }
    response
        .json::<Page>()
        .await
        .map_err(|err| SourceError::Unreachable(format!("{url}/changes: unreadable page: {err}")))
}

// === impl Follower ===

impl Follower {
    /// Starts following `source` with `consumer` until `stop`.
    pub fn spawn<C: Consumer>(
        source: Source,
        consumer: C,
        options: FollowOptions,
        stop: CancellationToken,
    ) -> Self {
        let shared = Arc::new(Shared {
            transport: source.transport(),
            options,
            applied: watch::channel(0).0,
            head: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            replays: AtomicU64::new(0),
            caught_up_at: Mutex::new(None),
            started: Instant::now(),
            reads: AtomicU64::new(0),
            current_after: watch::channel(0).0,
            confirm: AtomicBool::new(false),
            cut_short: tokio::sync::Notify::new(),
        });
        let follower = Self {
            shared: Arc::clone(&shared),
        };
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = run(&shared, source, consumer) => {}
            }
        });
        follower
    }

    /// The follower's options.
    pub fn options(&self) -> &FollowOptions {
        &self.shared.options
    }

    /// The last position applied.
    pub fn applied(&self) -> u64 {
        *self.shared.applied.borrow()
    }

    /// True when the last read reached the source and everything up to its head is applied.
    pub fn is_current(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
            && self.applied() >= self.shared.head.load(Ordering::Acquire)
            && self.caught_up_at().is_some()
    }

    /// Waits until position `seq` is applied, at most `timeout`; true when it is.
    pub async fn wait_for(&self, seq: u64, timeout: Duration) -> bool {
        let mut applied = self.shared.applied.subscribe();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|p| *p >= seq)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Waits until the applied position moves, at most `timeout`; true when it did.
    pub async fn wait_for_progress(&self, timeout: Duration) -> bool {
        let mut applied = self.shared.applied.subscribe();
        applied.borrow_and_update();
        matches!(
            tokio::time::timeout(timeout, applied.changed()).await,
            Ok(Ok(()))
        )
    }

    /// Whether [`confirm`](Self::confirm) can vouch for the source's head: over HTTP, where
    /// a read's answer carries the head at the moment it was answered. (A JetStream
    /// stream's head is what its relay has published, which may trail the source's commits.)
    pub fn confirms(&self) -> bool {
        self.shared.transport == "http"
    }

    /// Waits, at most `timeout`, until a read begun after this call has found the follower
    /// at the source's head with everything up to it applied: then whatever the source had
    /// committed before the call is applied. A long poll in progress is cut short for it, and
    /// that read does not wait. False when no such read succeeded in time (the source is
    /// unreachable, or far ahead), and at once when the follower cannot confirm
    /// ([`confirms`](Self::confirms)).
    pub async fn confirm(&self, timeout: Duration) -> bool {
        if !self.confirms() {
            return false;
        }
        let mut current_after = self.shared.current_after.subscribe();
        let after = self.shared.reads.load(Ordering::Acquire);
        self.shared.confirm.store(true, Ordering::Release);
        self.shared.cut_short.notify_one();
        let confirmed = current_after.wait_for(|read| *read > after);
        matches!(tokio::time::timeout(timeout, confirmed).await, Ok(Ok(_)))
    }

    /// Where the follower stands.
    pub fn status(&self) -> FollowerStatus {
        let position = self.applied();
        let head = self.shared.head.load(Ordering::Acquire).max(position);
        let connected = self.shared.connected.load(Ordering::Acquire);
        let lag_seconds = if connected && position >= head && self.caught_up_at().is_some() {
            0.0
        } else {
            let since = self.caught_up_at().unwrap_or(self.shared.started);
            since.elapsed().as_secs_f64()
        };
        FollowerStatus {
            consumer: self.shared.options.consumer.clone(),
            source: self.shared.options.source.clone(),
            transport: self.shared.transport,
            position,
            head,
            lag_events: head - position,
            lag_seconds,
            connected,
            replays: self.shared.replays.load(Ordering::Relaxed),
        }
    }

    fn caught_up_at(&self) -> Option<Instant> {
        self.shared.caught_up_at()
    }
}

// === impl Shared ===

impl Shared {
    fn caught_up_at(&self) -> Option<Instant> {
        *self
            .caught_up_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn caught_up_now(&self) {
        *self
            .caught_up_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }
}

// === the loop ===

async fn run<C: Consumer>(shared: &Shared, mut source: Source, consumer: C) {
    let options = &shared.options;
    let mut backoff = Backoff::new(options.backoff);
    let mut position = loop {
        let start = match options.start {
            Start::Stored => consumer.position().await,
            Start::Head => head_of(&mut source, options).await,
        };
        match start {
            Ok(position) => break position,
            Err(err) => {
                backoff.failed(options, "cannot find where to start", &err.to_string());
                backoff.wait().await;
            }
        }
    };
    shared.applied.send_replace(position);
    // Set by the first page of a replay from 0, and sent back while it goes on, so that a
    // tombstone that had expired before it began does not stop it halfway (410).
    let mut replay_oldest = None;
    // The consumer is told of its first arrival at the head, and of the first after a reset.
    let mut arrival_due = true;
    loop {
        // A follower at the head stays there while its long poll waits: when the poll
        // brings something new, it was at the head until that moment.
        let was_current = shared.connected.load(Ordering::Acquire)
            && position >= shared.head.load(Ordering::Acquire)
            && shared.caught_up_at().is_some();
        // A confirmation wanted: this read asks without waiting, so that it answers with
        // the head as it is now.
        let read = shared.reads.fetch_add(1, Ordering::AcqRel) + 1;
        let wait = if shared.confirm.swap(false, Ordering::AcqRel) {
            Duration::ZERO
        } else {
            options.wait
        };
        let result = tokio::select! {
            result = source.read(position, replay_oldest, options, wait) => result,
            // Over HTTP a long poll is abandoned whole (nothing is applied until a page is
            // in): the next read asks again from the same position, without waiting (the
            // confirmation that cut this one may have set its flag for a read already done).
            () = shared.cut_short.notified(), if wait > Duration::ZERO && source.is_http() => {
                shared.confirm.store(true, Ordering::Release);
                continue;
            }
        };
        match result {
            Ok(page) => {
                if position == 0 {
                    replay_oldest = Some(page.oldest);
                }
                if was_current {
                    shared.caught_up_now();
                }
                shared.head.store(page.head, Ordering::Release);
                shared.connected.store(true, Ordering::Release);
                if backoff.recovered() {
                    tracing::info!(consumer = %options.consumer, source = %options.source, "feed reachable again");
                }
                if !page.changes.is_empty() || page.next_after != position {
                    if let Err(err) = consumer.apply(&page.changes, page.next_after).await {
                        backoff.failed(options, "cannot apply a batch", &format!("{err:#}"));
                        backoff.wait().await;
                        continue;
                    }
                    position = page.next_after;
                    shared.applied.send_replace(position);
                }
                if position >= page.head {
                    if arrival_due {
                        if let Err(err) = consumer.caught_up().await {
                            backoff.failed(
                                options,
                                "cannot settle at the head",
                                &format!("{err:#}"),
                            );
                            backoff.wait().await;
                            continue;
                        }
                        arrival_due = false;
                    }
                    shared.caught_up_now();
                    shared.current_after.send_replace(read);
                }
            }
            Err(SourceError::Gone(after)) => {
                tracing::warn!(consumer = %options.consumer, source = %options.source, after,
                    "the feed no longer holds this position; rebuilding from 0");
                if let Err(err) = consumer.reset().await {
                    backoff.failed(options, "cannot reset", &format!("{err:#}"));
                    backoff.wait().await;
                    continue;
                }
                shared.replays.fetch_add(1, Ordering::Relaxed);
                arrival_due = true;
                position = 0;
                shared.applied.send_replace(0);
            }
            Err(SourceError::Unreachable(why)) => {
                shared.connected.store(false, Ordering::Release);
                backoff.failed(options, "feed unreachable", &why);
                backoff.wait().await;
            }
        }
    }
}

/// The source's current head, read with a one-event page.
async fn head_of(source: &mut Source, options: &FollowOptions) -> anyhow::Result<u64> {
    let probe = FollowOptions {
        batch: 1,
        wait: Duration::ZERO,
        ..options.clone()
    };
    source
        .read(0, None, &probe, Duration::ZERO)
        .await
        .map(|page| page.head)
        .map_err(|err| anyhow::anyhow!("{err}"))
}

/// Exponential backoff between failed attempts, logging the first failure of a run at
/// `warn` and the repeats at `debug`.
struct Backoff {
    first: Duration,
    longest: Duration,
    next: Duration,
    failing: bool,
}

impl Backoff {
    fn new((first, longest): (Duration, Duration)) -> Self {
        Self {
            first,
            longest,
            next: first,
            failing: false,
        }
    }

    fn failed(&mut self, options: &FollowOptions, what: &str, why: &str) {
        if self.failing {
            tracing::debug!(consumer = %options.consumer, source = %options.source, error = why, "{what}; retrying");
        } else {
            tracing::warn!(consumer = %options.consumer, source = %options.source, error = why,
                "{what}; retrying with backoff while the service keeps serving");
        }
        self.failing = true;
    }

    /// True once, when a success follows failures.
    fn recovered(&mut self) -> bool {
        self.next = self.first;
        std::mem::replace(&mut self.failing, false)
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.longest);
    }
}

#[cfg(test)]
mod tests;
