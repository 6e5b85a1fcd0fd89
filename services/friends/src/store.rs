//! The friendships table: the only way to it.
//!
//! Each friendship is two rows, `(a, b)` and `(b, a)`, so a user's friends are one range of
//! the primary key. Every write is a single statement: no read-then-write transaction, which
//! on SQLite would fail with SQLITE_BUSY when two writers upgrade their locks at once.
//!
//! Tests run this against real engines (`sqlite::memory:` always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set) rather than a fake, so the SQL itself is what is tested.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::feed::Feed;
use kit::ids::UserId;
use kit::store::{Db, Migrations};
use kit::timestamp::Timestamp;

use crate::domain::{FriendList, Friendship, PageRequest};

/// The schema, per backend.
pub const MIGRATIONS: Migrations = kit::migrations!();

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
    /// it is (with its original `created_at`).
    #[tracing::instrument(skip_all, fields(user_id = %pair.low(), friend_id = %pair.high()))]
    pub async fn befriend(&self, pair: Friendship) -> Result<(), sqlx::Error> {
        // The low → high row first, always: two writers of one pair then wait on the same
        // row instead of each holding the row the other needs (a PostgreSQL deadlock).
        sqlx::query(
            "INSERT INTO friendships (user_id, friend_id, created_at) \
             VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
        )
        .bind(pair.low().get())
        .bind(pair.high().get())
        .bind(Timestamp::now().as_micros())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Removes both directions of `pair` in one statement; false when they were not friends.
    #[tracing::instrument(skip_all, fields(user_id = %pair.low(), friend_id = %pair.high()))]
    pub async fn unfriend(&self, pair: Friendship) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM friendships \
             WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        )
        .bind(pair.low().get())
        .bind(pair.high().get())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
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
    /// transaction; `None` when the table already had rows (nothing is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let mut tx = self.db.pool().begin().await?;
        let (existing,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM friendships LIMIT 1) AS any_friendship",
        )
        .fetch_one(&mut *tx)
        .await?;
        if existing > 0 {
            return Ok(None);
        }
        let created_at = Timestamp::now().as_micros();
        let rows = world
            .friendships()
            .into_iter()
            .flat_map(|(a, b)| [(a, b), (b, a)]);
        let inserted = kit::store::insert_rows(
            &mut tx,
            "INSERT INTO friendships (user_id, friend_id, created_at)",
            3,
            rows,
            |q, (user_id, friend_id)| q.bind(user_id).bind(friend_id).bind(created_at),
        )
        .await
        .context("cannot insert demo friendships")?;
        tx.commit().await?;
        kit::demo::report("friends", "friendships", started);
        Ok(Some(inserted))
    }
}
