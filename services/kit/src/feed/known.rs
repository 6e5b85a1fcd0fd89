//! What a service knows of another service's entities from following its feed: a durable
//! set of the keys that feed holds live (`user` ids, for the friends and messages
//! services), and a cascade that removes the follower's own rows of a key the feed deletes.
//!
//! - [`Known`]: the set, in the table `feed_known` of the follower's database (created when
//!   first used, the same on SQLite and PostgreSQL), one row per follower and key.
//! - [`Cascade`]: what the follower deletes of its own when a key is deleted, returning the
//!   [`Change`]s its own feed records for that.
//! - [`KnownConsumer`]: the [`Consumer`] that keeps the set and runs the cascade. Each batch
//!   is one transaction: the set's rows, the cascade's deletions, their events in the
//!   follower's feed, and the position reached. A restart therefore neither loses a
//!   deletion nor applies one twice; a repeated batch (delivery is at least once) finds
//!   nothing left to delete.
//! - Reconciling after a replay: a follower so far behind that the feed no longer holds the
//!   tombstones it missed (410) rebuilds the set from 0, and the replay cannot show it the
//!   deletions that expired. Once the replay reaches the head the set is every live key,
//!   so the follower's rows that depend on a key outside it ([`Cascade::orphans`]) go
//!   through the cascade as if their deletion had arrived. A reset marks the set as to be
//!   reconciled in the same transaction that clears it, so a restart midway still does it.
//! - [`Gate`]: the set as a write asks it, waiting a moment for the follower when the key is
//!   not there yet, so that a key created a moment ago at the source is accepted.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::{Change, Consumer, Event, Feed, Follower};

/// Keys per `DELETE … IN (…)` of the set.
const KEYS_PER_STATEMENT: usize = 400;

/// The table of every follower's set; valid on both engines.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS feed_known (\
     consumer TEXT NOT NULL, \
     subject  TEXT NOT NULL, \
     PRIMARY KEY (consumer, subject))";

/// The keys of one entity type that another feed holds live, as follower `consumer` has
/// applied them. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Known {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    feed: Feed,
    consumer: String,
    entity: String,
    schema: OnceCell<()>,
}

/// What a follower deletes of its own when the followed feed deletes a key.
pub trait Cascade: Send + Sync + 'static {
    /// Deletes, in `conn`'s transaction, the rows that depend on `subject` (an id the
    /// followed feed deleted) and returns the changes that records in the follower's feed
    /// (one deletion per row removed; none when nothing depended on it).
    fn removed<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        subject: &'a str,
    ) -> impl Future<Output = Result<Vec<Change>, sqlx::Error>> + Send + 'a;

    /// The keys that the follower's rows depend on and that set `consumer` does not hold,
    /// in `conn`'s transaction: what deletions the follower never saw left behind (see
    /// [`unknown_keys`]). None by default.
    fn orphans<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        consumer: &'a str,
    ) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send + 'a {
        let _ = (conn, consumer);
        async { Ok(Vec::new()) }
    }
}

/// The distinct values of `table.column` (an integer key column, named by the service's
/// code, never by input) that set `consumer` does not hold, as text, in `conn`'s
/// transaction: the usual [`Cascade::orphans`].
pub async fn unknown_keys(
    conn: &mut AnyConnection,
    consumer: &str,
    table: &'static str,
    column: &'static str,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "SELECT CAST(r.{column} AS TEXT) FROM (SELECT DISTINCT {column} FROM {table}) AS r \
         WHERE NOT EXISTS (SELECT 1 FROM feed_known k \
         WHERE k.consumer = $1 AND k.subject = CAST(r.{column} AS TEXT))"
    );
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(consumer.to_owned())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(key,)| key).collect())
}

/// No cascade: the set is kept, nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCascade;

/// The consumer that keeps a [`Known`] set and runs a [`Cascade`].
#[derive(Debug, Clone)]
pub struct KnownConsumer<C> {
    known: Known,
    cascade: C,
}

/// A write's look-up of a key, with a moment's wait for the follower.
#[derive(Debug, Clone)]
pub struct Gate {
    known: Known,
    follower: Follower,
    wait: Duration,
}

/// What a [`Gate`] says of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The followed feed holds it.
    Known,
    /// The follower is at the feed's head and the key is not there: it does not exist.
    Unknown,
    /// The key is not there, but the follower is not at the head either (the source is
    /// unreachable, or a replay is under way): no answer yet.
    Behind,
}

// === impl Known ===

impl Known {
    /// The set of `entity` keys follower `consumer` keeps in `feed`'s database (whose
    /// positions table also stores the follower's position).
    pub fn new(feed: &Feed, consumer: impl Into<String>, entity: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                feed: feed.clone(),
                consumer: consumer.into(),
                entity: entity.into(),
                schema: OnceCell::new(),
            }),
        }
    }

    /// The follower's name.
    pub fn consumer(&self) -> &str {
        &self.inner.consumer
    }

    /// The entity type whose keys the set holds.
    pub fn entity(&self) -> &str {
        &self.inner.entity
    }

    /// Whether the set holds `subject`.
    pub async fn contains(&self, subject: &str) -> Result<bool, sqlx::Error> {
        self.ready().await?;
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM feed_known WHERE consumer = $1 AND subject = $2",
        )
        .bind(self.inner.consumer.clone())
        .bind(subject.to_owned())
        .fetch_optional(self.inner.feed.db().pool())
        .await?;
        Ok(found.is_some())
    }

    /// How many keys the set holds.
    pub async fn count(&self) -> Result<u64, sqlx::Error> {
        self.ready().await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM feed_known WHERE consumer = $1")
                .bind(self.inner.consumer.clone())
                .fetch_one(self.inner.feed.db().pool())
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The consumer that keeps this set, running `cascade` for every deleted key.
    pub fn with_cascade<C: Cascade>(&self, cascade: C) -> KnownConsumer<C> {
        KnownConsumer {
            known: self.clone(),
            cascade,
        }
    }

    /// The set's look-up for writes, waiting up to `wait` for `follower` (the follower
    /// running this set's consumer) when a key is not there yet.
    pub fn gate(&self, follower: Follower, wait: Duration) -> Gate {
        Gate {
            known: self.clone(),
            follower,
            wait,
        }
    }

    /// Where a reset marks the set as to be reconciled once the replay reaches the head
    /// (a row of the positions table: 1 while due).
    fn reconcile_marker(&self) -> String {
        format!("{}:reconcile", self.inner.consumer)
    }

    /// Creates the table when missing, once per process.
    async fn ready(&self) -> Result<(), sqlx::Error> {
        self.inner
            .schema
            .get_or_try_init(|| async {
                sqlx::query(SCHEMA)
                    .execute(self.inner.feed.db().pool())
                    .await
                    .map(drop)
            })
            .await
            .copied()
    }

    /// Removes `subjects` from the set in `conn`'s transaction.
    async fn remove(&self, conn: &mut AnyConnection, subjects: &[&str]) -> Result<(), sqlx::Error> {
        let subjects: Vec<String> = subjects.iter().map(|s| (*s).to_owned()).collect();
        for chunk in subjects.chunks(KEYS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM feed_known WHERE consumer = $1 AND subject IN ({})",
                crate::store::placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.inner.consumer.clone());
            for subject in chunk {
                query = query.bind(subject.clone());
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Adds `subjects` to the set in `conn`'s transaction (those already there stay).
    async fn add(&self, conn: &mut AnyConnection, subjects: &[&str]) -> Result<(), sqlx::Error> {
        // Removed first, then inserted: one statement pair for any batch, on both engines.
        self.remove(conn, subjects).await?;
        let consumer = self.inner.consumer.clone();
        let rows: Vec<String> = subjects.iter().map(|s| (*s).to_owned()).collect();
        crate::store::insert_rows(
            conn,
            "INSERT INTO feed_known (consumer, subject)",
            2,
            rows,
            move |q, subject| q.bind(consumer.clone()).bind(subject),
        )
        .await?;
        Ok(())
    }
}

// === impl Cascade ===

impl Cascade for NoCascade {
    async fn removed(
        &self,
        _conn: &mut AnyConnection,
        _subject: &str,
    ) -> Result<Vec<Change>, sqlx::Error> {
        Ok(Vec::new())
    }
}

// === impl KnownConsumer ===

impl<C: Cascade> Consumer for KnownConsumer<C> {
    async fn position(&self) -> anyhow::Result<u64> {
        self.known.ready().await?;
        Ok(self
            .known
            .inner
            .feed
            .position(self.known.consumer())
            .await?)
    }

    async fn apply(&self, events: &[Event], next_after: u64) -> anyhow::Result<()> {
        let known = &self.known;
        let feed = &known.inner.feed;
        // Each key's last event of the batch is its state after it.
        let mut last: HashMap<&str, bool> = HashMap::new();
        for event in events.iter().filter(|e| e.entity() == known.entity()) {
            last.insert(&event.subject, event.is_deletion());
        }
        let (deleted, live): (Vec<_>, Vec<_>) = last.into_iter().partition(|(_, gone)| *gone);
        let deleted: Vec<&str> = deleted.into_iter().map(|(s, _)| s).collect();
        let live: Vec<&str> = live.into_iter().map(|(s, _)| s).collect();

        let mut tx = feed.begin().await?;
        known.add(&mut tx, &live).await?;
        known.remove(&mut tx, &deleted).await?;
        let mut changes = Vec::new();
        for subject in &deleted {
            changes.extend(self.cascade.removed(&mut tx, subject).await?);
        }
        feed.save_position(&mut tx, known.consumer(), next_after)
            .await?;
        let position = feed.commit(tx, &changes).await?;
        if !deleted.is_empty() {
            tracing::debug!(consumer = %known.consumer(), removed = deleted.len(),
                cascaded = changes.len(), position = ?position, "deletions applied");
        }
        Ok(())
    }

    async fn reset(&self) -> anyhow::Result<()> {
        let known = &self.known;
        let feed = &known.inner.feed;
        known.ready().await?;
        let mut tx = feed.begin().await?;
        sqlx::query("DELETE FROM feed_known WHERE consumer = $1")
            .bind(known.consumer().to_owned())
            .execute(&mut *tx)
            .await?;
        feed.save_position(&mut tx, known.consumer(), 0).await?;
        feed.save_position(&mut tx, &known.reconcile_marker(), 1)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn caught_up(&self) -> anyhow::Result<()> {
        let known = &self.known;
        let feed = &known.inner.feed;
        let marker = known.reconcile_marker();
        if feed.position(&marker).await? == 0 {
            return Ok(());
        }
        let mut tx = feed.begin().await?;
        let orphans = self.cascade.orphans(&mut tx, known.consumer()).await?;
        let mut changes = Vec::new();
        for subject in &orphans {
            changes.extend(self.cascade.removed(&mut tx, subject).await?);
        }
        feed.save_position(&mut tx, &marker, 0).await?;
        let position = feed.commit(tx, &changes).await?;
        tracing::info!(consumer = %known.consumer(), keys = orphans.len(), cascaded = changes.len(),
            position = ?position, "reconciled after a replay from 0: rows of keys the feed no longer holds removed");
        Ok(())
    }
}

// === impl Gate ===

impl Gate {
    /// Whether `subject` is known, waiting up to the gate's wait for the follower to apply
    /// what the source has when it is not there yet.
    ///
    /// Over HTTP the follower confirms the source's head right away (a read without a long
    /// poll, begun after the miss): a key still missing then did not exist when the write
    /// was asked for, and is refused at once. Over JetStream the head is what the relay has
    /// published, so the gate waits for progress until its wait ends.
    pub async fn check(&self, subject: &str) -> Result<Lookup, sqlx::Error> {
        if self.known.contains(subject).await? {
            return Ok(Lookup::Known);
        }
        if self.follower.confirms() {
            if !self.follower.confirm(self.wait).await {
                return Ok(Lookup::Behind);
            }
            return Ok(if self.known.contains(subject).await? {
                Lookup::Known
            } else {
                Lookup::Unknown
            });
        }
        let deadline = Instant::now() + self.wait;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(if self.follower.is_current() {
                    Lookup::Unknown
                } else {
                    Lookup::Behind
                });
            }
            // Progress, or the deadline; either way the set is read again.
            self.follower.wait_for_progress(deadline - now).await;
            if self.known.contains(subject).await? {
                return Ok(Lookup::Known);
            }
        }
    }

    /// The follower the gate waits for.
    pub fn follower(&self) -> &Follower {
        &self.follower
    }

    /// The set.
    pub fn known(&self) -> &Known {
        &self.known
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::FeedOptions;

    static THINGS: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/sqlite");

    /// Deletes the things named after the deleted key (`things.name = subject`).
    struct RemoveThings;

    impl Cascade for RemoveThings {
        async fn removed(
            &self,
            conn: &mut AnyConnection,
            subject: &str,
        ) -> Result<Vec<Change>, sqlx::Error> {
            let ids: Vec<(i64,)> =
                sqlx::query_as("DELETE FROM things WHERE name = $1 RETURNING id")
                    .bind(subject.to_owned())
                    .fetch_all(&mut *conn)
                    .await?;
            Ok(ids
                .into_iter()
                .map(|(id,)| Change::deleted("thing", id))
                .collect())
        }

        async fn orphans(
            &self,
            conn: &mut AnyConnection,
            consumer: &str,
        ) -> Result<Vec<String>, sqlx::Error> {
            unknown_keys(conn, consumer, "things", "name").await
        }
    }

    fn event(seq: u64, kind: &str, subject: &str) -> Event {
        let mut json = serde_json::json!({
            "specversion": "1.0", "id": format!("u-{seq}"), "source": "users", "type": kind,
            "subject": subject, "time": "2026-01-01T00:00:00Z", "seq": seq, "version": seq,
            "origin": "users"
        });
        if !kind.ends_with(".deleted") {
            json["data"] = serde_json::json!({});
        }
        serde_json::from_value(json).unwrap()
    }

    /// Every event `feed` holds, as (type, subject).
    async fn events_of(feed: &Feed) -> Vec<(String, String)> {
        let page = feed.read(0, 100, &[]).await.unwrap();
        page.changes
            .into_iter()
            .map(|e| (e.kind, e.subject))
            .collect()
    }

    fn pair((kind, subject): (&str, &str)) -> (String, String) {
        (kind.to_owned(), subject.to_owned())
    }

    async fn feed() -> Feed {
        let db = crate::store::Db::connect(
            "sqlite::memory:",
            crate::store::Migrations {
                sqlite: &THINGS,
                postgres: &THINGS,
            },
        )
        .await
        .unwrap();
        sqlx::query("INSERT INTO things (id, name) VALUES (1, '7'), (2, '7'), (3, '8')")
            .execute(db.pool())
            .await
            .unwrap();
        Feed::open(db, "things", FeedOptions::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_batch_keeps_the_set_cascades_and_stores_its_position_at_once() {
        let feed = feed().await;
        let known = Known::new(&feed, "things", "user");
        let consumer = known.with_cascade(RemoveThings);
        assert_eq!(consumer.position().await.unwrap(), 0);

        let batch = [
            event(1, "user.upserted", "7"),
            event(2, "user.upserted", "8"),
            event(3, "group.upserted", "9"),
        ];
        consumer.apply(&batch, 3).await.unwrap();
        assert!(known.contains("7").await.unwrap());
        assert!(
            !known.contains("9").await.unwrap(),
            "other entities are not keys"
        );
        assert_eq!(known.count().await.unwrap(), 2);
        assert_eq!(consumer.position().await.unwrap(), 3);
        assert_eq!(feed.size().await.unwrap(), 0, "no cascade, no event");

        consumer
            .apply(&[event(4, "user.deleted", "7")], 4)
            .await
            .unwrap();
        assert!(!known.contains("7").await.unwrap());
        assert_eq!(consumer.position().await.unwrap(), 4);
        assert_eq!(
            events_of(&feed).await,
            [("thing.deleted", "1"), ("thing.deleted", "2")].map(pair)
        );

        // At least once: the same batch again changes nothing.
        consumer
            .apply(&[event(4, "user.deleted", "7")], 4)
            .await
            .unwrap();
        assert_eq!(feed.read(0, 10, &[]).await.unwrap().head, 2);
        // An upsert already known stays known.
        consumer
            .apply(&[event(5, "user.upserted", "8")], 5)
            .await
            .unwrap();
        assert_eq!(known.count().await.unwrap(), 1);

        consumer.reset().await.unwrap();
        assert_eq!(known.count().await.unwrap(), 0);
        assert_eq!(consumer.position().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_deletion_that_expired_before_the_follower_saw_it_still_cascades() {
        use crate::feed::testing::{serve, test_feed};
        use crate::feed::{FollowOptions, Source};
        use tokio_util::sync::CancellationToken;

        let users = test_feed(
            "users",
            FeedOptions {
                tombstone_retention: Duration::ZERO,
                ..FeedOptions::default()
            },
        )
        .await;
        let server = serve(&users).await;
        let user = |id: u64| Change::upserted("user", id, &serde_json::json!({"id": id}));
        let tx = users.begin().await.unwrap();
        users.commit(tx, &[user(7), user(8)]).await.unwrap();

        let things = test_feed("things", FeedOptions::default()).await;
        sqlx::query("INSERT INTO things (id, name) VALUES (1, '7'), (2, '7'), (3, '8')")
            .execute(things.db().pool())
            .await
            .unwrap();
        let known = Known::new(&things, "things", "user");
        let follow = |stop: &CancellationToken| {
            let options = FollowOptions {
                wait: Duration::from_millis(200),
                backoff: (Duration::from_millis(20), Duration::from_millis(200)),
                ..FollowOptions::new("things", "users")
            };
            let source = Source::http(server.url(""), reqwest::Client::new());
            Follower::spawn(
                source,
                known.with_cascade(RemoveThings),
                options,
                stop.clone(),
            )
        };
        let stop = CancellationToken::new();
        assert!(follow(&stop).wait_for(2, Duration::from_secs(10)).await);
        assert_eq!(known.count().await.unwrap(), 2);
        stop.cancel();

        // While the follower is away, user 7 is deleted and its tombstone expires.
        let tx = users.begin().await.unwrap();
        let deleted = users
            .commit(tx, &[Change::deleted("user", 7)])
            .await
            .unwrap();
        let deleted = deleted.map(|p| p.seq).unwrap();
        users.expire_tombstones().await.unwrap();

        let stop = CancellationToken::new();
        let follower = follow(&stop);
        assert!(follower.wait_for(deleted, Duration::from_secs(10)).await);
        let names = || async {
            let rows: Vec<(String,)> = sqlx::query_as("SELECT name FROM things ORDER BY id")
                .fetch_all(things.db().pool())
                .await
                .unwrap();
            rows.into_iter().map(|(n,)| n).collect::<Vec<_>>()
        };
        // The reconciliation follows the catch-up in the same read loop.
        crate::test_util::eventually(
            "the things of user 7 removed",
            Duration::from_secs(10),
            || async { (names().await == ["8"]).then_some(()) },
        )
        .await;
        assert_eq!(follower.status().replays, 1);
        assert!(!known.contains("7").await.unwrap());
        assert_eq!(
            events_of(&things).await,
            [("thing.deleted", "1"), ("thing.deleted", "2")].map(pair)
        );
        stop.cancel();
    }
}
