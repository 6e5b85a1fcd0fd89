//! Filling an empty store with the demo world: the same users, friendships and messages
//! (ids and instants included) that the services hold for the same `--demo` parameters.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::store::{Backend, insert_rows};
use kit::timestamp::Timestamp;

use super::Store;

/// Rows written by a demo fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoCounts {
    /// Users.
    pub users: u64,
    /// Friendship rows: two per friendship, one per direction.
    pub friendships: u64,
    /// Messages.
    pub messages: u64,
}

// === impl Store ===

impl Store {
    /// Fills an empty store with `world` in one transaction; `None` when the store already
    /// had users (nothing is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<DemoCounts>> {
        let started = Instant::now();
        let mut tx = self.db.pool().begin().await?;
        let (existing,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS any_user")
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Ok(None);
        }
        // One sort per index after the load builds them several times faster than a million
        // inserts at random authors, which on SQLite also spill its page cache.
        let indexes = self
            .db
            .drop_secondary_indexes(&mut tx, &["users", "friendships", "messages"])
            .await?;
        let users = insert_rows(
            &mut tx,
            "INSERT INTO users (id, name, avatar_url, created_at)",
            4,
            world.users(),
            |q, u| {
                q.bind(u.id)
                    .bind(u.name)
                    .bind(u.avatar_url)
                    .bind(u.created_at.as_micros())
            },
        )
        .await
        .context("cannot insert demo users")?;
        let befriended_at = Timestamp::now().as_micros();
        let both_directions = world
            .friendships()
            .into_iter()
            .flat_map(|(a, b)| [(a, b), (b, a)]);
        let friendships = insert_rows(
            &mut tx,
            "INSERT INTO friendships (user_id, friend_id, created_at)",
            3,
            both_directions,
            |q, (a, b)| q.bind(a).bind(b).bind(befriended_at),
        )
        .await
        .context("cannot insert demo friendships")?;
        let messages = insert_rows(
            &mut tx,
            "INSERT INTO messages (id, author_id, text, created_at)",
            4,
            world.messages(),
            |q, m| {
                q.bind(m.id)
                    .bind(m.author_id)
                    .bind(m.text)
                    .bind(m.created_at.as_micros())
            },
        )
        .await
        .context("cannot insert demo messages")?;
        indexes
            .rebuild(&mut tx)
            .await
            .context("cannot rebuild the indexes")?;
        // Explicit ids bypass the identity sequences: new ids follow the demo's.
        for table in ["users", "messages"] {
            self.db.advance_identity(&mut tx, table).await?;
        }
        if self.db.backend() == Backend::Sqlite {
            // Fresh statistics, so the first plans already know the tables' sizes.
            sqlx::query("ANALYZE").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        if self.db.backend() == Backend::Postgres {
            // Statistics for the planner, and the visibility map that lets the timeline's
            // index-only scans skip the heap; VACUUM cannot run inside a transaction.
            sqlx::raw_sql("VACUUM (ANALYZE) users, friendships, messages")
                .execute(self.db.pool())
                .await?;
        }
        kit::demo::report("monolith", "users, friendships, messages", started);
        Ok(Some(DemoCounts {
            users,
            friendships,
            messages,
        }))
    }
}
