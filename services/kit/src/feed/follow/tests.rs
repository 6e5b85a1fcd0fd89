use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::feed::testing::{TestFeed, router, serve, test_feed};
use crate::feed::{Change, Feed, FeedOptions};
use crate::test_util::TestServer;

/// A consumer that keeps what it was given in memory.
#[derive(Debug, Clone, Default)]
struct Recorder {
    state: Arc<Mutex<Recorded>>,
    /// Batches to refuse before accepting again.
    refuse: Arc<AtomicU32>,
}

#[derive(Debug, Default)]
struct Recorded {
    subjects: Vec<String>,
    position: u64,
    resets: u32,
}

impl Consumer for Recorder {
    async fn position(&self) -> anyhow::Result<u64> {
        Ok(self.state.lock().unwrap().position)
    }

    async fn apply(&self, events: &[Event], next_after: u64) -> anyhow::Result<()> {
        if self
            .refuse
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
            anyhow::bail!("refused on purpose");
        }
        let mut state = self.state.lock().unwrap();
        state
            .subjects
            .extend(events.iter().map(|e| format!("{}:{}", e.kind, e.subject)));
        state.position = next_after;
        Ok(())
    }

    async fn reset(&self) -> anyhow::Result<()> {
        let mut state = self.state.lock().unwrap();
        state.subjects.clear();
        state.position = 0;
        state.resets += 1;
        Ok(())
    }
}

impl Recorder {
    fn subjects(&self) -> Vec<String> {
        self.state.lock().unwrap().subjects.clone()
    }
}

async fn feed(options: FeedOptions) -> TestFeed {
    test_feed("things", options).await
}

async fn write(feed: &Feed, changes: &[Change]) -> u64 {
    let tx = feed.begin().await.unwrap();
    feed.commit(tx, changes).await.unwrap().map_or(0, |p| p.seq)
}

fn thing(id: u64) -> Change {
    Change::upserted("thing", id, &json!({"id": id}))
}

fn options() -> FollowOptions {
    FollowOptions {
        wait: Duration::from_secs(5),
        backoff: (Duration::from_millis(20), Duration::from_millis(200)),
        ..FollowOptions::new("test", "things")
    }
}

fn follow(server: &TestServer, consumer: &Recorder, stop: &CancellationToken) -> Follower {
    let source = Source::http(server.url(""), reqwest::Client::new());
    Follower::spawn(source, consumer.clone(), options(), stop.clone())
}

#[tokio::test]
async fn follows_the_feed_and_resumes_from_the_stored_position() {
    let feed = feed(FeedOptions::default()).await;
    let server = serve(&feed).await;
    write(&feed, &[thing(1), thing(2)]).await;
    let consumer = Recorder::default();
    let stop = CancellationToken::new();
    let follower = follow(&server, &consumer, &stop);
    assert!(follower.wait_for(2, Duration::from_secs(10)).await);
    // Something new reaches it through the long poll.
    let third = write(&feed, &[Change::deleted("thing", 1)]).await;
    assert!(follower.wait_for(third, Duration::from_secs(10)).await);
    assert_eq!(
        consumer.subjects(),
        ["thing.upserted:1", "thing.upserted:2", "thing.deleted:1"]
    );
    let status = follower.status();
    assert_eq!((status.position, status.head, status.lag_events), (3, 3, 0));
    assert!(status.connected && follower.is_current());
    stop.cancel();

    // A new follower starts where the consumer's stored position says, not from 0.
    let fourth = write(&feed, &[thing(4)]).await;
    let stop = CancellationToken::new();
    let follower = follow(&server, &consumer, &stop);
    assert!(follower.wait_for(fourth, Duration::from_secs(10)).await);
    assert_eq!(consumer.subjects().len(), 4);
    assert_eq!(consumer.subjects()[3], "thing.upserted:4");
}

#[tokio::test]
async fn a_refused_batch_is_retried_not_skipped() {
    let feed = feed(FeedOptions::default()).await;
    let server = serve(&feed).await;
    write(&feed, &[thing(1)]).await;
    let consumer = Recorder::default();
    consumer.refuse.store(2, Ordering::Release);
    let stop = CancellationToken::new();
    let follower = follow(&server, &consumer, &stop);
    assert!(follower.wait_for(1, Duration::from_secs(10)).await);
    assert_eq!(consumer.subjects(), ["thing.upserted:1"]);
}

#[tokio::test]
async fn a_position_the_feed_no_longer_holds_makes_the_consumer_rebuild() {
    let feed = feed(FeedOptions {
        tombstone_retention: Duration::ZERO,
        ..FeedOptions::default()
    })
    .await;
    let server = serve(&feed).await;
    write(&feed, &[thing(1), thing(2)]).await;
    let consumer = Recorder::default();
    consumer.state.lock().unwrap().position = 1;
    write(&feed, &[Change::deleted("thing", 1)]).await;
    feed.expire_tombstones().await.unwrap();
    let stop = CancellationToken::new();
    let follower = follow(&server, &consumer, &stop);
    assert!(follower.wait_for(3, Duration::from_secs(10)).await);
    // Rebuilt from 0: the live entity only, the expired deletion gone with thing 1.
    assert_eq!(consumer.subjects(), ["thing.upserted:2"]);
    assert_eq!(consumer.state.lock().unwrap().resets, 1);
    assert_eq!(follower.status().replays, 1);
}

#[tokio::test]
async fn an_unreachable_feed_is_retried_and_shown_until_it_answers() {
    // A port nobody listens on until the feed is started there.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let consumer = Recorder::default();
    let stop = CancellationToken::new();
    let source = Source::http(format!("http://{addr}"), reqwest::Client::new());
    let follower = Follower::spawn(source, consumer.clone(), options(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = follower.status();
    assert!(!status.connected);
    assert!(status.lag_seconds > 0.0, "{status:?}");
    assert!(!follower.is_current());

    let feed = feed(FeedOptions::default()).await;
    write(&feed, &[thing(9)]).await;
    let listener = crate::server::bind(addr).await.unwrap();
    let router = router(&feed);
    let served = CancellationToken::new();
    tokio::spawn(crate::server::serve(
        listener,
        router,
        served.clone().cancelled_owned(),
    ));
    assert!(follower.wait_for(1, Duration::from_secs(10)).await);
    assert_eq!(consumer.subjects(), ["thing.upserted:9"]);
    assert!(follower.status().connected);
    served.cancel();
}

#[tokio::test]
async fn a_follower_from_the_head_sees_only_what_comes_next() {
    let feed = feed(FeedOptions::default()).await;
    let server = serve(&feed).await;
    write(&feed, &[thing(1), thing(2)]).await;
    let consumer = Recorder::default();
    let stop = CancellationToken::new();
    let source = Source::http(server.url(""), reqwest::Client::new());
    let follower = Follower::spawn(
        source,
        consumer.clone(),
        options().start(Start::Head),
        stop.clone(),
    );
    assert!(follower.wait_for(2, Duration::from_secs(10)).await);
    let next = write(&feed, &[thing(3)]).await;
    assert!(follower.wait_for(next, Duration::from_secs(10)).await);
    assert_eq!(consumer.subjects(), ["thing.upserted:3"]);
}

/// A consumer that holds every batch until released, counting the batches it was given.
#[derive(Debug, Clone)]
struct Holding {
    batches: Arc<tokio::sync::watch::Sender<u32>>,
    release: Arc<tokio::sync::Semaphore>,
    position: Arc<Mutex<u64>>,
}

impl Consumer for Holding {
    async fn position(&self) -> anyhow::Result<u64> {
        Ok(*self.position.lock().unwrap())
    }

    async fn apply(&self, _events: &[Event], next_after: u64) -> anyhow::Result<()> {
        self.batches.send_modify(|n| *n += 1);
        self.release.acquire().await?.forget();
        *self.position.lock().unwrap() = next_after;
        Ok(())
    }

    async fn reset(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_follower_idle_at_the_head_lags_only_from_when_something_new_arrives() {
    let feed = feed(FeedOptions::default()).await;
    let server = serve(&feed).await;
    write(&feed, &[thing(1)]).await;
    let consumer = Holding {
        batches: Arc::new(tokio::sync::watch::channel(0).0),
        release: Arc::new(tokio::sync::Semaphore::new(1)),
        position: Arc::default(),
    };
    let stop = CancellationToken::new();
    let source = Source::http(server.url(""), reqwest::Client::new());
    let follower = Follower::spawn(source, consumer.clone(), options(), stop.clone());
    assert!(follower.wait_for(1, Duration::from_secs(10)).await);
    // At the head, waiting in its long poll, for a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = Instant::now();
    write(&feed, &[thing(2)]).await;
    let mut batches = consumer.batches.subscribe();
    batches.wait_for(|n| *n >= 2).await.unwrap();
    // Applying the new batch: behind the head, but only since the batch arrived.
    let status = follower.status();
    assert_eq!((status.position, status.head), (1, 2));
    assert!(
        status.lag_seconds <= written.elapsed().as_secs_f64(),
        "lag counted from before the write: {status:?}"
    );
    consumer.release.add_permits(1);
    assert!(follower.wait_for(2, Duration::from_secs(10)).await);
    stop.cancel();
}

#[tokio::test]
async fn a_replay_from_0_goes_on_past_a_tombstone_that_expired_before_it_began() {
    let feed = feed(FeedOptions {
        tombstone_retention: Duration::ZERO,
        ..FeedOptions::default()
    })
    .await;
    let server = serve(&feed).await;
    let things: Vec<Change> = (1..=30).map(thing).collect();
    write(&feed, &things).await;
    let head = write(&feed, &[Change::deleted("thing", 29)]).await;
    assert_eq!(feed.expire_tombstones().await.unwrap(), 1);
    // The feed's oldest position is now its head: every page after the first lies below it.
    let consumer = Recorder::default();
    let stop = CancellationToken::new();
    let source = Source::http(server.url(""), reqwest::Client::new());
    let options = FollowOptions {
        batch: 10,
        ..options()
    };
    let follower = Follower::spawn(source, consumer.clone(), options, stop.clone());
    assert!(follower.wait_for(head, Duration::from_secs(10)).await);
    assert_eq!(consumer.subjects().len(), 29, "every live thing, once");
    assert_eq!(follower.status().replays, 0, "no 410 on the way");
    stop.cancel();
}
