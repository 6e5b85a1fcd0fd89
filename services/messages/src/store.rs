//! The messages table: the only way to it.
//!
//! Every write records its changes in the feed (entity `message`, subject the id, data the
//! API's `Message`) in the same transaction, and returns the feed position it reached.
//!
//! Every read but the one by id walks the index `(author_id, created_at DESC, id DESC)`, so
//! its cost grows with the rows it returns, never with the size of the table. Tests run this
//! against real engines (`sqlite::memory:` always, PostgreSQL when `TEST_POSTGRES_URL` is
//! set) rather than a fake, and read the engines' query plans to keep it that way.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::feed::known::Cascade;
use kit::feed::replicate::Replica;
use kit::feed::{Change, Event, Feed, Position};
use kit::ids::{MessageId, UserId};
use kit::store::batch::Batcher;
use kit::store::{Backend, Db, Explain, Migrations, query_as_with};
use kit::timestamp::Timestamp;

use crate::domain::{Message, NewMessage};

#[cfg(test)]
mod tests;

/// The schema, per backend.
pub const MIGRATIONS: Migrations = kit::migrations!();

/// Authors per statement of [`Store::latest`], one bound parameter each: the API asks for
/// at most 500; longer lists from other callers are split, well below both engines'
/// parameter limits and the square-law cost of binding on SQLite (see
/// [`SQLITE_ROWS_PER_INSERT`]).
const AUTHORS_PER_QUERY: usize = 1000;

/// Rows per `INSERT` of the demo load on SQLite. sqlx looks every `$N` of a SQLite statement
/// up by name in a list as long as the statement's parameters, so binding costs grow with
/// the square of the rows per statement: 100 rows (400 parameters) load a million messages
/// several times faster than the 1000 that `kit::store::insert_rows` puts in one.
const SQLITE_ROWS_PER_INSERT: usize = 100;

/// Demo messages per batch of feed events recorded with them: the first batch is loaded in
/// bulk into the empty feed, later ones (in worlds larger than this) recorded as writes are.
const DEMO_EVENTS_PER_BATCH: usize = 100_000;

/// The feed's entity type.
pub const ENTITY: &str = "message";

/// Messages created at once per transaction, at most: one multi-row `INSERT` of the rows
/// (the demo load's statement size on SQLite) and one of their events.
const CREATES_PER_BATCH: usize = SQLITE_ROWS_PER_INSERT;

/// Messages storage. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    feed: Feed,
    /// Creates, committed together when they arrive together (group commit).
    creates: Batcher<(NewMessage, Timestamp), (Message, Option<Position>)>,
}

/// Where a page of an author's messages starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// At the author's newest message.
    Newest,
    /// Strictly older than this `(created_at, id)`, the position of an existing message.
    OlderThan(Timestamp, MessageId),
    /// Below this id: the cursor message is gone, so its position is unknown.
    BelowId(MessageId),
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    author_id: i64,
    text: String,
    created_at: i64,
}

const COLUMNS: &str = "id, author_id, text, created_at";

// === impl Store ===

// `open`, `db`, and the store as `kit::service::serve_store` runs it.
kit::service_store!(Store, MIGRATIONS, "messages", |db, feed| Store {
    creates: Batcher::spawn(CREATES_PER_BATCH, {
        let feed = feed.clone();
        move |creates| create_all(feed.clone(), creates)
    }),
    db,
    feed,
});

impl Store {
    /// Inserts a message created now and returns it with its new id, and the feed position
    /// of its event.
    pub async fn create(
        &self,
        message: &NewMessage,
    ) -> Result<(Message, Option<Position>), sqlx::Error> {
        self.create_at(message, Timestamp::now()).await
    }

    /// Inserts a message with the given creation time (imports keep their original times)
    /// and returns it with its new id, and the feed position of its event. Messages
    /// created at the same moment share one transaction ([`Batcher`]): each still gets its
    /// own id and its own event, and none is acknowledged before its batch committed.
    #[tracing::instrument(skip_all, fields(author_id = %message.author_id))]
    pub async fn create_at(
        &self,
        message: &NewMessage,
        created_at: Timestamp,
    ) -> Result<(Message, Option<Position>), sqlx::Error> {
        self.creates.submit((message.clone(), created_at)).await
    }

    /// The message with this id, if any.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn get(&self, id: MessageId) -> Result<Option<Message>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = $1");
        let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(Message::from))
    }

    /// Deletes the message; `None` when there was none, else the feed position of its
    /// deletion.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn delete(&self, id: MessageId) -> Result<Option<Option<Position>>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let done = sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(id.get())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let position = self.feed.commit(tx, &[Change::deleted(ENTITY, id)]).await?;
        Ok(Some(position))
    }

    /// Removes every message of `author` in `conn`'s transaction; returns their deletions
    /// for the feed.
    pub async fn remove_author(
        conn: &mut sqlx::AnyConnection,
        author: UserId,
    ) -> Result<Vec<Change>, sqlx::Error> {
        let ids: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM messages WHERE author_id = $1 RETURNING id")
                .bind(author.get())
                .fetch_all(&mut *conn)
                .await?;
        Ok(ids
            .into_iter()
            .map(|(id,)| Change::deleted(ENTITY, id))
            .collect())
    }

    /// Where a page that starts below message `before` starts: at that message's position
    /// when it exists, else below its id.
    #[tracing::instrument(skip_all, fields(message_id = %before))]
    pub async fn cursor(&self, before: MessageId) -> Result<Cursor, sqlx::Error> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT created_at FROM messages WHERE id = $1")
            .bind(before.get())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match found {
            Some((created_at,)) => Cursor::OlderThan(Timestamp::from_micros(created_at), before),
            None => Cursor::BelowId(before),
        })
    }

    /// Up to `limit` of the author's messages from `cursor` on, newest first (higher
    /// `created_at`, ties broken by the higher id).
    #[tracing::instrument(skip_all, fields(author_id = %author, limit))]
    pub async fn page(
        &self,
        author: UserId,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let (sql, args) = page_query(author, cursor, limit);
        let rows: Vec<MessageRow> = query_as_with(sql, &args).fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// Each author's `per_author` newest messages, in no particular order; each author's
    /// are read from the index alone, however many messages the table holds.
    #[tracing::instrument(skip_all, fields(authors = authors.len(), per_author))]
    pub async fn latest(
        &self,
        authors: &[UserId],
        per_author: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let backend = self.db.backend();
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        if authors.len() <= AUTHORS_PER_QUERY {
            let (sql, args) = latest_query(backend, authors, per_author);
            let rows: Vec<MessageRow> = query_as_with(sql, &args).fetch_all(self.db.pool()).await?;
            return Ok(rows.into_iter().map(Message::from).collect());
        }
        // Several statements: one transaction, so they read one snapshot.
        let mut found = Vec::new();
        let mut tx = self.db.pool().begin().await?;
        for authors in authors.chunks(AUTHORS_PER_QUERY) {
            let (sql, args) = latest_query(backend, authors, per_author);
            let rows: Vec<MessageRow> = query_as_with(sql, &args).fetch_all(&mut *tx).await?;
            found.extend(rows.into_iter().map(Message::from));
        }
        tx.commit().await?;
        Ok(found)
    }

    /// The engine's plan for [`latest`](Self::latest) with these arguments, one line per
    /// plan node, indented by depth: what the docs show and the tests check.
    pub async fn explain_latest(
        &self,
        authors: &[UserId],
        per_author: u32,
    ) -> Result<Vec<String>, sqlx::Error> {
        let authors = &authors[..authors.len().min(AUTHORS_PER_QUERY)];
        let (sql, args) = latest_query(self.db.backend(), authors, per_author);
        self.db.explain(&sql, &args, Explain::Plan).await
    }

    /// The engine's plan for [`page`](Self::page) with these arguments, as
    /// [`explain_latest`](Self::explain_latest) shows it.
    pub async fn explain_page(
        &self,
        author: UserId,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<String>, sqlx::Error> {
        let (sql, args) = page_query(author, cursor, limit);
        self.db.explain(&sql, &args, Explain::Plan).await
    }

    /// Fills an empty table with the demo world's messages in one transaction, keeping
    /// their ids and times, with their events (as replicated from origin `demo`, each
    /// versioned by its creation time); `None` when the table already had messages
    /// (nothing is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let mut tx = self.feed.begin().await?;
        let (existing,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT 1 FROM messages LIMIT 1) AS any_message")
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Ok(None);
        }
        // One sort after the load builds the secondary indexes several times faster than a
        // million inserts at random authors, which on SQLite also spill its page cache.
        let indexes = self
            .db
            .drop_secondary_indexes(&mut tx, &["messages"])
            .await?;
        let inserted = self
            .insert_demo_messages(&mut tx, world)
            .await
            .context("cannot insert demo messages")?;
        indexes
            .rebuild(&mut tx)
            .await
            .context("cannot rebuild the indexes")?;
        // Explicit ids bypass the identity sequence: new ids follow the demo's.
        self.db.advance_identity(&mut tx, "messages").await?;
        let head = self.record_demo_events(&mut tx, world).await?;
        tx.commit().await?;
        if let Some(head) = head {
            self.feed.committed(head.seq);
        }
        if self.db.backend() == Backend::Postgres {
            // Statistics now rather than whenever autovacuum gets to it: the planner's
            // choices for the first requests depend on them.
            sqlx::query("ANALYZE messages")
                .execute(self.db.pool())
                .await?;
        }
        kit::demo::report("messages", "messages", started);
        Ok(Some(inserted))
    }

    /// Records the world's messages' events in `conn`'s transaction, a batch at a time;
    /// returns the last one's position.
    async fn record_demo_events(
        &self,
        conn: &mut sqlx::AnyConnection,
        world: &World,
    ) -> Result<Option<Position>, sqlx::Error> {
        let mut messages = world.messages().peekable();
        let mut last = None;
        while messages.peek().is_some() {
            let changes: Vec<Change> = messages
                .by_ref()
                .take(DEMO_EVENTS_PER_BATCH)
                .map(|m| {
                    let version = m.created_at.as_micros();
                    let message = Message {
                        id: MessageId::new(m.id),
                        author_id: UserId::new(m.author_id),
                        text: m.text,
                        created_at: m.created_at,
                    };
                    upserted(&message).replicated(kit::demo::ORIGIN, version)
                })
                .collect();
            last = self.feed.load(conn, &changes).await?.or(last);
        }
        Ok(last)
    }

    /// Inserts the world's messages with their ids and times; returns how many.
    async fn insert_demo_messages(
        &self,
        conn: &mut sqlx::AnyConnection,
        world: &World,
    ) -> Result<u64, sqlx::Error> {
        let rows_per_call = match self.db.backend() {
            Backend::Sqlite => SQLITE_ROWS_PER_INSERT,
            Backend::Postgres => usize::MAX,
        };
        let mut messages = world.messages().peekable();
        let mut inserted = 0;
        while messages.peek().is_some() {
            inserted += kit::store::insert_rows(
                conn,
                "INSERT INTO messages (id, author_id, text, created_at)",
                4,
                messages.by_ref().take(rows_per_call),
                |q, m| {
                    q.bind(m.id)
                        .bind(m.author_id)
                        .bind(m.text)
                        .bind(m.created_at.as_micros())
                },
            )
            .await?;
        }
        Ok(inserted)
    }
}

/// The deletion of a user's messages, run by the follower of the users feed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveMessages;

impl Cascade for RemoveMessages {
    async fn removed(
        &self,
        conn: &mut sqlx::AnyConnection,
        subject: &str,
    ) -> Result<Vec<Change>, sqlx::Error> {
        // A subject that is no user id has no messages here.
        match subject.parse::<UserId>() {
            Ok(author) => Store::remove_author(conn, author).await,
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn orphans(
        &self,
        conn: &mut sqlx::AnyConnection,
        consumer: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        // Every author of a message held here.
        kit::feed::known::unknown_keys(conn, consumer, "messages", "author_id").await
    }
}

/// A message written on the other side of a migration: its id from the subject, its state
/// from the event (deleted when it has none). A deletion is final.
impl Replica for Store {
    const ENTITIES: &'static [&'static str] = &[ENTITY];
    const FINAL_DELETES: &'static [&'static str] = &[ENTITY];

    fn replica_feed(&self) -> &Feed {
        &self.feed
    }

    async fn apply(
        &self,
        conn: &mut sqlx::AnyConnection,
        event: &Event,
    ) -> anyhow::Result<Option<Vec<Change>>> {
        let id: MessageId = event.subject.parse()?;
        match event.data_as::<ReplicatedMessage>()? {
            Some(message) => {
                sqlx::query(
                    "INSERT INTO messages (id, author_id, text, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                     author_id = excluded.author_id, text = excluded.text, \
                     created_at = excluded.created_at",
                )
                .bind(id.get())
                .bind(message.author_id.get())
                .bind(message.text)
                .bind(message.created_at.as_micros())
                .execute(&mut *conn)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM messages WHERE id = $1")
                    .bind(id.get())
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(Some(Vec::new()))
    }
}

/// A message's state in another side's event.
#[derive(serde::Deserialize)]
struct ReplicatedMessage {
    author_id: UserId,
    text: String,
    created_at: Timestamp,
}

/// `message`'s change event: its whole state as the API shows it.
fn upserted(message: &Message) -> Change {
    Change::upserted(ENTITY, message.id, message)
}

/// The SQL of one page, with its arguments.
fn page_query(author: UserId, cursor: Cursor, limit: u32) -> (String, Vec<i64>) {
    let (condition, mut args) = match cursor {
        Cursor::Newest => ("", vec![author.get()]),
        Cursor::OlderThan(created_at, id) => (
            " AND (created_at, id) < ($2, $3)",
            vec![author.get(), created_at.as_micros(), id.get()],
        ),
        Cursor::BelowId(id) => (" AND id < $2", vec![author.get(), id.get()]),
    };
    args.push(i64::from(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE author_id = $1{condition} \
         ORDER BY created_at DESC, id DESC LIMIT ${}",
        args.len()
    );
    (sql, args)
}

/// The SQL of [`Store::latest`] for one batch of authors, with its arguments: `$1` is the
/// per-author limit, `$2…` the authors, listed in `VALUES` (the `Any` driver cannot bind
/// arrays). For each author, a `LIMIT`ed walk of the index reads that author's newest
/// entries and nothing else: through `CROSS JOIN LATERAL` on PostgreSQL; on SQLite, which
/// has no `LATERAL`, through a correlated `IN` subquery whose ids are then looked up by
/// primary key. (A `UNION ALL` of one such subquery per author plans as well on SQLite, but
/// runs two to four times slower and is capped at 500 terms.)
fn latest_query(backend: Backend, authors: &[UserId], per_author: u32) -> (String, Vec<i64>) {
    let args: Vec<i64> = std::iter::once(i64::from(per_author))
        .chain(authors.iter().map(|a| a.get()))
        .collect();
    let cast = match backend {
        Backend::Postgres => "::BIGINT",
        Backend::Sqlite => "",
    };
    let values: Vec<String> = (2..authors.len() + 2)
        .map(|n| format!("(${n}{cast})"))
        .collect();
    let values = values.join(", ");
    let newest = "ORDER BY recent.created_at DESC, recent.id DESC LIMIT $1";
    let sql = match backend {
        Backend::Postgres => format!(
            "SELECT m.id, m.author_id, m.text, m.created_at \
             FROM (VALUES {values}) AS a (author_id) \
             CROSS JOIN LATERAL (SELECT {COLUMNS} FROM messages AS recent \
             WHERE recent.author_id = a.author_id {newest}) AS m"
        ),
        Backend::Sqlite => format!(
            "SELECT m.id, m.author_id, m.text, m.created_at \
             FROM (VALUES {values}) AS a \
             JOIN messages AS m ON m.id IN (SELECT recent.id FROM messages AS recent \
             WHERE recent.author_id = a.column1 {newest})"
        ),
    };
    (sql, args)
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: MessageId::new(row.id),
            author_id: UserId::new(row.author_id),
            text: row.text,
            created_at: Timestamp::from_micros(row.created_at),
        }
    }
}

/// Inserts `creates` in one transaction: their ids in one statement, their rows in one
/// multi-row `INSERT`, their events recorded together; answers each message with the
/// position of its own event.
async fn create_all(
    feed: Feed,
    creates: Vec<(NewMessage, Timestamp)>,
) -> Result<Vec<(Message, Option<Position>)>, sqlx::Error> {
    let mut tx = feed.begin().await?;
    let ids = feed.next_ids(&mut tx, "messages", creates.len()).await?;
    let messages: Vec<Message> = ids
        .into_iter()
        .zip(creates)
        .map(|(id, (message, created_at))| {
            Message::from(MessageRow {
                id,
                author_id: message.author_id.get(),
                text: message.text.as_str().to_owned(),
                created_at: created_at.as_micros(),
            })
        })
        .collect();
    kit::store::insert_rows(
        &mut tx,
        &format!("INSERT INTO messages ({COLUMNS})"),
        4,
        messages.iter(),
        |q, m| {
            q.bind(m.id.get())
                .bind(m.author_id.get())
                .bind(m.text.clone())
                .bind(m.created_at.as_micros())
        },
    )
    .await?;
    let changes: Vec<Change> = messages.iter().map(upserted).collect();
    let positions = feed.commit_each(tx, &changes).await?;
    let mut positions = positions.into_iter();
    Ok(messages
        .into_iter()
        .map(|m| (m, positions.next()))
        .collect())
}
