//! The feeds on NATS JetStream, for deployments that outgrow polling one database per
//! consumer.
//!
//! - [`spawn_relay`]: a service relays its committed events, in `seq` order, to the
//!   stream `FEED_<SOURCE>` on subjects `feed.<source>.<entity>.<key>`
//!   (`feed.users.user.42`). Each message's `Nats-Msg-Id` is the event id, so a relay that
//!   restarts and sends again what it sent just before is deduplicated by the server. The
//!   relay's position is stored in the service's database once JetStream acknowledged
//!   every event up to it, when the feed goes quiet and at least twice a second while it
//!   does not. The stream keeps one message per subject, so JetStream compacts
//!   the log exactly as the outbox does, and a consumer replaying it from the start gets
//!   every live entity's latest event and the recent tombstones.
//! - [`StreamSource`]: a follower's source reading a durable pull consumer of such a stream
//!   (one per reader, named after it), acknowledging a batch only once the next read shows
//!   it was applied.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::follow::{FollowOptions, SourceError, Start};
use super::outbox::{Feed, Page};
use super::{Event, SPEC_VERSION};

/// Events a relay sends before awaiting their acknowledgements.
const RELAY_BATCH: u32 = 500;

/// The follower name the relay's position is stored under.
pub const RELAY_CONSUMER: &str = "relay:nats";

/// A JetStream connection.
#[derive(Debug, Clone)]
pub struct Bus {
    url: String,
    jetstream: jetstream::Context,
    /// Prefixes every stream and subject, for several deployments on one server.
    namespace: Option<String>,
}

/// A follower's source on JetStream: a durable pull consumer of one feed's stream.
#[derive(Debug)]
pub struct StreamSource {
    bus: Bus,
    source: String,
    consumer: Option<consumer::PullConsumer>,
    /// The last batch handed out, acknowledged once a later read shows it was applied.
    unacked: Option<Batch>,
}

#[derive(Debug)]
struct Batch {
    messages: Vec<jetstream::Message>,
    page: Page,
}

// === impl Bus ===

impl Bus {
    /// Connects to the NATS server at `url` (`nats://HOST:PORT`).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to NATS at {url}"))?;
        Ok(Self {
            url: url.to_owned(),
            jetstream: jetstream::new(client),
            namespace: None,
        })
    }

    /// The same connection with every stream and subject in `namespace`: streams
    /// `FEED_<NAMESPACE>_<SOURCE>` on subjects `<namespace>.feed.<source>.…`, so several
    /// deployments (or test runs) share one server without reading each other's feeds.
    /// `namespace` is ASCII letters, digits, `-` and `_`; other characters become `_`.
    #[must_use]
    pub fn namespaced(mut self, namespace: &str) -> Self {
        self.namespace = Some(clean(namespace));
        self
    }

    /// The name of `source`'s stream on this bus.
    pub fn stream_name(&self, source: &str) -> String {
        match &self.namespace {
            None => stream_name(source),
            Some(ns) => stream_name(&format!("{ns}_{source}")),
        }
    }

    /// The subject of `event` of `source`'s feed on this bus.
    pub fn subject(&self, source: &str, event: &Event) -> String {
        match &self.namespace {
            None => subject(source, event),
            Some(ns) => format!("{ns}.{}", subject(source, event)),
        }
    }

    /// Every subject of `source`'s feed on this bus, or of its `entity` events only.
    fn filter(&self, source: &str, entity: Option<&str>) -> String {
        let prefix = match &self.namespace {
            None => format!("feed.{source}"),
            Some(ns) => format!("{ns}.feed.{source}"),
        };
        match entity {
            None => format!("{prefix}.>"),
            Some(entity) => format!("{prefix}.{entity}.>"),
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The stream of `source`'s feed, created when missing.
    pub async fn stream(&self, source: &str) -> anyhow::Result<stream::Stream> {
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: self.stream_name(source),
                subjects: vec![self.filter(source, None)],
                // One message per entity: JetStream's own compaction, like the outbox's.
                max_messages_per_subject: 1,
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|err| anyhow::anyhow!("cannot create the JetStream stream of {source}: {err}"))
    }

    /// Deletes `source`'s stream (and its consumers); for tests and teardown.
    pub async fn delete_stream(&self, source: &str) -> anyhow::Result<()> {
        self.jetstream
            .delete_stream(self.stream_name(source))
            .await
            .map(drop)
            .map_err(|err| anyhow::anyhow!("cannot delete the JetStream stream of {source}: {err}"))
    }

    /// A source reading `source`'s stream.
    pub fn source(&self, source: &str) -> StreamSource {
        StreamSource {
            bus: self.clone(),
            source: source.to_owned(),
            consumer: None,
            unacked: None,
        }
    }
}

/// `FEED_USERS` for `users`.
pub fn stream_name(source: &str) -> String {
    format!("FEED_{}", source.to_ascii_uppercase().replace('-', "_"))
}

/// The subject of an event: `feed.<source>.<entity>.<key>`, the key's characters that
/// subjects cannot hold replaced by `_` (keys are ids and `LOW-HIGH` pairs).
pub fn subject(source: &str, event: &Event) -> String {
    let key: String = event
        .subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("feed.{source}.{}.{key}", event.entity())
}

// === the relay ===

/// Relays `feed`'s committed events to its stream on `bus` until `stop`, resuming after the
/// last position JetStream acknowledged.
pub fn spawn_relay(feed: Feed, bus: Bus, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        loop {
            let mut progressed = false;
            let Err(err) = tokio::select! {
                () = stop.cancelled() => return,
                result = relay(&feed, &bus, &mut progressed) => result,
            };
            if progressed {
                pause = Duration::from_millis(100);
            }
            tracing::warn!(source = %feed.source(), bus = %bus.url, error = %format!("{err:#}"),
                "cannot relay the feed to JetStream; retrying");
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    })
}

/// How long the relay waits for new events when everything it sent is stored as sent.
const RELAY_WAIT: Duration = Duration::from_secs(10);

/// How long the relay waits for new events before storing what it sent, when it has sent
/// more than it stored.
const RELAY_SETTLE: Duration = Duration::from_millis(50);

/// The longest the relay goes without storing its position while events keep coming.
const RELAY_SAVE_EVERY: Duration = Duration::from_millis(500);

/// Sends the feed's events from the stored position on, batch by batch (waiting for some
/// when there are none): each batch published, every acknowledgement awaited, before the
/// next is read. The position is stored when the feed goes quiet and at least every
/// [`RELAY_SAVE_EVERY`] while it does not, not once per batch: a relay that restarts sends
/// again what it sent since, and JetStream drops those repeats by their `Nats-Msg-Id`
/// (its duplicate window is far longer). Returns only on an error.
async fn relay(
    feed: &Feed,
    bus: &Bus,
    progressed: &mut bool,
) -> anyhow::Result<std::convert::Infallible> {
    bus.stream(feed.source()).await?;
    let mut saved = feed.position(RELAY_CONSUMER).await?;
    let mut sent = saved;
    let mut saved_at = tokio::time::Instant::now();
    loop {
        let wait = if sent == saved {
            RELAY_WAIT
        } else {
            RELAY_SETTLE
        };
        let page = match feed.read_waiting(sent, RELAY_BATCH, &[], wait).await {
            Ok(page) => page,
            // Tombstones the relay never sent expired: what is left is the current state,
            // which the stream gets again from the start (duplicates of live entities only
            // replace their own subject's message).
            Err(super::ReadError::Gone { .. }) => {
                let mut conn = feed.db().pool().acquire().await?;
                feed.save_position(&mut conn, RELAY_CONSUMER, 0).await?;
                (sent, saved) = (0, 0);
                continue;
            }
            Err(super::ReadError::Store(err)) => return Err(err.into()),
        };
        publish(feed, bus, &page).await?;
        *progressed = true;
        sent = page.next_after;
        if sent != saved && (page.changes.is_empty() || saved_at.elapsed() >= RELAY_SAVE_EVERY) {
            let mut conn = feed.db().pool().acquire().await?;
            feed.save_position(&mut conn, RELAY_CONSUMER, sent).await?;
            saved = sent;
            saved_at = tokio::time::Instant::now();
        }
    }
}

/// Publishes `page`'s events in order and awaits every acknowledgement.
async fn publish(feed: &Feed, bus: &Bus, page: &Page) -> anyhow::Result<()> {
    let mut acks = Vec::with_capacity(page.changes.len());
    for event in &page.changes {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.as_str());
        let payload = Bytes::from(serde_json::to_vec(event)?);
        let ack = bus
            .jetstream
            .publish_with_headers(bus.subject(feed.source(), event), headers, payload)
            .await
            .map_err(|err| anyhow::anyhow!("publish: {err}"))?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await
            .map_err(|err| anyhow::anyhow!("publish ack: {err}"))?;
    }
    Ok(())
}

// === impl StreamSource ===

impl StreamSource {
    /// One batch after `after`: acknowledges the previous batch when `after` shows it was
    /// applied, hands it out again when not.
    pub(super) async fn read(
        &mut self,
        after: u64,
        options: &FollowOptions,
    ) -> Result<Page, SourceError> {
        if let Some(batch) = self.unacked.take() {
            if after < batch.page.next_after {
                // The consumer failed to apply it: the same events again.
                let page = batch.page.clone();
                self.unacked = Some(batch);
                return Ok(page);
            }
            if let Some(last) = batch.messages.last() {
                // AckPolicy::All: the last message acknowledges the batch.
                last.ack()
                    .await
                    .map_err(|err| SourceError::Unreachable(format!("ack: {err}")))?;
            }
        }
        let consumer = self.consumer(after, options).await?;
        let mut messages = consumer
            .fetch()
            .max_messages(options.batch as usize)
            .expires(options.wait.max(Duration::from_millis(100)))
            .messages()
            .await
            .map_err(|err| SourceError::Unreachable(format!("fetch: {err}")))?;
        let mut batch = Batch {
            messages: Vec::new(),
            page: Page {
                changes: Vec::new(),
                next_after: after,
                head: after,
                // JetStream compacts by itself; a stream's consumer never needs a replay token.
                oldest: 0,
            },
        };
        let mut pending = 0;
        while let Some(message) = messages.next().await {
            let message =
                message.map_err(|err| SourceError::Unreachable(format!("fetch: {err}")))?;
            if let Ok(info) = message.info() {
                pending = info.pending;
            }
            match serde_json::from_slice::<Event>(&message.payload) {
                Ok(event) if event.specversion == SPEC_VERSION => {
                    batch.page.next_after = batch.page.next_after.max(event.seq);
                    // A redelivery of what was applied already is acknowledged, not applied.
                    if event.seq > after {
                        batch.page.changes.push(event);
                    }
                }
                _ => {
                    tracing::warn!(source = %self.source, subject = %message.subject,
                        "skipping a message that is not a feed event");
                }
            }
            batch.messages.push(message);
        }
        batch.page.head = batch.page.next_after + pending;
        let page = batch.page.clone();
        if !batch.messages.is_empty() {
            self.unacked = Some(batch);
        }
        Ok(page)
    }

    /// The durable consumer, created on first use: from the start of the stream for a
    /// follower with no position, at the end for one that starts at the head.
    async fn consumer(
        &mut self,
        after: u64,
        options: &FollowOptions,
    ) -> Result<&consumer::PullConsumer, SourceError> {
        if self.consumer.is_none() {
            let unreachable = |err: String| SourceError::Unreachable(err);
            let stream = self
                .bus
                .stream(&self.source)
                .await
                .map_err(|err| unreachable(format!("{err:#}")))?;
            let filter_subject = match options.entities.as_slice() {
                [] => String::new(),
                [entity] => self.bus.filter(&self.source, Some(entity)),
                _ => {
                    return Err(unreachable(
                        "a JetStream follower takes at most one entity type".to_owned(),
                    ));
                }
            };
            let deliver_policy = match options.start {
                Start::Head => consumer::DeliverPolicy::New,
                Start::Stored => consumer::DeliverPolicy::All,
            };
            let name = durable_name(&options.consumer, &self.source);
            if after == 0 && options.start == Start::Stored {
                // Nothing applied yet (a new reader, or one rebuilding): start over.
                let _absent = stream.delete_consumer(&name).await;
            }
            let created = stream
                .get_or_create_consumer(
                    &name,
                    consumer::pull::Config {
                        durable_name: Some(name.clone()),
                        filter_subject,
                        deliver_policy,
                        ack_policy: consumer::AckPolicy::All,
                        ack_wait: Duration::from_secs(60),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|err| unreachable(format!("consumer {name}: {err}")))?;
            self.consumer = Some(created);
        }
        self.consumer
            .as_ref()
            .ok_or_else(|| SourceError::Unreachable("no consumer".to_owned()))
    }
}

/// The durable consumer's name: `friends-from-users`.
fn durable_name(consumer: &str, source: &str) -> String {
    format!("{}-from-{}", clean(consumer), clean(source))
}

/// `s` with every character but ASCII letters, digits, `-` and `_` replaced by `_`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{Change, Consumer, FeedOptions, FollowOptions, Follower, Source};
    use std::sync::{Arc, Mutex};

    /// A source name no other run uses: streams outlive a test on the server.
    fn unique_source() -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        format!(
            "t{}x{}x{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<(Vec<String>, u64)>>);

    impl Consumer for Collect {
        async fn position(&self) -> anyhow::Result<u64> {
            Ok(self.0.lock().unwrap().1)
        }
        async fn apply(&self, events: &[Event], next_after: u64) -> anyhow::Result<()> {
            let mut state = self.0.lock().unwrap();
            state
                .0
                .extend(events.iter().map(|e| format!("{}:{}", e.kind, e.subject)));
            state.1 = next_after;
            Ok(())
        }
        async fn reset(&self) -> anyhow::Result<()> {
            *self.0.lock().unwrap() = Default::default();
            Ok(())
        }
    }

    #[tokio::test]
    async fn relayed_events_reach_a_durable_consumer_once_each() {
        let Ok(url) = std::env::var("TEST_NATS_URL") else {
            eprintln!("TEST_NATS_URL unset: JetStream run skipped");
            return;
        };
        static THINGS: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/sqlite");
        let db = crate::store::Db::connect(
            "sqlite::memory:",
            crate::store::Migrations {
                sqlite: &THINGS,
                postgres: &THINGS,
            },
        )
        .await
        .unwrap();
        let source = unique_source();
        let feed = Feed::open(db, &source, FeedOptions::default())
            .await
            .unwrap();
        let write = |changes: Vec<Change>| {
            let feed = feed.clone();
            async move {
                let tx = feed.begin().await.unwrap();
                feed.commit(tx, &changes).await.unwrap().unwrap().seq
            }
        };
        let thing = |id: u64| Change::upserted("thing", id, &serde_json::json!({"id": id}));
        write(vec![thing(1), thing(2)]).await;
        write(vec![thing(1)]).await;

        let bus = Bus::connect(&url).await.unwrap();
        let stop = CancellationToken::new();
        spawn_relay(feed.clone(), bus.clone(), stop.clone());
        // A relay restarted over the same position sends again; the server drops repeats.
        spawn_relay(feed.clone(), bus.clone(), stop.clone());

        let consumer = Collect::default();
        let options = FollowOptions {
            wait: Duration::from_millis(500),
            ..FollowOptions::new("reader", source.clone())
        };
        let follower = Follower::spawn(
            Source::Nats(Box::new(bus.source(&source))),
            consumer.clone(),
            options,
            stop.clone(),
        );
        assert!(follower.wait_for(3, Duration::from_secs(20)).await);
        let deleted = write(vec![Change::deleted("thing", 2)]).await;
        assert!(follower.wait_for(deleted, Duration::from_secs(20)).await);
        let seen = consumer.0.lock().unwrap().0.clone();
        // Compacted like the outbox: thing 1 once (its latest), thing 2 then its deletion.
        assert_eq!(
            seen,
            ["thing.upserted:2", "thing.upserted:1", "thing.deleted:2"]
        );
        assert_eq!(follower.status().transport, "nats");
        // Quiet now: the relay stores how far it sent, so a restart resumes from there.
        crate::test_util::eventually(
            "the relay's position stored",
            Duration::from_secs(10),
            || async { (feed.position(RELAY_CONSUMER).await.unwrap() == deleted).then_some(()) },
        )
        .await;
        stop.cancel();
        let _ = bus.jetstream.delete_stream(stream_name(&source)).await;
    }

    #[tokio::test]
    async fn a_namespace_prefixes_streams_and_subjects() {
        let Ok(url) = std::env::var("TEST_NATS_URL") else {
            eprintln!("TEST_NATS_URL unset: JetStream run skipped");
            return;
        };
        let bus = Bus::connect(&url).await.unwrap().namespaced("stage.1");
        assert_eq!(bus.stream_name("users"), "FEED_STAGE_1_USERS");
        assert_eq!(
            bus.filter("users", Some("user")),
            "stage_1.feed.users.user.>"
        );
    }

    #[test]
    fn names_are_valid_for_jetstream() {
        assert_eq!(stream_name("users"), "FEED_USERS");
        assert_eq!(
            durable_name("timeline view", "users"),
            "timeline_view-from-users"
        );
    }
}
