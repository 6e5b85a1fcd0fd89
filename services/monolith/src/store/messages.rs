//! The messages table. Every read is a seek into `messages_by_author_newest`
//! (`author_id, created_at DESC, id DESC`) and a short scan from there.

use std::collections::HashMap;

use kit::ids::{MessageId, UserId};
use kit::store::Backend;
use kit::timestamp::Timestamp;

use super::Store;
use crate::domain::{Before, Message, NewMessage};

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    author_id: i64,
    text: String,
    created_at: i64,
}

const COLUMNS: &str = "id, author_id, text, created_at";

// === impl Store ===

impl Store {
    /// Posts a message and returns it with its id; `None` when the author does not exist
    /// (the foreign key refuses the row, so nothing is written).
    #[tracing::instrument(skip_all, fields(author_id = %message.author_id))]
    pub async fn create_message(
        &self,
        message: &NewMessage,
    ) -> Result<Option<Message>, sqlx::Error> {
        let row = sqlx::query_as::<_, MessageRow>(
            "INSERT INTO messages (author_id, text, created_at) VALUES ($1, $2, $3) \
             RETURNING id, author_id, text, created_at",
        )
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

    /// A page of `author`'s messages, newest first, older than `before` (by `created_at`,
    /// then id, of that message; by id alone when it no longer exists), and the cursor of
    /// the next page when more follow.
    #[tracing::instrument(skip_all, fields(author_id = %author))]
    pub async fn message_page(
        &self,
        author: UserId,
        before: Before,
        limit: u32,
    ) -> Result<(Vec<Message>, Option<MessageId>), sqlx::Error> {
        let fetch = i64::from(limit) + 1;
        let order = "ORDER BY created_at DESC, id DESC";
        let rows: Vec<MessageRow> = match before {
            Before::Newest => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM messages WHERE author_id = $1 {order} LIMIT $2"
                )))
                .bind(author.get())
                .bind(fetch)
                .fetch_all(self.db.pool())
                .await?
            }
            Before::Message(cursor) => match self.position(cursor).await? {
                // `created_at <= $2` bounds the index range; the rest breaks the tie.
                Some(at) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM messages WHERE author_id = $1 \
                         AND created_at <= $2 AND (created_at < $2 OR id < $3) {order} LIMIT $4"
                    )))
                    .bind(author.get())
                    .bind(at)
                    .bind(cursor.get())
                    .bind(fetch)
                    .fetch_all(self.db.pool())
                    .await?
                }
                None => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM messages WHERE author_id = $1 AND id < $2 \
                         {order} LIMIT $3"
                    )))
                    .bind(author.get())
                    .bind(cursor.get())
                    .bind(fetch)
                    .fetch_all(self.db.pool())
                    .await?
                }
            },
        };
        let more = rows.len() > limit as usize;
        let messages: Vec<Message> = rows
            .into_iter()
            .take(limit as usize)
            .map(Message::from)
            .collect();
        let next = if more {
            messages.last().map(|m| m.id)
        } else {
            None
        };
        Ok((messages, next))
    }

    /// Up to `per_author` newest messages of each of `authors` (newest first), in one
    /// statement that reads at most `per_author` index entries per author. Authors without
    /// messages are absent from the map.
    #[tracing::instrument(skip_all, fields(count = authors.len()))]
    pub async fn latest_messages(
        &self,
        authors: &[UserId],
        per_author: u32,
    ) -> Result<HashMap<UserId, Vec<Message>>, sqlx::Error> {
        if authors.is_empty() {
            return Ok(HashMap::new());
        }
        let values: Vec<String> = (0..authors.len())
            .map(|i| format!("(${})", i + 2))
            .collect();
        let values = values.join(", ");
        let sql = match self.db.backend() {
            Backend::Postgres => format!(
                "SELECT m.id, a.author_id, m.text, m.created_at \
                 FROM (VALUES {values}) AS a (author_id) \
                 CROSS JOIN LATERAL ( \
                     SELECT id, text, created_at FROM messages \
                     WHERE author_id = a.author_id \
                     ORDER BY created_at DESC, id DESC LIMIT $1) AS m \
                 ORDER BY a.author_id, m.created_at DESC, m.id DESC"
            ),
            Backend::Sqlite => format!(
                "WITH a (author_id) AS (VALUES {values}) \
                 SELECT m.id, m.author_id, m.text, m.created_at \
                 FROM a JOIN messages AS m ON m.id IN ( \
                     SELECT id FROM messages \
                     WHERE author_id = a.author_id \
                     ORDER BY created_at DESC, id DESC LIMIT $1) \
                 ORDER BY m.author_id, m.created_at DESC, m.id DESC"
            ),
        };
        let mut query =
            sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql)).bind(i64::from(per_author));
        for author in authors {
            query = query.bind(author.get());
        }
        let mut by_author: HashMap<UserId, Vec<Message>> = HashMap::new();
        for row in query.fetch_all(self.db.pool()).await? {
            let message = Message::from(row);
            by_author
                .entry(message.author_id)
                .or_default()
                .push(message);
        }
        Ok(by_author)
    }

    /// `created_at` of a message, if it exists.
    async fn position(&self, id: MessageId) -> Result<Option<i64>, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT created_at FROM messages WHERE id = $1")
            .bind(id.get())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(|(at,)| at))
    }
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
