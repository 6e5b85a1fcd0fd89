//! The messages table. Rows are read straight into [`Message`]s, and every read but the
//! one by id walks `messages_by_author_newest` (`author_id, created_at DESC, id DESC`): a
//! seek to the author and at most `LIMIT` entries from there.

use kit::feed::{Change, Position};
use kit::ids::{MessageId, UserId};
use kit::store::{Backend, query_as_with};
use kit::timestamp::Timestamp;

use super::{MESSAGE_EVENT, Store};
use crate::domain::{Message, NewMessage};

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

/// The columns of a [`Message`], in its order.
const MESSAGE: &str = "id, author_id, text, created_at";

/// Newest first, ties broken by the higher id: the order of the index.
const NEWEST_FIRST: &str = "created_at DESC, id DESC";

// === impl Store ===

impl Store {
    /// Posts a message created now and returns it with its id, with its
    /// `message.upserted` event's position; `None` when the author does not exist (the
    /// foreign key refuses the row, so nothing is written).
    #[tracing::instrument(skip_all, fields(author_id = %message.author_id))]
    pub async fn create_message(
        &self,
        message: &NewMessage,
    ) -> Result<Option<(Message, Position)>, sqlx::Error> {
        let sql = format!(
            "INSERT INTO messages (id, author_id, text, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {MESSAGE}"
        );
        let mut tx = self.feed.begin().await?;
        let id = self.feed.next_id(&mut tx, "messages").await?;
        let inserted = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(message.author_id)
            .bind(message.text.clone())
            .bind(Timestamp::now())
            .fetch_one(&mut *tx)
            .await;
        let message: Message = match inserted {
            Err(err) if kit::store::is_foreign_key_violation(&err) => return Ok(None),
            other => other?,
        };
        let change = Change::upserted(MESSAGE_EVENT, message.id, &message);
        let position = self.commit(tx, &[change]).await?;
        Ok(Some((message, position)))
    }

    /// The message with this id, if any.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn get_message(&self, id: MessageId) -> Result<Option<Message>, sqlx::Error> {
        let sql = format!("SELECT {MESSAGE} FROM messages WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
    }

    /// Deletes the message, with its `message.deleted` event; `None` when there was none.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn delete_message(&self, id: MessageId) -> Result<Option<Position>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let done = sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let change = Change::deleted(MESSAGE_EVENT, id);
        Ok(Some(self.commit(tx, &[change]).await?))
    }

    /// Where a page that starts below message `before` starts: at that message's position
    /// when it exists, else below its id.
    #[tracing::instrument(skip_all, fields(message_id = %before))]
    pub async fn cursor(&self, before: MessageId) -> Result<Cursor, sqlx::Error> {
        let position: Option<Timestamp> =
            sqlx::query_scalar("SELECT created_at FROM messages WHERE id = $1")
                .bind(before)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(position.map_or(Cursor::BelowId(before), |at| Cursor::OlderThan(at, before)))
    }

    /// Up to `limit` of the author's messages from `cursor` on, newest first (higher
    /// `created_at`, ties broken by the higher id).
    #[tracing::instrument(skip_all, fields(author_id = %author, limit))]
    pub async fn message_page(
        &self,
        author: UserId,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let (sql, args) = page_query(author, cursor, limit);
        query_as_with(sql, &args).fetch_all(self.db.pool()).await
    }

    /// Up to `per_author` newest messages of each of `authors`, author by author in the
    /// order given and each author's newest first, in one statement that reads at most
    /// `per_author` index entries per author.
    #[tracing::instrument(skip_all, fields(authors = authors.len(), per_author))]
    pub async fn latest_messages(
        &self,
        authors: &[UserId],
        per_author: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, args) = latest_query(self.db.backend(), authors, per_author);
        query_as_with(sql, &args).fetch_all(self.db.pool()).await
    }
}

/// The SQL of one page of `author`'s messages, with its arguments.
pub(super) fn page_query(author: UserId, cursor: Cursor, limit: u32) -> (String, Vec<i64>) {
    let mut args = vec![author.get()];
    let below = match cursor {
        Cursor::Newest => String::new(),
        Cursor::OlderThan(created_at, id) => {
            args.extend([created_at.as_micros(), id.get()]);
            " AND (created_at, id) < ($2, $3)".to_owned()
        }
        Cursor::BelowId(id) => {
            args.push(id.get());
            " AND id < $2".to_owned()
        }
    };
    args.push(i64::from(limit));
    let sql = format!(
        "SELECT {MESSAGE} FROM messages WHERE author_id = $1{below} \
         ORDER BY {NEWEST_FIRST} LIMIT ${}",
        args.len()
    );
    (sql, args)
}

/// The SQL of the latest messages of `authors`, with its arguments: `$1` is the per-author
/// limit, `$2…` the authors, numbered by their place in the request so the rows come back
/// in that order.
pub(super) fn latest_query(
    backend: Backend,
    authors: &[UserId],
    per_author: u32,
) -> (String, Vec<i64>) {
    let mut args = vec![i64::from(per_author)];
    args.extend(authors.iter().map(|a| a.get()));
    let cast = match backend {
        Backend::Postgres => "::BIGINT",
        Backend::Sqlite => "",
    };
    let asked: Vec<String> = (1..=authors.len())
        .map(|place| format!("(${}{cast}, {place})", place + 1))
        .collect();
    let asked = asked.join(", ");
    let newest = format!("ORDER BY {NEWEST_FIRST} LIMIT $1");
    let in_request_order = "ORDER BY a.place, m.created_at DESC, m.id DESC";
    let sql = match backend {
        // A `LIMIT`ed walk of the index per author, over a `VALUES` list (the `Any` driver
        // cannot bind arrays).
        Backend::Postgres => format!(
            "SELECT m.id, m.author_id, m.text, m.created_at \
             FROM (VALUES {asked}) AS a (author_id, place) \
             CROSS JOIN LATERAL (SELECT {MESSAGE} FROM messages \
             WHERE messages.author_id = a.author_id {newest}) AS m {in_request_order}"
        ),
        // No `LATERAL`: each author's row ids come from a correlated `LIMIT`ed walk of the
        // index, and the rows from their primary key.
        Backend::Sqlite => format!(
            "WITH a (author_id, place) AS (VALUES {asked}) \
             SELECT m.id, m.author_id, m.text, m.created_at \
             FROM a JOIN messages AS m ON m.id IN ( \
                 SELECT id FROM messages WHERE author_id = a.author_id {newest}) \
             {in_request_order}"
        ),
    };
    (sql, args)
}
