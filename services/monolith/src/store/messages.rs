//! The messages table. Every read but the one by id walks `messages_by_author_newest`
//! (`author_id, created_at DESC, id DESC`): a seek to the author and at most `LIMIT`
//! entries from there.

use kit::ids::{MessageId, UserId};
use kit::store::Backend;
use kit::timestamp::Timestamp;

use super::Store;
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

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: i64,
    author_id: i64,
    text: String,
    created_at: i64,
}

const COLUMNS: &str = "id, author_id, text, created_at";

// === impl Store ===

impl Store {
    /// Posts a message created now and returns it with its id; `None` when the author does
    /// not exist (the foreign key refuses the row, so nothing is written).
    #[tracing::instrument(skip_all, fields(author_id = %message.author_id))]
    pub async fn create_message(
        &self,
        message: &NewMessage,
    ) -> Result<Option<Message>, sqlx::Error> {
        let row = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO messages (author_id, text, created_at) VALUES ($1, $2, $3) \
             RETURNING {COLUMNS}"
        )))
        .bind(message.author_id.get())
        .bind(message.text.as_str().to_owned())
        .bind(Timestamp::now().as_micros())
        .fetch_one(self.db.pool())
        .await;
        match row {
            Ok(row) => Ok(Some(row.into())),
            Err(err) if kit::store::is_foreign_key_violation(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The message with this id, if any.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn get_message(&self, id: MessageId) -> Result<Option<Message>, sqlx::Error> {
        let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE id = $1"
        )))
        .bind(id.get())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(Message::from))
    }

    /// Deletes the message; false when there was none.
    #[tracing::instrument(skip_all, fields(message_id = %id))]
    pub async fn delete_message(&self, id: MessageId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(id.get())
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
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
    pub async fn message_page(
        &self,
        author: UserId,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let (sql, args) = page_query(author, cursor, limit);
        let query = with_args(sql, args);
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// Up to `per_author` newest messages of each of `authors`, in no particular order, in
    /// one statement that reads at most `per_author` index entries per author.
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
        let query = with_args(sql, args);
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }
}

/// The SQL of one page of `author`'s messages, with its arguments.
pub(super) fn page_query(author: UserId, cursor: Cursor, limit: u32) -> (String, Vec<i64>) {
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

/// The SQL of the latest messages of `authors`, with its arguments: `$1` is the per-author
/// limit, `$2…` the authors.
pub(super) fn latest_query(
    backend: Backend,
    authors: &[UserId],
    per_author: u32,
) -> (String, Vec<i64>) {
    let args: Vec<i64> = std::iter::once(i64::from(per_author))
        .chain(authors.iter().map(|a| a.get()))
        .collect();
    let values: Vec<String> = (2..authors.len() + 2)
        .map(|n| match backend {
            Backend::Postgres => format!("(${n}::BIGINT)"),
            Backend::Sqlite => format!("(${n})"),
        })
        .collect();
    let values = values.join(", ");
    let newest = "ORDER BY created_at DESC, id DESC LIMIT $1";
    let sql = match backend {
        // A `LIMIT`ed walk of the index per author, over a `VALUES` list (the `Any` driver
        // cannot bind arrays).
        Backend::Postgres => format!(
            "SELECT m.id, m.author_id, m.text, m.created_at \
             FROM (VALUES {values}) AS a (author_id) \
             CROSS JOIN LATERAL (SELECT {COLUMNS} FROM messages \
             WHERE messages.author_id = a.author_id {newest}) AS m"
        ),
        // No `LATERAL`: each author's row ids come from a correlated `LIMIT`ed walk of the
        // index, and the rows from their primary key.
        Backend::Sqlite => format!(
            "WITH a (author_id) AS (VALUES {values}) \
             SELECT m.id, m.author_id, m.text, m.created_at \
             FROM a JOIN messages AS m ON m.id IN ( \
                 SELECT id FROM messages WHERE author_id = a.author_id {newest})"
        ),
    };
    (sql, args)
}

/// `sql` with `args` bound in order.
pub(super) fn with_args<'q>(
    sql: String,
    args: Vec<i64>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, MessageRow, sqlx::any::AnyArguments> {
    args.into_iter()
        .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, arg| {
            q.bind(arg)
        })
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
