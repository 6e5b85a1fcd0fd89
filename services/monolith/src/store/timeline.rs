//! The timeline as one SQL statement per backend.
//!
//! Both read, per friend, one index entry to rank them (their newest message), keep the
//! `limit` best-ranked friends, and only for those read up to `per_friend` index entries:
//! never every message of every friend. Ranking: newest message first (`created_at`, then
//! higher id), friends without messages after them by ascending id; within an entry, newest
//! first. Selecting from the owner's row makes "no such user" (no row) distinguishable from
//! "no friends" (one row of NULLs).

use kit::ids::{MessageId, UserId};
use kit::store::{Backend, Explain};
use kit::timestamp::Timestamp;

use super::Store;
use crate::domain::{Entry, TimelineParams};

/// PostgreSQL: a `LATERAL … LIMIT 1` gives each friend's newest message, the friends are
/// ranked and cut to `$2`, then a `LATERAL … LIMIT $3` reads each shown friend's messages.
const POSTGRES_SQL: &str = "\
WITH shown AS (
    SELECT f.friend_id, n.created_at AS newest_at, n.id AS newest_id
      FROM friendships AS f
      LEFT JOIN LATERAL (
            SELECT m.id, m.created_at
              FROM messages AS m
             WHERE m.author_id = f.friend_id
             ORDER BY m.created_at DESC, m.id DESC
             LIMIT 1) AS n ON TRUE
     WHERE f.user_id = $1
     ORDER BY n.created_at DESC NULLS LAST, n.id DESC NULLS LAST, f.friend_id
     LIMIT $2
)
SELECT s.friend_id, u.name, u.avatar_url, m.id AS message_id, m.text, m.created_at
  FROM users AS owner
  LEFT JOIN shown AS s ON TRUE
  LEFT JOIN users AS u ON u.id = s.friend_id
  LEFT JOIN LATERAL (
        SELECT id, text, created_at
          FROM messages
         WHERE author_id = s.friend_id
         ORDER BY created_at DESC, id DESC
         LIMIT $3) AS m ON TRUE
 WHERE owner.id = $1
 ORDER BY s.newest_at DESC NULLS LAST, s.newest_id DESC NULLS LAST, s.friend_id,
          m.created_at DESC, m.id DESC";

/// SQLite (no `LATERAL`): a correlated `LIMIT 1` subquery gives each friend's newest message
/// id (materialized, so it runs once per friend rather than once per use), the friends are
/// ranked and cut to `$2`, then `IN (SELECT … LIMIT $3)` correlated on each shown friend
/// reads their messages.
const SQLITE_SQL: &str = "\
WITH newest AS MATERIALIZED (
    SELECT f.friend_id,
           (SELECT m.id
              FROM messages AS m
             WHERE m.author_id = f.friend_id
             ORDER BY m.created_at DESC, m.id DESC
             LIMIT 1) AS newest_id
      FROM friendships AS f
     WHERE f.user_id = $1
),
shown AS (
    SELECT w.friend_id, n.created_at AS newest_at, w.newest_id
      FROM newest AS w
      LEFT JOIN messages AS n ON n.id = w.newest_id
     ORDER BY newest_at DESC NULLS LAST, w.newest_id DESC NULLS LAST, w.friend_id
     LIMIT $2
)
SELECT s.friend_id, u.name, u.avatar_url, m.id AS message_id, m.text, m.created_at
  FROM users AS owner
  LEFT JOIN shown AS s ON 1 = 1
  LEFT JOIN users AS u ON u.id = s.friend_id
  LEFT JOIN messages AS m ON m.id IN (
        SELECT id
          FROM messages
         WHERE author_id = s.friend_id
         ORDER BY created_at DESC, id DESC
         LIMIT $3)
 WHERE owner.id = $1
 ORDER BY s.newest_at DESC NULLS LAST, s.newest_id DESC NULLS LAST, s.friend_id,
          m.created_at DESC, m.id DESC";

/// One (friend, message) of the statement; all NULL for the owner without friends, the
/// message's columns NULL for a friend without messages.
#[derive(sqlx::FromRow)]
struct TimelineRow {
    friend_id: Option<UserId>,
    name: Option<String>,
    avatar_url: Option<String>,
    message_id: Option<MessageId>,
    text: Option<String>,
    created_at: Option<Timestamp>,
}

// === impl Store ===

impl Store {
    /// The timeline's entries for `user`, in order; `None` when there is no such user.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn timeline(
        &self,
        user: UserId,
        params: TimelineParams,
    ) -> Result<Option<Vec<Entry>>, sqlx::Error> {
        let rows: Vec<TimelineRow> = sqlx::query_as(self.timeline_sql())
            .bind(user)
            .bind(i64::from(params.limit.get()))
            .bind(i64::from(params.per_friend.get()))
            .fetch_all(self.db.pool())
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(entries(rows)))
    }

    /// The timeline statement of this store's backend.
    pub fn timeline_sql(&self) -> &'static str {
        match self.db.backend() {
            Backend::Postgres => POSTGRES_SQL,
            Backend::Sqlite => SQLITE_SQL,
        }
    }

    /// How the database runs the timeline statement for `user`, one line per plan node,
    /// indented by depth: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)`
    /// (which runs it) on PostgreSQL. For benchmarks and documentation.
    pub async fn explain_timeline(
        &self,
        user: UserId,
        params: TimelineParams,
    ) -> Result<Vec<String>, sqlx::Error> {
        let args = [
            user.get(),
            i64::from(params.limit.get()),
            i64::from(params.per_friend.get()),
        ];
        self.db
            .explain(self.timeline_sql(), &args, Explain::Analyze)
            .await
    }
}

/// Groups the rows, already in timeline order, into entries: one per friend, their
/// messages in row order.
fn entries(rows: Vec<TimelineRow>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for row in rows {
        let Some(friend_id) = row.friend_id else {
            continue;
        };
        if entries.last().is_none_or(|e| e.friend_id() != friend_id) {
            entries.push(Entry::new(friend_id, row.name, row.avatar_url));
        }
        if let (Some(id), Some(text), Some(created_at), Some(entry)) =
            (row.message_id, row.text, row.created_at, entries.last_mut())
        {
            entry.push(id, text, created_at);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(friend: Option<i64>, message: Option<i64>) -> TimelineRow {
        TimelineRow {
            friend_id: friend.map(UserId::new),
            name: friend.map(|f| format!("user {f}")),
            avatar_url: None,
            message_id: message.map(MessageId::new),
            text: message.map(|m| format!("m{m}")),
            created_at: message.map(Timestamp::from_micros),
        }
    }

    #[test]
    fn groups_consecutive_rows_by_friend_keeping_row_order() {
        let got = entries(vec![
            row(Some(7), Some(30)),
            row(Some(7), Some(20)),
            row(Some(3), Some(25)),
            row(Some(9), None),
        ]);
        let shape: Vec<(i64, Vec<i64>)> = got
            .iter()
            .map(|e| {
                (
                    e.friend_id().get(),
                    e.messages.iter().map(|m| m.id.get()).collect(),
                )
            })
            .collect();
        assert_eq!(shape, vec![(7, vec![30, 20]), (3, vec![25]), (9, vec![])]);
        assert_eq!(got[0].friend.name.as_deref(), Some("user 7"));
    }

    #[test]
    fn the_owner_row_alone_is_an_empty_timeline() {
        assert!(entries(vec![row(None, None)]).is_empty());
    }
}
