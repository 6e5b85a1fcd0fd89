use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use sqlx::migrate::Migrator;

use super::*;
use crate::store::Migrations;

static THINGS: Migrator = sqlx::migrate!("tests/migrations/sqlite");

const MIGRATIONS: Migrations = Migrations {
    sqlite: &THINGS,
    postgres: &THINGS,
};

/// A feed in a database of its own: a SQLite file (several connections, like a service's)
/// or, for `postgres`, a fresh PostgreSQL database when `TEST_POSTGRES_URL` is set.
async fn feed_in(url: &str, options: FeedOptions) -> Feed {
    let db = Db::connect(url, MIGRATIONS).await.unwrap();
    Feed::open(db, "things", options).await.unwrap()
}

fn sqlite_file() -> (tempfile_dir::Dir, String) {
    let dir = tempfile_dir::Dir::new();
    let url = format!("sqlite://{}/feed.db", dir.path());
    (dir, url)
}

/// A directory under the system's temporary directory, removed on drop.
mod tempfile_dir {
    use std::sync::atomic::{AtomicU32, Ordering};

    pub(super) struct Dir(std::path::PathBuf);

    impl Dir {
        pub(super) fn new() -> Self {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "kit-feed-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub(super) fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn write(feed: &Feed, changes: &[Change]) -> Option<Position> {
    let tx = feed.begin().await.unwrap();
    feed.commit(tx, changes).await.unwrap()
}

fn thing(id: u64, name: &str) -> Change {
    Change::upserted("thing", id, &json!({"id": id, "name": name}))
}

async fn compaction_keeps_the_latest_event_of_each_entity(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    assert_eq!(feed.head(), 0);
    let first = write(&feed, &[thing(1, "a"), thing(2, "b")]).await.unwrap();
    assert_eq!(first, Position::new("things", 2));
    write(&feed, &[thing(1, "a2")]).await;
    write(&feed, &[Change::deleted("thing", 2)]).await;
    assert_eq!(write(&feed, &[]).await, None);

    let page = feed.read(0, 100, &[]).await.unwrap();
    assert_eq!(page.head, 4);
    assert_eq!(page.next_after, 4);
    let seen: Vec<(u64, &str, &str)> = page
        .changes
        .iter()
        .map(|e| (e.seq, e.kind.as_str(), e.subject.as_str()))
        .collect();
    // Replaying from 0 yields the current state: thing 1 as renamed, thing 2's tombstone.
    assert_eq!(
        seen,
        [(3, "thing.upserted", "1"), (4, "thing.deleted", "2")]
    );
    let one: serde_json::Value = page.changes[0].data_as().unwrap().unwrap();
    assert_eq!(one["name"], "a2");
    assert!(page.changes[1].data.is_none());
    assert_eq!(page.changes[0].source, "things");
    assert_eq!(page.changes[0].origin, "things");
    assert_eq!(feed.size().await.unwrap(), 2);

    // Versions increase per entity, and ids are distinct.
    let again = write(&feed, &[thing(1, "a3")]).await.unwrap();
    let latest = feed.read(again.seq - 1, 10, &[]).await.unwrap();
    assert!(latest.changes[0].version > page.changes[0].version);
    assert_ne!(latest.changes[0].id, page.changes[0].id);
}

async fn a_bulk_load_yields_what_record_would(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    let mut tx = feed.begin().await.unwrap();
    let demo: Vec<Change> = (1..=1000)
        .map(|i| thing(i, "demo").replicated("demo", 1_000 + i64::try_from(i).unwrap()))
        .collect();
    let loaded = feed.load(&mut tx, &demo).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(loaded, Some(Position::new("things", 1000)));
    let page = feed.read(0, 2000, &[]).await.unwrap();
    assert_eq!(page.changes.len(), 1000);
    assert_eq!(page.changes[9].subject, "10");
    assert_eq!(page.changes[9].origin, "demo");
    assert_eq!(page.changes[9].version, 1_010);

    // Once the feed holds events of the entity, a load compacts like a record: thing 1's
    // demo event is superseded, not kept beside its new one.
    let mut tx = feed.begin().await.unwrap();
    feed.load(&mut tx, &[thing(1, "renamed")]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(feed.size().await.unwrap(), 1000);
    let last = feed.read(1000, 10, &[]).await.unwrap();
    let one: serde_json::Value = last.changes[0].data_as().unwrap().unwrap();
    assert_eq!(
        (last.changes[0].subject.as_str(), one["name"].as_str()),
        ("1", Some("renamed"))
    );
    assert!(last.changes[0].version > 1_001);
}

async fn pages_continue_where_the_last_ended(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    let changes: Vec<Change> = (1..=25).map(|i| thing(i, "x")).collect();
    write(&feed, &changes).await;
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = feed.read(after, 10, &[]).await.unwrap();
        seen.extend(page.changes.iter().map(|e| e.seq));
        if page.next_after == after {
            break;
        }
        after = page.next_after;
    }
    assert_eq!(seen, (1..=25).collect::<Vec<u64>>());
    // An entity filter skips the rest but still advances to the head.
    write(&feed, &[Change::deleted("other", 9)]).await;
    let page = feed.read(25, 10, &["thing".to_owned()]).await.unwrap();
    assert!(page.changes.is_empty());
    assert_eq!(page.next_after, 26);
}

async fn expired_tombstones_move_the_oldest_position(url: &str) {
    let options = FeedOptions {
        tombstone_retention: Duration::ZERO,
        ..FeedOptions::default()
    };
    let feed = feed_in(url, options).await;
    write(&feed, &[thing(1, "a"), thing(2, "b")]).await;
    write(&feed, &[Change::deleted("thing", 1)]).await;
    assert_eq!(feed.expire_tombstones().await.unwrap(), 1);
    // A reader at 1 may have missed the deletion: it must replay.
    match feed.read(1, 10, &[]).await {
        Err(ReadError::Gone {
            after: 1,
            oldest: 3,
        }) => {}
        other => panic!("expected Gone, got {other:?}"),
    }
    // From 0 or from the oldest position, reading works; the live entity is still there.
    let page = feed.read(0, 10, &[]).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].subject, "2");
    assert!(feed.read(3, 10, &[]).await.unwrap().changes.is_empty());
    // A position the feed never handed out is refused too.
    assert!(matches!(
        feed.read(99, 10, &[]).await,
        Err(ReadError::Gone { .. })
    ));
    // A replay from 0 that began after the expiry goes on below the oldest position; one
    // that began before it (it saw an older `oldest`) may have missed the deletion.
    assert_eq!(page.oldest, 3);
    assert!(feed.read_replaying(1, Some(3), 10, &[]).await.is_ok());
    write(&feed, &[thing(4, "d")]).await;
    write(&feed, &[Change::deleted("thing", 4)]).await;
    assert_eq!(feed.expire_tombstones().await.unwrap(), 1);
    assert!(matches!(
        feed.read_replaying(1, Some(3), 10, &[]).await,
        Err(ReadError::Gone { oldest: 5, .. })
    ));
}

async fn a_long_poll_answers_when_something_commits(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    write(&feed, &[thing(1, "a")]).await;
    let reader = feed.clone();
    let waiting = tokio::spawn(async move {
        reader
            .read_waiting(1, 10, &[], Duration::from_secs(20))
            .await
            .unwrap()
    });
    tokio::task::yield_now().await;
    write(&feed, &[thing(2, "b")]).await;
    let page = waiting.await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].subject, "2");
}

async fn replicated_changes_keep_their_origin_and_version(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    let version = 9_000_000_000_000_000;
    write(&feed, &[thing(1, "a").replicated("monolith", version)]).await;
    let mut conn = feed.db().pool().acquire().await.unwrap();
    let stamp = feed.stamp(&mut conn, "thing", "1").await.unwrap().unwrap();
    assert_eq!(
        stamp,
        Stamp {
            version,
            origin: "monolith".into(),
            deleted: false
        }
    );
    drop(conn);
    // A local write after it is newer: the clock observed the replicated version.
    write(&feed, &[Change::deleted("thing", 1)]).await;
    let mut conn = feed.db().pool().acquire().await.unwrap();
    let stamp = feed.stamp(&mut conn, "thing", "1").await.unwrap().unwrap();
    assert!(stamp.version > version && stamp.deleted);
    assert_eq!(stamp.origin, "things");
    assert!(feed.stamp(&mut conn, "thing", "7").await.unwrap().is_none());
}

/// An own change replacing an event whose version is ahead of this process's clock (written
/// by another process on the same database) still takes a newer version.
async fn an_own_change_passes_a_version_ahead_of_its_clock(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    write(&feed, &[thing(3, "a")]).await;
    let ahead = 8_000_000_000_000_000_i64;
    sqlx::query("UPDATE feed_events SET version = $1 WHERE subject = '3'")
        .bind(ahead)
        .execute(feed.db().pool())
        .await
        .unwrap();
    write(&feed, &[thing(3, "b"), thing(4, "c")]).await;
    let mut conn = feed.db().pool().acquire().await.unwrap();
    let replaced = feed.stamp(&mut conn, "thing", "3").await.unwrap().unwrap();
    assert_eq!(replaced.version, ahead + 1);
    // The other entity of the same write keeps its clock's version.
    let fresh = feed.stamp(&mut conn, "thing", "4").await.unwrap().unwrap();
    assert!(fresh.version < ahead, "{fresh:?}");
    assert_eq!(feed.size().await.unwrap(), 2);
}

async fn positions_are_stored_per_consumer(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    assert_eq!(feed.position("friends").await.unwrap(), 0);
    let mut tx = feed.begin().await.unwrap();
    feed.save_position(&mut tx, "friends", 41).await.unwrap();
    feed.save_position(&mut tx, "friends", 42).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = feed.begin().await.unwrap();
    feed.save_position(&mut tx, "messages", 7).await.unwrap();
    // Rolled back: the position goes with the effect it was stored with.
    tx.rollback().await.unwrap();
    assert_eq!(feed.position("friends").await.unwrap(), 42);
    assert_eq!(feed.position("messages").await.unwrap(), 0);
}

/// Many writers commit at once while a reader polls from its last position: it must see
/// every event, because no event ever commits below a position already read.
async fn a_poller_misses_nothing_under_concurrent_writers(url: &str) {
    let feed = feed_in(url, FeedOptions::default()).await;
    let writers = 16;
    let per_writer = 40;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let feed = feed.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let id = w * 1000 + i;
                let tx = feed.begin().await.unwrap();
                // Something in the transaction before the feed's numbering, as in a service.
                tokio::task::yield_now().await;
                feed.commit(tx, &[thing(id, "x")]).await.unwrap();
            }
        }));
    }
    let reader = feed.clone();
    let total = (writers * per_writer) as usize;
    let poller = tokio::spawn(async move {
        let mut after = 0;
        let mut seen = BTreeSet::new();
        while seen.len() < total {
            let page = reader
                .read_waiting(after, 7, &[], Duration::from_millis(200))
                .await
                .unwrap();
            for event in &page.changes {
                assert!(event.seq > after, "event {} after {after}", event.seq);
                seen.insert(event.subject.clone());
            }
            after = page.next_after;
        }
        seen
    });
    for task in tasks {
        task.await.unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(60), poller)
        .await
        .expect("the poller saw every event")
        .unwrap();
    assert_eq!(seen.len(), total);
}

/// Creates a thing with a new id of `feed`'s slot, as a service creates a row.
async fn create(feed: &Feed) -> i64 {
    let mut tx = feed.begin().await.unwrap();
    let id = feed.next_id(&mut tx, "things").await.unwrap();
    sqlx::query("INSERT INTO things (id, name) VALUES ($1, 'new')")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    feed.commit(tx, &[thing(u64::try_from(id).unwrap(), "new")])
        .await
        .unwrap();
    id
}

async fn new_ids_keep_to_their_slot_and_are_never_reused(url: &str) {
    let feed = feed_in(
        url,
        FeedOptions {
            ids: "2/2".parse().unwrap(),
            ..FeedOptions::default()
        },
    )
    .await;
    // Concurrent creators never take one id twice.
    let created: Vec<i64> = futures_util::future::join_all((0..16).map(|_| create(&feed))).await;
    let distinct: BTreeSet<i64> = created.iter().copied().collect();
    assert_eq!(distinct.len(), created.len(), "{created:?}");
    assert!(created.iter().all(|id| id % 2 == 0), "{created:?}");
    // A row another writer made (an odd id, replicated here) is stepped over.
    sqlx::query("INSERT INTO things (id, name) VALUES (1001, 'from the other side')")
        .execute(feed.db().pool())
        .await
        .unwrap();
    assert_eq!(create(&feed).await, 1002);
    // The newest row deleted: its id is not handed out again.
    sqlx::query("DELETE FROM things WHERE id >= 1001")
        .execute(feed.db().pool())
        .await
        .unwrap();
    assert_eq!(create(&feed).await, 1004);
}

/// The ids `next_id` hands out follow [`IdSlot::next_above`] for every slot, above the
/// table's largest id and the last one handed out.
async fn next_ids_follow_the_slot_rule(url: &str) {
    for (slot, seeded) in [
        ("1/1", 0),
        ("1/2", 6),
        ("2/2", 7),
        ("3/3", 5),
        ("2/3", 9),
        ("1/3", 3),
    ] {
        let ids: crate::ids::IdSlot = slot.parse().unwrap();
        let feed = feed_in(
            url,
            FeedOptions {
                ids,
                ..FeedOptions::default()
            },
        )
        .await;
        sqlx::query("DELETE FROM things")
            .execute(feed.db().pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM feed_ids")
            .execute(feed.db().pool())
            .await
            .unwrap();
        if seeded > 0 {
            sqlx::query("INSERT INTO things (id, name) VALUES ($1, 'seeded')")
                .bind(seeded)
                .execute(feed.db().pool())
                .await
                .unwrap();
        }
        let mut expected = Vec::new();
        let mut last = seeded;
        for _ in 0..4 {
            last = ids.next_above(last).unwrap();
            expected.push(last);
        }
        let mut made = Vec::new();
        for _ in 0..4 {
            made.push(create(&feed).await);
        }
        assert_eq!(made, expected, "slot {slot} above {seeded}");
        assert!(
            made.iter().all(|id| ids.holds(*id)),
            "slot {slot}: {made:?}"
        );
    }
}

macro_rules! on_file_and_postgres {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let (_dir, url) = super::sqlite_file();
                    super::$test(&url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    match crate::test_util::postgres().await {
                        Some(db) => super::$test(&db.url).await,
                        None => eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped"),
                    }
                }
            )*
        }
    };
}

on_file_and_postgres!(
    compaction_keeps_the_latest_event_of_each_entity,
    a_bulk_load_yields_what_record_would,
    pages_continue_where_the_last_ended,
    expired_tombstones_move_the_oldest_position,
    a_long_poll_answers_when_something_commits,
    replicated_changes_keep_their_origin_and_version,
    positions_are_stored_per_consumer,
    a_poller_misses_nothing_under_concurrent_writers,
    new_ids_keep_to_their_slot_and_are_never_reused,
    next_ids_follow_the_slot_rule,
    an_own_change_passes_a_version_ahead_of_its_clock,
);

#[test]
fn the_last_change_of_an_entity_wins_within_a_write() {
    let changes = [thing(1, "a"), thing(2, "b"), Change::deleted("thing", 1)];
    let kept: Vec<&Change> = last_per_key(&changes);
    assert_eq!(kept, [&changes[1], &changes[2]]);
}
