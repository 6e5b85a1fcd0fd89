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
        let indexes = self.drop_secondary_indexes(&mut tx).await?;
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
        for (name, definition) in &indexes {
            sqlx::query(sqlx::AssertSqlSafe(definition.clone()))
                .execute(&mut *tx)
                .await
                .with_context(|| format!("cannot rebuild the index {name}"))?;
        }
        if self.db.backend() == Backend::Postgres {
            // Explicit ids bypass the identity sequences: move them past the demo's ids, as
            // the users and messages services do (so after an empty world, too, the next
            // ids are theirs). SQLite's AUTOINCREMENT counter follows explicit ids by itself.
            for table in ["users", "messages"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     GREATEST((SELECT MAX(id) FROM {table}), 1))"
                )))
                .execute(&mut *tx)
                .await?;
            }
        } else {
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

    /// Drops the indexes of `friendships` and `messages` other than those behind their
    /// keys, returning each as `(name, CREATE INDEX …)` from the catalog, so the migrations
    /// stay their only definition.
    async fn drop_secondary_indexes(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        let sql = match self.db.backend() {
            // Indexes SQLite makes for keys have no SQL text.
            Backend::Sqlite => {
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name IN ('friendships', 'messages') AND sql IS NOT NULL"
            }
            Backend::Postgres => {
                "SELECT indexname::TEXT, indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() \
                 AND tablename IN ('friendships', 'messages') \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint \
                 WHERE conrelid IN ('friendships'::regclass, 'messages'::regclass))"
            }
        };
        let indexes: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
        for (name, _) in &indexes {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
                .execute(&mut *conn)
                .await?;
        }
        Ok(indexes)
    }
}
