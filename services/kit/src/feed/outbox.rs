//! The outbox: a service's change events, in tables of its own database, written in the
//! same transaction as the rows they describe.
//!
//! Three tables, created by [`Feed::open`] when missing (the same on SQLite and PostgreSQL):
//!
//! - `feed_events`: one row per event, keyed by `seq`, with a unique index on
//!   `(entity, subject)`: an entity's new event replaces its previous one in the same
//!   statement (an upsert on that key), so the log is compacted as it is written and never
//!   holds two events of one entity. Replaying it from 0 yields every live entity's current state and
//!   the tombstones of entities deleted within the retention period.
//! - `feed_state`: one row with the head (the last `seq` handed out) and `oldest`, the
//!   smallest position a reader may still resume from (the highest `seq` of a tombstone
//!   that expired: a reader behind it may have missed a deletion and must replay from 0).
//! - `feed_positions`: the positions of this service's own followers of other feeds,
//!   stored with the effects they applied.
//! - `feed_ids`: per table, the last id this writer handed out ([`Feed::next_id`]).
//!
//! `seq` follows commit order on both engines: a write takes its numbers from `feed_state`
//! as its last statement before committing, and the row lock that `UPDATE` takes is held
//! to the commit, so a writer that numbers after another also commits after it (SQLite's
//! single writer gives the same order by itself). A reader that has seen `seq = n`
//! therefore never later finds a committed event below `n`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::hlc::Hlc;
use super::{Event, Position, SPEC_VERSION};
use crate::ids::IdSlot;
use crate::store::{Backend, Db};
use crate::timestamp::Timestamp;

/// How a feed keeps and serves its events.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// How long a deletion's tombstone stays in the feed (readers further behind replay).
    pub tombstone_retention: Duration,
    /// The longest a `GET /changes?wait=` waits (kept below the request timeout).
    pub max_wait: Duration,
    /// How often expired tombstones are removed.
    pub compaction_interval: Duration,
    /// The ids this writer hands out ([`Feed::next_id`]) when other writers create rows of
    /// the same tables (the two sides of a migration).
    pub ids: IdSlot,
}

/// A service's feed. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    source: String,
    /// Chosen when the feed was created: event ids stay unique if a feed is ever rebuilt.
    epoch: i64,
    clock: Hlc,
    /// The last committed head this process knows of; long polls wait on it.
    head: watch::Sender<u64>,
    options: FeedOptions,
}

/// One change a write makes, recorded by [`Feed::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    entity: &'static str,
    subject: String,
    /// The entity's JSON state; `None` for a deletion.
    data: Option<String>,
    /// Set for a change applied from another feed: where it was made, and its version there.
    replicated: Option<(String, i64)>,
}

/// The version, origin and liveness of an entity's latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Its version.
    pub version: i64,
    /// Where the write was made.
    pub origin: String,
    /// Whether it was a deletion.
    pub deleted: bool,
}

/// One page of a feed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ChangePage)]
pub struct Page {
    /// Events after the requested position, in `seq` order.
    pub changes: Vec<Event>,
    /// Where to continue: the last event's `seq`, or the head when the page reached it.
    pub next_after: u64,
    /// The feed's last position when the page was read.
    pub head: u64,
    /// The smallest position (besides 0) a reader may resume from when the page was read.
    /// A reader replaying from 0 keeps the value its first page gave and sends it back as
    /// `oldest` with every later read of that replay: positions below it stay readable as
    /// long as no tombstone expired since the replay began.
    #[serde(default)]
    pub oldest: u64,
}

/// Why a read gives no page.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The feed no longer holds everything after the requested position (or never had it):
    /// replay from 0.
    #[error(
        "the feed no longer holds what follows position {after}; the oldest position to resume \
         from is {oldest} (or replay from 0)"
    )]
    Gone {
        /// The position asked for.
        after: u64,
        /// The smallest position still valid (besides 0).
        oldest: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// An event as inserted.
struct EventRow {
    seq: i64,
    id: String,
    entity: &'static str,
    subject: String,
    version: i64,
    origin: String,
    data: Option<String>,
}

/// Statements that create the feed's tables when missing; valid on both engines (on SQLite
/// `seq` becomes the rowid, see [`Feed::open`]).
const SCHEMA: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS feed_events (\
         seq      BIGINT PRIMARY KEY, \
         event_id TEXT   NOT NULL, \
         entity   TEXT   NOT NULL, \
         subject  TEXT   NOT NULL, \
         time     BIGINT NOT NULL, \
         version  BIGINT NOT NULL, \
         origin   TEXT   NOT NULL, \
         data     TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS feed_events_by_key ON feed_events (entity, subject)",
    "CREATE INDEX IF NOT EXISTS feed_tombstones ON feed_events (time) WHERE data IS NULL",
    "CREATE TABLE IF NOT EXISTS feed_state (\
         id     BIGINT PRIMARY KEY CHECK (id = 1), \
         head   BIGINT NOT NULL, \
         oldest BIGINT NOT NULL, \
         epoch  BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feed_positions (\
         consumer   TEXT   PRIMARY KEY, \
         position   BIGINT NOT NULL, \
         updated_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feed_ids (\
         name TEXT   PRIMARY KEY, \
         last BIGINT NOT NULL)",
];

const EVENT_COLUMNS: &str = "seq, event_id, entity, subject, time, version, origin, data";

/// The version an own change's event takes when it replaces its entity's previous event:
/// its clock's, or past the previous one's when that is ahead.
const OWN_VERSION: &str = "CASE WHEN excluded.version > feed_events.version \
     THEN excluded.version ELSE feed_events.version + 1 END";

/// Whether an insert of events may meet its entities' previous events.
#[derive(Debug, Clone, Copy)]
enum Supersede {
    /// Each event replaces its entity's previous one (the unique key on `(entity, subject)`).
    Replace,
    /// The feed holds no event of these entities (a bulk fill of an empty store).
    NothingHeld,
}

// === impl FeedOptions ===

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            tombstone_retention: Duration::from_secs(24 * 3600),
            max_wait: Duration::from_secs(30),
            compaction_interval: Duration::from_secs(60),
            ids: IdSlot::ONLY,
        }
    }
}

// === impl Change ===

impl Change {
    /// `entity` `subject` now has the state `state` (its API representation).
    pub fn upserted(
        entity: &'static str,
        subject: impl fmt::Display,
        state: &impl Serialize,
    ) -> Self {
        Self {
            entity,
            subject: subject.to_string(),
            // Every entity the services write serializes: plain structs with string keys.
            data: Some(serde_json::to_string(state).unwrap_or_else(|_| "null".to_owned())),
            replicated: None,
        }
    }

    /// `entity` `subject` was deleted.
    pub fn deleted(entity: &'static str, subject: impl fmt::Display) -> Self {
        Self {
            entity,
            subject: subject.to_string(),
            data: None,
            replicated: None,
        }
    }

    /// The same change, applied from the feed of `origin` where it has `version`: recorded
    /// with that origin and version, so it is never sent back and both sides agree on it.
    #[must_use]
    pub fn replicated(mut self, origin: impl Into<String>, version: i64) -> Self {
        self.replicated = Some((origin.into(), version));
        self
    }

    /// `event`'s change as this side records it (same entity, subject and data), for an
    /// entity type among `entities`; `None` for another. Mark it
    /// [`replicated`](Self::replicated) to keep the event's origin and version.
    pub fn from_event(event: &Event, entities: &[&'static str]) -> Option<Self> {
        let entity = entities.iter().find(|e| **e == event.entity())?;
        Some(Self {
            entity,
            subject: event.subject.clone(),
            data: if event.is_deletion() {
                None
            } else {
                event.data.as_ref().map(|raw| raw.get().to_owned())
            },
            replicated: None,
        })
    }

    /// The entity type.
    pub fn entity(&self) -> &'static str {
        self.entity
    }

    /// The entity key.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

// === impl Feed ===

impl Feed {
    /// The feed of `source` in `db`, creating its tables when missing.
    pub async fn open(db: Db, source: &str, options: FeedOptions) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        for statement in SCHEMA {
            // On SQLite `seq` is the rowid (`INTEGER PRIMARY KEY`): the table's own b-tree
            // is ordered by it, with no second index to keep on every write.
            let statement = match db.backend() {
                Backend::Sqlite => statement.replace(
                    "seq      BIGINT PRIMARY KEY",
                    "seq      INTEGER PRIMARY KEY",
                ),
                Backend::Postgres => statement.to_owned(),
            };
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(db.pool())
                .await
                .context("cannot create the feed's tables")?;
        }
        sqlx::query(
            "INSERT INTO feed_state (id, head, oldest, epoch) VALUES (1, 0, 0, $1) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(Timestamp::now().as_micros())
        .execute(db.pool())
        .await
        .context("cannot initialise the feed")?;
        let (head, epoch): (i64, i64) =
            sqlx::query_as("SELECT head, epoch FROM feed_state WHERE id = 1")
                .fetch_one(db.pool())
                .await
                .context("cannot read the feed's head")?;
        let (top,): (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM feed_events")
            .fetch_one(db.pool())
            .await
            .context("cannot read the feed's versions")?;
        let (head, _) = watch::channel(to_u64(head));
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                source: source.to_owned(),
                epoch,
                clock: Hlc::starting_above(top.unwrap_or(0)),
                head,
                options,
            }),
        })
    }

    /// The feed's source name.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The database the feed lives in.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The clock that stamps versions: replication observes other sides' versions on it.
    pub fn clock(&self) -> &Hlc {
        &self.inner.clock
    }

    /// The options the feed was opened with.
    pub fn options(&self) -> &FeedOptions {
        &self.inner.options
    }

    /// The last position this process committed or read as the head.
    pub fn head(&self) -> u64 {
        *self.inner.head.borrow()
    }

    /// A receiver of the head, changed after each commit of this process.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    /// Begins a write transaction (on SQLite with the write lock taken at once, so a
    /// transaction that reads before it writes never fails to upgrade its lock).
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        self.inner.db.begin_write().await
    }

    /// Records `changes` in `conn`'s transaction (call it last, just before committing:
    /// from here to the commit the transaction holds the feed's numbering lock). Returns
    /// the position of the last change; `None` for no changes.
    pub async fn record(
        &self,
        conn: &mut AnyConnection,
        changes: &[Change],
    ) -> Result<Option<Position>, sqlx::Error> {
        let changes = last_per_key(changes);
        self.insert(conn, &changes, Supersede::Replace).await
    }

    /// Records `changes` in `conn`'s transaction like [`record`](Self::record), for a bulk
    /// fill (the demo world into an empty store): when the feed holds no event of the
    /// changes' entity types yet, nothing can be superseded and the per-subject compaction
    /// is skipped; otherwise this is `record`. Call it last, just before committing.
    pub async fn load(
        &self,
        conn: &mut AnyConnection,
        changes: &[Change],
    ) -> Result<Option<Position>, sqlx::Error> {
        let mut entities: Vec<&'static str> = changes.iter().map(|c| c.entity).collect();
        entities.sort_unstable();
        entities.dedup();
        if entities.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM feed_events WHERE entity IN ({}) LIMIT 1) AS any_event",
            crate::store::placeholders(1, entities.len())
        );
        let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
        for entity in &entities {
            query = query.bind(*entity);
        }
        let (held,) = query.fetch_one(&mut *conn).await?;
        if held > 0 {
            return self.record(conn, changes).await;
        }
        let changes = last_per_key(changes);
        self.insert(conn, &changes, Supersede::NothingHeld).await
    }

    /// Numbers `changes` (taking the feed's numbering lock) and inserts their events, each
    /// replacing its entity's previous event unless `supersede` says none is held: two
    /// statements, whatever the number of changes up to a few hundred.
    async fn insert(
        &self,
        conn: &mut AnyConnection,
        changes: &[&Change],
        supersede: Supersede,
    ) -> Result<Option<Position>, sqlx::Error> {
        if changes.is_empty() {
            return Ok(None);
        }
        let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
        let (head,): (i64,) =
            sqlx::query_as("UPDATE feed_state SET head = head + $1 WHERE id = 1 RETURNING head")
                .bind(count)
                .fetch_one(&mut *conn)
                .await?;
        let first = head - count + 1;
        let now = Timestamp::now().as_micros();
        // Owned rows: the insert's future then borrows nothing but the connection.
        // Own changes and replicated ones apart: an own change's version must also pass
        // the event it replaces (written by another process on the same database, whose
        // clock may lag), a replicated one keeps the version it has at its origin.
        let (mut own, mut replicated) = (Vec::new(), Vec::new());
        for (change, seq) in changes.iter().zip(first..) {
            let (origin, version) = match &change.replicated {
                Some((origin, version)) => {
                    self.inner.clock.observe(*version);
                    (origin.clone(), *version)
                }
                None => (self.inner.source.clone(), self.inner.clock.tick()),
            };
            let row = EventRow {
                seq,
                id: format!("{}-{:x}-{seq}", self.inner.source, self.inner.epoch),
                entity: change.entity,
                subject: change.subject.clone(),
                version,
                origin,
                data: change.data.clone(),
            };
            if change.replicated.is_some() {
                replicated.push(row);
            } else {
                own.push(row);
            }
        }
        for (rows, version) in [(own, OWN_VERSION), (replicated, "excluded.version")] {
            if rows.is_empty() {
                continue;
            }
            let tail = match supersede {
                Supersede::NothingHeld => String::new(),
                Supersede::Replace => format!(
                    " ON CONFLICT (entity, subject) DO UPDATE SET seq = excluded.seq, \
                     event_id = excluded.event_id, time = excluded.time, version = {version}, \
                     origin = excluded.origin, data = excluded.data"
                ),
            };
            crate::store::insert_rows_then(
                conn,
                &format!("INSERT INTO feed_events ({EVENT_COLUMNS})"),
                8,
                rows,
                &tail,
                move |q, row| {
                    q.bind(row.seq)
                        .bind(row.id)
                        .bind(row.entity)
                        .bind(row.subject)
                        .bind(now)
                        .bind(row.version)
                        .bind(row.origin)
                        .bind(row.data)
                },
            )
            .await?;
        }
        Ok(Some(Position::new(self.inner.source.clone(), to_u64(head))))
    }

    /// Records `changes` in `tx`, commits it, and wakes the feed's long polls. Returns the
    /// position of the last change; `None` for no changes.
    pub async fn commit(
        &self,
        mut tx: Transaction<'static, Any>,
        changes: &[Change],
    ) -> Result<Option<Position>, sqlx::Error> {
        let position = self.record(&mut tx, changes).await?;
        tx.commit().await?;
        if let Some(position) = &position {
            self.committed(position.seq);
        }
        Ok(position)
    }

    /// Records `changes` (each of a different entity) in `tx`, commits it and wakes the
    /// long polls, like [`commit`](Self::commit), answering each change's own position.
    pub async fn commit_each(
        &self,
        tx: Transaction<'static, Any>,
        changes: &[Change],
    ) -> Result<Vec<Position>, sqlx::Error> {
        let distinct = last_per_key(changes).len() == changes.len();
        let Some(last) = self.commit(tx, changes).await? else {
            return Ok(Vec::new());
        };
        // `record` numbers the changes in order, one `seq` each, ending at the last.
        let count = changes.len() as u64;
        Ok((0..count)
            .map(|i| {
                let seq = if distinct {
                    last.seq + 1 + i - count
                } else {
                    last.seq
                };
                Position::new(last.source.clone(), seq)
            })
            .collect())
    }

    /// Tells the feed's long polls that `seq` committed (after a commit of [`record`](Self::record)).
    pub fn committed(&self, seq: u64) {
        self.inner.head.send_if_modified(|head| {
            let newer = seq > *head;
            if newer {
                *head = seq;
            }
            newer
        });
    }

    /// A new id for a row of `table` (whose key column is `id`), in `conn`'s transaction:
    /// the smallest id of this writer's [slot](FeedOptions::ids) above both the last one it
    /// handed out and every id in the table (rows replicated from other writers included).
    /// A deleted row's id is never handed out again. The `feed_ids` row is locked to the
    /// commit (PostgreSQL), so concurrent creators take turns; on SQLite the write
    /// transaction already holds the database's write lock.
    pub async fn next_id(
        &self,
        conn: &mut AnyConnection,
        table: &'static str,
    ) -> Result<i64, sqlx::Error> {
        let ids = self.next_ids(conn, table, 1).await?;
        ids.first()
            .copied()
            .ok_or_else(|| sqlx::Error::Protocol(format!("no id for {table}")))
    }

    /// `count` new ids for rows of `table`, ascending, as [`next_id`](Self::next_id) would
    /// hand them out one after the other, in one statement.
    pub async fn next_ids(
        &self,
        conn: &mut AnyConnection,
        table: &'static str,
        count: usize,
    ) -> Result<Vec<i64>, sqlx::Error> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let of = i64::from(self.inner.options.ids.writers());
        let residue = i64::from(self.inner.options.ids.slot()) % of;
        let too_many = || sqlx::Error::Protocol(format!("too many ids of {table} at once"));
        let count = i64::try_from(count).map_err(|_| too_many())?;
        let more = (count - 1).checked_mul(of).ok_or_else(too_many)?;
        // One statement: the slot's next id above the table's largest (the row's first
        // use) or above both that and the last one handed out, plus `more` for the rest
        // of the batch; on PostgreSQL `ON CONFLICT DO UPDATE` reads `feed_ids.last` as
        // committed by the writer it waited for. The bare `SELECT MAX(id) FROM t` is what
        // both engines answer from the key's index (SQLite's min/max optimisation needs
        // exactly that form: wrapped, it scans the table).
        let next = |x: &str| {
            format!(
                "({x} - {x} % $2 + $3 + CASE WHEN {x} - {x} % $2 + $3 > {x} THEN 0 ELSE $2 END + $4)"
            )
        };
        let sql = format!(
            "INSERT INTO feed_ids (name, last) \
             SELECT $1, {first} FROM (SELECT COALESCE((SELECT MAX(id) FROM {table}), 0) AS top) AS t \
             WHERE true \
             ON CONFLICT (name) DO UPDATE SET last = CASE WHEN excluded.last > {after_last} \
             THEN excluded.last ELSE {after_last} END \
             RETURNING last",
            first = next("t.top"),
            after_last = next("feed_ids.last"),
        );
        let (last,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(table)
            .bind(of)
            .bind(residue)
            .bind(more)
            .fetch_one(&mut *conn)
            .await?;
        let first = last - more;
        Ok((0..count).map(|i| first + i * of).collect())
    }

    /// The latest event's version, origin and liveness of `entity` `subject`, as `conn`'s
    /// transaction sees it; `None` when the feed holds none.
    pub async fn stamp(
        &self,
        conn: &mut AnyConnection,
        entity: &str,
        subject: &str,
    ) -> Result<Option<Stamp>, sqlx::Error> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT version, origin, CAST(CASE WHEN data IS NULL THEN 1 ELSE 0 END AS BIGINT) \
             FROM feed_events WHERE entity = $1 AND subject = $2",
        )
        .bind(entity.to_owned())
        .bind(subject.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(|(version, origin, deleted)| Stamp {
            version,
            origin,
            deleted: deleted == 1,
        }))
    }

    /// Up to `limit` events after `after`, of the given entity types (all when empty).
    pub async fn read(
        &self,
        after: u64,
        limit: u32,
        entities: &[String],
    ) -> Result<Page, ReadError> {
        self.read_replaying(after, None, limit, entities).await
    }

    /// Like [`read`](Self::read), for a reader replaying from 0 whose replay's first page
    /// said `oldest` is `replay_oldest` (see [`Page::oldest`]): `after` may then lie below
    /// the feed's `oldest` as long as that has not moved since, that is as long as no
    /// tombstone the reader could have needed expired. (A tombstone that had expired before
    /// the replay began took its entity's last event with it: the replay never saw it.)
    pub async fn read_replaying(
        &self,
        after: u64,
        replay_oldest: Option<u64>,
        limit: u32,
        entities: &[String],
    ) -> Result<Page, ReadError> {
        let pool = self.inner.db.pool();
        // Head first, each statement its own snapshot: every event up to a committed head is
        // visible to the statement after it.
        let (head, oldest): (i64, i64) =
            sqlx::query_as("SELECT head, oldest FROM feed_state WHERE id = 1")
                .fetch_one(pool)
                .await?;
        let (head, oldest) = (to_u64(head), to_u64(oldest));
        let missed_a_deletion = after < oldest && replay_oldest != Some(oldest);
        if after != 0 && (missed_a_deletion || after > head) {
            return Err(ReadError::Gone { after, oldest });
        }
        let filter = if entities.is_empty() {
            String::new()
        } else {
            // `entity || ''`: a filter, not an index choice. Read through the index on
            // `(entity, subject)`, a page would be every event of the type sorted by `seq`
            // (a million for the monolith's messages, for each page of a replay); read in
            // `seq` order and filtered, it stops at the page's last event.
            format!(
                " AND (entity || '') IN ({})",
                crate::store::placeholders(4, entities.len())
            )
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM feed_events WHERE seq > $1 AND seq <= $2{filter} \
             ORDER BY seq LIMIT $3"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_i64(after))
            .bind(to_i64(head))
            .bind(i64::from(limit));
        for entity in entities {
            query = query.bind(entity.clone());
        }
        let rows = query.fetch_all(pool).await?;
        let changes = rows
            .iter()
            .map(|row| self.event(row))
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = match changes.last() {
            Some(last) if changes.len() >= limit as usize => last.seq,
            _ => head.max(after),
        };
        self.committed(head);
        Ok(Page {
            changes,
            next_after,
            head,
            oldest,
        })
    }

    /// Like [`read`](Self::read), but when nothing newer is there yet, waits up to `wait`
    /// (capped at the feed's `max_wait`) for a commit and reads again.
    pub async fn read_waiting(
        &self,
        after: u64,
        limit: u32,
        entities: &[String],
        wait: Duration,
    ) -> Result<Page, ReadError> {
        self.read_waiting_replaying(after, None, limit, entities, wait)
            .await
    }

    /// [`read_waiting`](Self::read_waiting) for a reader replaying from 0 (see
    /// [`read_replaying`](Self::read_replaying)).
    pub async fn read_waiting_replaying(
        &self,
        after: u64,
        replay_oldest: Option<u64>,
        limit: u32,
        entities: &[String],
        wait: Duration,
    ) -> Result<Page, ReadError> {
        let deadline = tokio::time::Instant::now() + wait.min(self.inner.options.max_wait);
        let mut commits = self.inner.head.subscribe();
        // Writers in other processes (several replicas on one PostgreSQL) wake nobody here:
        // look again at this interval while waiting.
        let recheck = match self.inner.db.backend() {
            Backend::Postgres => Duration::from_millis(250),
            Backend::Sqlite => Duration::from_secs(3600),
        };
        loop {
            commits.borrow_and_update();
            let page = self
                .read_replaying(after, replay_oldest, limit, entities)
                .await?;
            let now = tokio::time::Instant::now();
            // A page of no events of the asked types still moves the reader past the
            // commits of other types: its position then shows it has seen the whole feed
            // up to the head (what a hand-over waits for).
            if !page.changes.is_empty() || page.next_after > after || now >= deadline {
                return Ok(page);
            }
            let until = deadline.min(now + recheck);
            tokio::select! {
                _ = commits.changed() => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// The stored position of follower `consumer` (0 when it has none).
    pub async fn position(&self, consumer: &str) -> Result<u64, sqlx::Error> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT position FROM feed_positions WHERE consumer = $1")
                .bind(consumer.to_owned())
                .fetch_optional(self.inner.db.pool())
                .await?;
        Ok(row.map_or(0, |(p,)| to_u64(p)))
    }

    /// Stores follower `consumer`'s position in `conn`'s transaction, with the effects it
    /// applied.
    pub async fn save_position(
        &self,
        conn: &mut AnyConnection,
        consumer: &str,
        position: u64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO feed_positions (consumer, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, \
             updated_at = excluded.updated_at",
        )
        .bind(consumer.to_owned())
        .bind(to_i64(position))
        .bind(Timestamp::now().as_micros())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Removes tombstones older than the retention period and moves `oldest` past them.
    /// Returns how many were removed.
    pub async fn expire_tombstones(&self) -> Result<u64, sqlx::Error> {
        let retention =
            i64::try_from(self.inner.options.tombstone_retention.as_micros()).unwrap_or(i64::MAX);
        let cutoff = Timestamp::now().as_micros().saturating_sub(retention);
        let mut tx = self.begin().await?;
        let removed: Vec<(i64,)> = sqlx::query_as(
            "DELETE FROM feed_events WHERE data IS NULL AND time < $1 RETURNING seq",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(top) = removed.iter().map(|(seq,)| *seq).max() {
            sqlx::query(
                "UPDATE feed_state SET oldest = CASE WHEN oldest < $1 THEN $1 ELSE oldest END \
                 WHERE id = 1",
            )
            .bind(top)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(removed.len() as u64)
    }

    /// The number of events the feed holds.
    pub async fn size(&self) -> Result<u64, sqlx::Error> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM feed_events")
            .fetch_one(self.inner.db.pool())
            .await?;
        Ok(to_u64(count))
    }

    /// Expires tombstones every `compaction_interval` until `stop`.
    pub fn spawn_compaction(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let feed = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(feed.inner.options.compaction_interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                match feed.expire_tombstones().await {
                    Ok(0) => {}
                    Ok(removed) => {
                        tracing::info!(source = %feed.inner.source, removed, "expired tombstones removed from the feed");
                    }
                    Err(err) => {
                        tracing::warn!(source = %feed.inner.source, %err, "feed compaction failed; retrying later");
                    }
                }
            }
        })
    }

    fn event(&self, row: &AnyRow) -> Result<Event, sqlx::Error> {
        let entity: String = row.try_get("entity")?;
        let data: Option<String> = row.try_get("data")?;
        let data = data
            .map(RawValue::from_string)
            .transpose()
            .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
        let kind = if data.is_some() {
            format!("{entity}.upserted")
        } else {
            format!("{entity}.deleted")
        };
        Ok(Event {
            specversion: SPEC_VERSION.to_owned(),
            id: row.try_get("event_id")?,
            source: self.inner.source.clone(),
            kind,
            subject: row.try_get("subject")?,
            time: Timestamp::from_micros(row.try_get("time")?),
            datacontenttype: data.as_ref().map(|_| "application/json".to_owned()),
            data,
            seq: to_u64(row.try_get("seq")?),
            version: row.try_get("version")?,
            origin: row.try_get("origin")?,
        })
    }
}

/// Each entity's last change of `changes`, in the order those last changes come.
fn last_per_key(changes: &[Change]) -> Vec<&Change> {
    let mut last: HashMap<(&str, &str), usize> = HashMap::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        last.insert((change.entity, &change.subject), i);
    }
    changes
        .iter()
        .enumerate()
        .filter(|(i, c)| last.get(&(c.entity, c.subject.as_str())) == Some(i))
        .map(|(_, c)| c)
        .collect()
}

/// Sequence numbers and counts are never negative in the tables.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
