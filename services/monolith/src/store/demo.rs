//! Filling an empty store with the demo world: the same users, friendships and messages
//! (ids and instants included) that the services hold for the same `--demo` parameters.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::feed::Change;
use kit::ids::{MessageId, UserId};
use kit::store::{Backend, insert_rows};
use kit::timestamp::Timestamp;
use sqlx::AnyConnection;

use super::{FRIENDSHIP_EVENT, MESSAGE_EVENT, Store, USER_EVENT};
use crate::domain::{Friendship, Message, User};

// Every side that loads the same world records its events with one origin and the same
// versions, so their feeds agree.
use kit::demo::{FRIENDSHIP_VERSION, ORIGIN as DEMO_ORIGIN};

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
    /// Fills an empty store with `world` in one transaction, with every row's event (as
    /// replicated from `demo`, its version the row's `created_at` in microseconds;
    /// friendships 2026-01-01T00:00:00Z); `None` when the store already had users (nothing
    /// is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<DemoCounts>> {
        let started = Instant::now();
        let mut tx = self.feed.begin().await?;
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
        // Last: from the first event on, the transaction holds the feed's numbering lock.
        let head = self
            .record_demo_events(&mut tx, world)
            .await
            .context("cannot record the demo events")?;
        tx.commit().await?;
        if let Some(head) = head {
            self.feed.committed(head);
        }
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

    /// Records the events of every user, friendship and message of `world` in `conn`'s
    /// transaction, one entity type at a time; the last one's `seq` (`None` for an empty world).
    async fn record_demo_events(
        &self,
        conn: &mut AnyConnection,
        world: &World,
    ) -> Result<Option<u64>, sqlx::Error> {
        let users = world.users().map(|u| {
            let version = u.created_at.as_micros();
            let user = User {
                id: UserId::new(u.id),
                name: u.name,
                avatar_url: u.avatar_url,
                created_at: u.created_at,
            };
            Change::upserted(USER_EVENT, user.id, &user).replicated(DEMO_ORIGIN, version)
        });
        let mut head = self.load(conn, users).await?;
        let friendships = world.friendships().into_iter().map(|(a, b)| {
            let friendship = Friendship::of((UserId::new(a), UserId::new(b)));
            Change::upserted(FRIENDSHIP_EVENT, friendship.subject(), &friendship)
                .replicated(DEMO_ORIGIN, FRIENDSHIP_VERSION)
        });
        head = self.load(conn, friendships).await?.or(head);
        let messages = world.messages().map(|m| {
            let version = m.created_at.as_micros();
            let message = Message {
                id: MessageId::new(m.id),
                author_id: UserId::new(m.author_id),
                text: m.text,
                created_at: m.created_at,
            };
            Change::upserted(MESSAGE_EVENT, message.id, &message).replicated(DEMO_ORIGIN, version)
        });
        Ok(self.load(conn, messages).await?.or(head))
    }

    /// Loads `changes`, all of one entity type, into the feed in `conn`'s transaction with
    /// [`Feed::load`](kit::feed::Feed::load): in one call, so the feed holds none of that
    /// type yet and the bulk path applies; the last one's `seq`.
    async fn load(
        &self,
        conn: &mut AnyConnection,
        changes: impl Iterator<Item = Change>,
    ) -> Result<Option<u64>, sqlx::Error> {
        let changes: Vec<Change> = changes.collect();
        let position = self.feed.load(conn, &changes).await?;
        Ok(position.map(|p| p.seq))
    }
}
