use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::feed::testing::{TestFeed, serve, test_feed, test_feed_on_postgres};
use crate::feed::{FeedOptions, FollowOptions, Follower, Source};
use crate::test_util::TestServer;

/// A side holding `things` (id, name), replicating entity `thing`.
#[derive(Clone)]
struct Things(Feed);

impl Replica for Things {
    const ENTITIES: &'static [&'static str] = &["thing"];
    const FINAL_DELETES: &'static [&'static str] = &["thing"];

    fn replica_feed(&self) -> &Feed {
        &self.0
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> anyhow::Result<Option<Vec<Change>>> {
        let id: i64 = event.subject.parse()?;
        match event.data_as::<serde_json::Value>()? {
            Some(data) => {
                sqlx::query(
                    "INSERT INTO things (id, name) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                )
                .bind(id)
                .bind(data["name"].as_str().unwrap_or_default().to_owned())
                .execute(&mut *conn)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM things WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(Some(Vec::new()))
    }
}

/// A local write: thing `id` named `name` (deleted for `None`).
async fn write(feed: &Feed, id: i64, name: Option<&str>) {
    let mut tx = feed.begin().await.unwrap();
    let change = match name {
        Some(name) => {
            sqlx::query(
                "INSERT INTO things (id, name) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            )
            .bind(id)
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await
            .unwrap();
            Change::upserted("thing", id, &json!({"id": id, "name": name}))
        }
        None => {
            sqlx::query("DELETE FROM things WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            Change::deleted("thing", id)
        }
    };
    feed.commit(tx, &[change]).await.unwrap();
}

async fn things(feed: &Feed) -> BTreeMap<i64, String> {
    sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM things")
        .fetch_all(feed.db().pool())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

struct Pair {
    left: TestFeed,
    right: TestFeed,
    servers: Vec<TestServer>,
}

async fn pair() -> Pair {
    let left = test_feed("left", FeedOptions::default()).await;
    let right = test_feed("right", FeedOptions::default()).await;
    pair_of(left, right).await
}

async fn pair_of(left: TestFeed, right: TestFeed) -> Pair {
    let servers = vec![serve(&left).await, serve(&right).await];
    Pair {
        left,
        right,
        servers,
    }
}

fn options(consumer: &str, source: &str) -> FollowOptions {
    FollowOptions {
        wait: Duration::from_millis(500),
        backoff: (Duration::from_millis(20), Duration::from_millis(200)),
        ..FollowOptions::new(consumer, source).entities(&["thing"])
    }
}

/// Each side following the other over HTTP.
fn replicate_http(pair: &Pair, stop: &CancellationToken) -> [Follower; 2] {
    let http = |server: &TestServer| Source::http(server.url(""), reqwest::Client::new());
    [
        Follower::spawn(
            http(&pair.servers[1]),
            Replicator::new(Things(pair.left.clone()), "left-from-right"),
            options("left-from-right", "right"),
            stop.clone(),
        ),
        Follower::spawn(
            http(&pair.servers[0]),
            Replicator::new(Things(pair.right.clone()), "right-from-left"),
            options("right-from-left", "left"),
            stop.clone(),
        ),
    ]
}

/// Checks both sides end as `expected`, then that nothing more is written: no event goes
/// round in a loop.
async fn settles(pair: &Pair, expected: &[(i64, &str)]) {
    let expected: BTreeMap<i64, String> = expected
        .iter()
        .map(|(id, n)| (*id, (*n).to_owned()))
        .collect();
    crate::test_util::eventually(
        "both sides to end as expected",
        Duration::from_secs(20),
        || async {
            let (l, r) = (things(&pair.left).await, things(&pair.right).await);
            (l == expected && r == expected).then_some(())
        },
    )
    .await;
    let heads = (pair.left.head(), pair.right.head());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = (pair.left.head(), pair.right.head());
    assert_eq!(
        heads, after,
        "the feeds kept growing: a change is going round"
    );
}

#[tokio::test]
async fn writes_on_either_side_reach_the_other_and_stop_there() {
    both_ways(pair().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_either_side_reach_the_other_on_postgres() {
    let options = FeedOptions::default;
    let (Some(left), Some(right)) = (
        test_feed_on_postgres("left", options()).await,
        test_feed_on_postgres("right", options()).await,
    ) else {
        eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped");
        return;
    };
    both_ways(pair_of(left, right).await).await;
}

/// Writes on both sides of `pair`, each replicating from the other over HTTP.
async fn both_ways(pair: Pair) {
    let stop = CancellationToken::new();
    let _followers = replicate_http(&pair, &stop);
    write(&pair.left, 1, Some("made left")).await;
    write(&pair.right, 2, Some("made right")).await;
    settles(&pair, &[(1, "made left"), (2, "made right")]).await;

    write(&pair.right, 1, Some("renamed right")).await;
    write(&pair.left, 2, None).await;
    settles(&pair, &[(1, "renamed right")]).await;

    // The replicated event keeps where the write was made.
    let mut tx = pair.left.begin().await.unwrap();
    let stamp = pair
        .left
        .stamp(&mut tx, "thing", "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stamp.origin, "right");
    drop(tx);
    let mut tx = pair.right.begin().await.unwrap();
    let stamp = pair
        .right
        .stamp(&mut tx, "thing", "2")
        .await
        .unwrap()
        .unwrap();
    assert!(stamp.deleted && stamp.origin == "left", "{stamp:?}");
    drop(tx);
    stop.cancel();
}

#[tokio::test]
async fn concurrent_writes_of_one_thing_end_the_same_on_both_sides() {
    let pair = pair().await;
    // Both sides change thing 5 and thing 6 before either hears of the other.
    write(&pair.left, 5, Some("left first")).await;
    write(&pair.right, 5, Some("right second")).await;
    write(&pair.left, 6, Some("alive")).await;
    write(&pair.right, 6, Some("alive")).await;
    write(&pair.left, 6, None).await;
    write(&pair.right, 6, Some("updated after the deletion")).await;
    let stop = CancellationToken::new();
    let _followers = replicate_http(&pair, &stop);
    // The later write of 5 wins on both sides; 6 stays deleted on both, although its
    // update came after the deletion.
    settles(&pair, &[(5, "right second")]).await;
    stop.cancel();
}

#[tokio::test]
async fn a_batch_applied_twice_changes_nothing() {
    let pair = pair().await;
    write(&pair.left, 1, Some("one")).await;
    write(&pair.left, 2, Some("two")).await;
    write(&pair.left, 2, None).await;
    let page = pair.left.read(0, 100, &[]).await.unwrap();
    let replicator = Replicator::new(Things(pair.right.clone()), "right-from-left");
    replicator
        .apply(&page.changes, page.next_after)
        .await
        .unwrap();
    let (head, state) = (pair.right.head(), things(&pair.right).await);
    assert_eq!(state, BTreeMap::from([(1, "one".to_owned())]));
    replicator
        .apply(&page.changes, page.next_after)
        .await
        .unwrap();
    assert_eq!(
        pair.right.head(),
        head,
        "a repeated batch recorded events again"
    );
    assert_eq!(things(&pair.right).await, state);
    assert_eq!(replicator.position().await.unwrap(), page.next_after);

    // Its own events coming back are skipped as well.
    let back = pair.right.read(0, 100, &[]).await.unwrap();
    let returning = Replicator::new(Things(pair.left.clone()), "left-from-right");
    let left_head = pair.left.head();
    returning
        .apply(&back.changes, back.next_after)
        .await
        .unwrap();
    assert_eq!(pair.left.head(), left_head);
}

#[tokio::test]
async fn replication_runs_over_jetstream_too() {
    let Some(bus) = crate::test_util::nats_bus().await else {
        eprintln!("TEST_NATS_URL unset: JetStream run skipped");
        return;
    };
    let pair = pair().await;
    let stop = CancellationToken::new();
    crate::feed::nats::spawn_relay(pair.left.clone(), bus.clone(), stop.clone());
    crate::feed::nats::spawn_relay(pair.right.clone(), bus.clone(), stop.clone());
    let nats = |source: &str| Source::Nats(Box::new(bus.source(source)));
    let followers = [
        Follower::spawn(
            nats("right"),
            Replicator::new(Things(pair.left.clone()), "left-from-right"),
            options("left-from-right", "right"),
            stop.clone(),
        ),
        Follower::spawn(
            nats("left"),
            Replicator::new(Things(pair.right.clone()), "right-from-left"),
            options("right-from-left", "left"),
            stop.clone(),
        ),
    ];
    write(&pair.left, 1, Some("over the bus")).await;
    write(&pair.right, 2, Some("and back")).await;
    settles(&pair, &[(1, "over the bus"), (2, "and back")]).await;
    write(&pair.right, 1, None).await;
    settles(&pair, &[(2, "and back")]).await;
    assert!(followers.iter().all(|f| f.status().transport == "nats"));
    stop.cancel();
    let _ = bus.delete_stream("left").await;
    let _ = bus.delete_stream("right").await;
}
