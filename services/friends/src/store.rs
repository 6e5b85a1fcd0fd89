//! The friendships table: the only way to it.
//!
//! Each friendship is two rows, `(a, b)` and `(b, a)`, so a user's friends are one range of
//! the primary key. Every write is one transaction begun with the write lock taken (so on
//! SQLite two writers never both hold a read lock they need to upgrade), holding the
//! statement and the change it records in the feed: entity `friendship`, subject
//! `LOW-HIGH`, data `{"user_id": LOW, "friend_id": HIGH}`.
//!
//! Tests run this against real engines (`sqlite::memory:` always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set) rather than a fake, so the SQL itself is what is tested.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::feed::known::Cascade;
use kit::feed::replicate::Replica;
use kit::feed::{Change, Event, Feed, Position};
use kit::ids::UserId;
use kit::store::{Db, Migrations};
use kit::timestamp::Timestamp;

use crate::domain::{FriendList, Friendship, PageRequest};

/// The schema, per backend.
pub const MIGRATIONS: Migrations = kit::migrations!();

/// The feed's entity type.
pub const ENTITY: &str = "friendship";

/// Friends per `DELETE … IN (…)` when a user's friendships are removed, one bound parameter
/// each.
const FRIENDS_PER_DELETE: usize = 400;

/// A deleted user's own rows: one range of the primary key.
const REMOVE_OWN_ROWS: &str = "DELETE FROM friendships WHERE user_id = $1 RETURNING friend_id";

/// The rows of `count` friends (`$2…`) naming user `$1`: one point of the key each.
fn remove_rows_naming(count: usize) -> String {
    format!(
        "DELETE FROM friendships WHERE friend_id = $1 AND user_id IN ({})",
        kit::store::placeholders(2, count)
    )
}

/// Friendships storage. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    feed: Feed,
}

// === impl Store ===

// `open`, `db`, and the store as `kit::service::serve_store` runs it.
kit::service_store!(Store, MIGRATIONS, "friends");

impl Store {
    /// Stores both directions of `pair` in one statement; a pair already stored is left as
    /// it is (with its original `created_at`, and no new event). Returns the feed position
    /// of the pair's event: the new one, or the one the pair already had (`None` for a pair
    /// stored before its service recorded events).
    #[tracing::instrument(skip_all, fields(user_id = %pair.low(), friend_id = %pair.high()))]
    pub async fn befriend(&self, pair: Friendship) -> Result<Option<Position>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        // The low → high row first, always: two writers of one pair then wait on the same
        // row instead of each holding the row the other needs (a PostgreSQL deadlock).
        let done = sqlx::query(
            "INSERT INTO friendships (user_id, friend_id, created_at) \
             VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
        )
        .bind(pair.low().get())
        .bind(pair.high().get())
        .bind(Timestamp::now().as_micros())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            return self.feed.commit(tx, &[upserted(pair)]).await;
        }
        // Already friends: the event the pair has is the position to answer with. The
        // outbox keeps one event per entity and subject, so this is at most one row.
        let seq: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM feed_events WHERE entity = $1 AND subject = $2")
                .bind(ENTITY)
                .bind(subject(pair))
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(seq
            .and_then(|(seq,)| u64::try_from(seq).ok())
            .map(|seq| Position::new(self.feed.source(), seq)))
    }

    /// Removes both directions of `pair` in one statement; `None` when they were not
    /// friends, else the feed position of the friendship's deletion.
    #[tracing::instrument(skip_all, fields(user_id = %pair.low(), friend_id = %pair.high()))]
    pub async fn unfriend(
        &self,
        pair: Friendship,
    ) -> Result<Option<Option<Position>>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let done = sqlx::query(
            "DELETE FROM friendships \
             WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        )
        .bind(pair.low().get())
        .bind(pair.high().get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let deleted = Change::deleted(ENTITY, subject(pair));
        Ok(Some(self.feed.commit(tx, &[deleted]).await?))
    }

    /// Removes every friendship of `user` in `conn`'s transaction; returns their deletions
    /// for the feed. Both statements walk the primary key: `user`'s own rows are one range
    /// of it, and each friend's row naming `user` one point of it (every friendship is
    /// stored both ways), where `… OR friend_id = $1` would scan the table.
    pub async fn remove_user(
        conn: &mut sqlx::AnyConnection,
        user: UserId,
    ) -> Result<Vec<Change>, sqlx::Error> {
        let friends: Vec<i64> = sqlx::query_scalar(REMOVE_OWN_ROWS)
            .bind(user.get())
            .fetch_all(&mut *conn)
            .await?;
        for chunk in friends.chunks(FRIENDS_PER_DELETE) {
            let sql = remove_rows_naming(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.get());
            for friend in chunk {
                query = query.bind(*friend);
            }
            query.execute(&mut *conn).await?;
        }
        let mut pairs: Vec<Friendship> = friends
            .into_iter()
            .filter_map(|friend| Friendship::new(user, UserId::new(friend)).ok())
            .collect();
        pairs.sort_unstable_by_key(|p| (p.low(), p.high()));
        pairs.dedup();
        Ok(pairs
            .into_iter()
            .map(|pair| Change::deleted(ENTITY, subject(pair)))
            .collect())
    }

    /// One page of `user`'s friends, ascending: a range scan of the primary key that reads
    /// one row past the page to tell whether another follows.
    #[tracing::instrument(skip_all, fields(user_id = %user, limit = page.limit.get()))]
    pub async fn friends(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<FriendList, sqlx::Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT friend_id FROM friendships WHERE user_id = $1 AND friend_id > $2 \
             ORDER BY friend_id LIMIT $3",
        )
        .bind(user.get())
        .bind(page.after.map_or(0, UserId::get))
        .bind(i64::from(page.limit.get()) + 1)
        .fetch_all(self.db.pool())
        .await?;
        // The table's CHECK keeps every stored id positive.
        let ids = ids.into_iter().map(UserId::new).collect();
        Ok(FriendList::page(user, ids, page.limit))
    }

    /// Fills an empty table with the demo world's friendships, both directions, in one
    /// transaction, with their events (as replicated from origin `demo`, version
    /// [`kit::demo::FRIENDSHIP_VERSION`]); `None` when the table already had rows (nothing
    /// is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let mut tx = self.feed.begin().await?;
        let (existing,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM friendships LIMIT 1) AS any_friendship",
        )
        .fetch_one(&mut *tx)
        .await?;
        if existing > 0 {
            return Ok(None);
        }
        let created_at = Timestamp::now().as_micros();
        let friendships = world.friendships();
        let changes: Vec<Change> = friendships
            .iter()
            .filter_map(|&(a, b)| Friendship::new(UserId::new(a), UserId::new(b)).ok())
            .map(|pair| upserted(pair).replicated(kit::demo::ORIGIN, kit::demo::FRIENDSHIP_VERSION))
            .collect();
        let rows = friendships.into_iter().flat_map(|(a, b)| [(a, b), (b, a)]);
        let inserted = kit::store::insert_rows(
            &mut tx,
            "INSERT INTO friendships (user_id, friend_id, created_at)",
            3,
            rows,
            |q, (user_id, friend_id)| q.bind(user_id).bind(friend_id).bind(created_at),
        )
        .await
        .context("cannot insert demo friendships")?;
        let head = self.feed.load(&mut tx, &changes).await?;
        tx.commit().await?;
        if let Some(head) = head {
            self.feed.committed(head.seq);
        }
        kit::demo::report("friends", "friendships", started);
        Ok(Some(inserted))
    }
}

/// The deletion of a user's friendships, run by the follower of the users feed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveFriendships;

impl Cascade for RemoveFriendships {
    async fn removed(
        &self,
        conn: &mut sqlx::AnyConnection,
        subject: &str,
    ) -> Result<Vec<Change>, sqlx::Error> {
        // A subject that is no user id has no friendships here.
        match subject.parse::<UserId>() {
            Ok(user) => Store::remove_user(conn, user).await,
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn orphans(
        &self,
        conn: &mut sqlx::AnyConnection,
        consumer: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        // Friendships are stored both ways, so every user in one is a `user_id`.
        kit::feed::known::unknown_keys(conn, consumer, "friendships", "user_id").await
    }
}

/// A friendship made or ended on the other side of a migration: the pair from the subject
/// (`LOW-HIGH`), made when the event has a state, ended when it has none. The versions
/// decide (a pair may be made again after it ended).
impl Replica for Store {
    const ENTITIES: &'static [&'static str] = &[ENTITY];
    const FINAL_DELETES: &'static [&'static str] = &[];

    fn replica_feed(&self) -> &Feed {
        &self.feed
    }

    async fn apply(
        &self,
        conn: &mut sqlx::AnyConnection,
        event: &Event,
    ) -> anyhow::Result<Option<Vec<Change>>> {
        let pair = parse_subject(&event.subject)?;
        if event.is_deletion() {
            sqlx::query(
                "DELETE FROM friendships \
                 WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
            )
            .bind(pair.low().get())
            .bind(pair.high().get())
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO friendships (user_id, friend_id, created_at) \
                 VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
            )
            .bind(pair.low().get())
            .bind(pair.high().get())
            .bind(event.time.as_micros())
            .execute(&mut *conn)
            .await?;
        }
        Ok(Some(Vec::new()))
    }
}

/// The pair a `LOW-HIGH` subject names.
fn parse_subject(subject: &str) -> anyhow::Result<Friendship> {
    let (low, high) = subject
        .split_once('-')
        .ok_or_else(|| anyhow::anyhow!("`{subject}` is no friendship: expected LOW-HIGH"))?;
    Ok(Friendship::new(low.parse()?, high.parse()?)?)
}

/// `LOW-HIGH`, the feed's key of `pair`.
pub fn subject(pair: Friendship) -> String {
    format!("{}-{}", pair.low(), pair.high())
}

/// The pair's change event.
fn upserted(pair: Friendship) -> Change {
    Change::upserted(ENTITY, subject(pair), &pair.data())
}

#[cfg(test)]
mod tests {
    use kit::store::Explain;

    use super::*;

    /// A user's deletion walks the primary key, wherever the user's rows are: no statement
    /// of it scans the table (a scan per deletion made the cascade slower with every row).
    #[tokio::test]
    async fn removing_a_user_searches_the_key_and_never_scans() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        for (sql, args) in [
            (REMOVE_OWN_ROWS.to_owned(), vec![7]),
            (remove_rows_naming(3), vec![7, 1, 2, 3]),
        ] {
            let plan = store
                .db()
                .explain(&sql, &args, Explain::Plan)
                .await
                .unwrap();
            let text = plan.join("\n");
            assert!(
                text.contains("SEARCH friendships USING PRIMARY KEY"),
                "{sql}: {text}"
            );
            assert!(!text.contains("SCAN"), "{sql}: {text}");
        }
    }
}
