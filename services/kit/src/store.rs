//! Database URLs, pools and migrations for the two backends.
//!
//! `sqlite://PATH` (file created with its directory), `sqlite::memory:` (one connection, so
//! the data lives as long as the pool) and `postgres://USER@HOST/DB` (database created when
//! missing). Queries go through sqlx's `Any` driver with `$N` placeholders, which both
//! backends bind by number, so one SQL text serves both wherever the dialects agree.
//! [`UserId`], [`MessageId`] and [`Timestamp`] bind and read as the `BIGINT` columns that
//! hold them (microseconds for instants).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{AnyPool, Executor};

use crate::ids::{MessageId, UserId};
use crate::timestamp::Timestamp;

pub mod batch;

/// Which database engine a [`Db`] talks to, for the few queries whose SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (file or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A service's embedded schema, one migration set per backend.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Applied on SQLite.
    pub sqlite: &'static Migrator,
    /// Applied on PostgreSQL.
    pub postgres: &'static Migrator,
}

/// The calling crate's schema, embedded at build time from its `migrations/sqlite` and
/// `migrations/postgres` folders: `pub const MIGRATIONS: Migrations = kit::migrations!();`.
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::store::Migrations {
            sqlite: {
                static SQLITE: ::sqlx::migrate::Migrator = ::sqlx::migrate!("migrations/sqlite");
                &SQLITE
            },
            postgres: {
                static POSTGRES: ::sqlx::migrate::Migrator =
                    ::sqlx::migrate!("migrations/postgres");
                &POSTGRES
            },
        }
    };
}

/// A connection pool with the backend it talks to. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// A parsed `--database` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    SqliteMemory,
    SqliteFile(String),
    Postgres(String),
}

// === impl Db ===

impl Db {
    /// Connects, creating the SQLite file or the PostgreSQL database when missing, and
    /// applies the schema's migrations.
    pub async fn connect(url: &str, migrations: Migrations) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(url)?;
        let (options, pool_options, backend) = match &target {
            Target::SqliteMemory => (
                AnyConnectOptions::from_str("sqlite::memory:")?,
                // One connection that never closes: each SQLite memory connection is its own
                // database, which would vanish with the connection.
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None),
                Backend::Sqlite,
            ),
            Target::SqliteFile(path) => {
                if let Some(dir) = Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create directory {}", dir.display()))?;
                }
                (
                    AnyConnectOptions::from_str(&format!("sqlite://{path}?mode=rwc"))?,
                    // WAL lets readers run beside the one writer.
                    AnyPoolOptions::new().max_connections(8),
                    Backend::Sqlite,
                )
            }
            Target::Postgres(url) => {
                if !sqlx::Postgres::database_exists(url)
                    .await
                    .with_context(|| format!("cannot reach PostgreSQL at {}", redact(url)))?
                {
                    sqlx::Postgres::create_database(url)
                        .await
                        .with_context(|| format!("cannot create the database {}", redact(url)))?;
                }
                (
                    AnyConnectOptions::from_str(url)?,
                    AnyPoolOptions::new().max_connections(16),
                    Backend::Postgres,
                )
            }
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer. busy_timeout: concurrent
                        // writers wait for the lock instead of failing with SQLITE_BUSY.
                        // mmap: reads of a large file come from the page cache without a copy.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                             PRAGMA mmap_size = 268435456;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {}", redact(url)))?;
        let migrator = match backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        migrator
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate the database {}", redact(url)))?;
        Ok(Self { pool, backend })
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout behind other writers, so a
    /// transaction that reads before it writes never fails to upgrade its lock.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// True when a trivial query succeeds within a second.
    pub async fn ping(&self) -> bool {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        matches!(
            tokio::time::timeout(Duration::from_secs(1), query).await,
            Ok(Ok(_))
        )
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// How [`Db::explain`] shows a statement's plan on PostgreSQL (SQLite has one way:
/// `EXPLAIN QUERY PLAN`, which never runs the statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// `EXPLAIN`: the planner's choice and its costs, without running the statement.
    Plan,
    /// `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`: runs the statement and shows what each node
    /// did, rows, loops and buffers.
    Analyze,
}

// === impl Db (plans) ===

impl Db {
    /// The engine's plan for `sql` with `args` bound in order, one line per plan node,
    /// indented by depth: what documentation shows and tests assert on.
    pub async fn explain(
        &self,
        sql: &str,
        args: &[i64],
        how: Explain,
    ) -> Result<Vec<String>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let sql = format!("EXPLAIN QUERY PLAN {sql}");
                let rows: Vec<(i64, i64, i64, String)> =
                    query_as_with(sql, args).fetch_all(&self.pool).await?;
                let mut depth: std::collections::HashMap<i64, usize> = Default::default();
                Ok(rows
                    .into_iter()
                    .map(|(id, parent, _, detail)| {
                        let level = depth.get(&parent).map_or(0, |d| d + 1);
                        depth.insert(id, level);
                        format!("{}{detail}", "  ".repeat(level))
                    })
                    .collect())
            }
            Backend::Postgres => {
                let prefix = match how {
                    Explain::Plan => "EXPLAIN",
                    Explain::Analyze => "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)",
                };
                let sql = format!("{prefix} {sql}");
                let rows: Vec<(String,)> = query_as_with(sql, args).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(|(line,)| line).collect())
            }
        }
    }
}

/// `sql`, built with its parameter list, as a query of `O` rows with `args` bound in order.
pub fn query_as_with<'q, O>(
    sql: String,
    args: &[i64],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    args.iter()
        .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, arg| {
            q.bind(*arg)
        })
}

/// Secondary indexes dropped for a bulk load, to be rebuilt after it: one sort per index
/// afterwards is several times faster than keeping it up to date row by row.
#[derive(Debug)]
#[must_use = "dropped indexes must be rebuilt"]
pub struct DroppedIndexes(Vec<(String, String)>);

impl DroppedIndexes {
    /// Recreates every index from the definition the catalog held.
    pub async fn rebuild(self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        for (_, definition) in self.0 {
            sqlx::query(sqlx::AssertSqlSafe(definition))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

// === impl Db (bulk loads) ===

impl Db {
    /// Drops the indexes of `tables` that back no key or constraint, remembering their
    /// definitions from the catalog.
    pub async fn drop_secondary_indexes(
        &self,
        conn: &mut sqlx::AnyConnection,
        tables: &[&'static str],
    ) -> Result<DroppedIndexes, sqlx::Error> {
        let mut dropped = Vec::new();
        for table in tables {
            let sql = match self.backend {
                // Indexes SQLite makes for keys have no SQL text.
                Backend::Sqlite => format!(
                    "SELECT name, sql FROM sqlite_master \
                     WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL"
                ),
                Backend::Postgres => format!(
                    "SELECT indexname::TEXT, indexdef FROM pg_indexes \
                     WHERE schemaname = current_schema() AND tablename = '{table}' \
                     AND indexname NOT IN (SELECT conname FROM pg_constraint \
                     WHERE conrelid = '{table}'::regclass)"
                ),
            };
            let indexes: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?;
            for (name, _) in &indexes {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
                    .execute(&mut *conn)
                    .await?;
            }
            dropped.extend(indexes);
        }
        Ok(DroppedIndexes(dropped))
    }

    /// After rows were inserted with explicit ids, makes the next generated id of `table`
    /// one more than its largest (1 when it is empty). SQLite's `AUTOINCREMENT` counter
    /// follows explicit ids by itself; PostgreSQL's identity sequence does not.
    pub async fn advance_identity(
        &self,
        conn: &mut sqlx::AnyConnection,
        table: &'static str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

// === impl Target ===

impl Target {
    fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            anyhow::bail!(
                "unsupported database URL `{}`: use sqlite://PATH, sqlite::memory: or \
                 postgres://USER@HOST/DB",
                redact(url)
            );
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        match path {
            ":memory:" => Ok(Self::SqliteMemory),
            "" => anyhow::bail!("the SQLite URL `{url}` names no file"),
            path => Ok(Self::SqliteFile(path.to_owned())),
        }
    }
}

/// `$start, $start+1, …` for `count` parameters, for `IN (…)` lists and multi-row inserts.
pub fn placeholders(start: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    for n in start..start + count {
        if n > start {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// A query on the `Any` driver, as [`insert_rows`] hands it to its binder.
pub type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Bound parameters per multi-row `INSERT`. Binding a parameter on SQLite looks it up by
/// name among the statement's parameters, so the cost of a statement grows with the square
/// of its parameters: a few hundred keeps a large load fast on both engines.
const PARAMS_PER_INSERT: usize = 400;

/// Inserts `rows` with multi-row `INSERT`s of about 400 bound values each: `head` is
/// `INSERT INTO t (a, b, c)` and `bind` binds one row's `columns` values in order.
/// Run it inside a transaction to make the whole load atomic. Returns the rows inserted.
pub async fn insert_rows<R>(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    columns: usize,
    rows: impl IntoIterator<Item = R>,
    bind: impl Fn(AnyQuery, R) -> AnyQuery,
) -> Result<u64, sqlx::Error> {
    insert_rows_then(conn, head, columns, rows, "", bind).await
}

/// [`insert_rows`] with `tail` after each statement's `VALUES` (an `ON CONFLICT …` clause;
/// the rows of one call must not conflict with each other).
pub async fn insert_rows_then<R>(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    columns: usize,
    rows: impl IntoIterator<Item = R>,
    tail: &str,
    bind: impl Fn(AnyQuery, R) -> AnyQuery,
) -> Result<u64, sqlx::Error> {
    let statement = |count: usize| {
        let tuples: Vec<String> = (0..count)
            .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
            .collect();
        format!("{head} VALUES {}{tail}", tuples.join(", "))
    };
    let per_statement = (PARAMS_PER_INSERT / columns.max(1)).max(1);
    let full = statement(per_statement);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<R> = rows.by_ref().take(per_statement).collect();
        let sql = if chunk.len() == per_statement {
            full.clone()
        } else {
            statement(chunk.len())
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = bind(query, row);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// A database URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// True when the error is a unique or primary-key violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// True when the error is a foreign-key violation.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

// === column values ===

/// Implements binding and reading `$ty` as the `BIGINT` column that holds it: `$into`
/// gives the column's value, `$from` checks one read back.
macro_rules! bigint_column {
    ($ty:ty, into: $into:expr, from: $from:expr) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <i64 as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                let into: fn(&$ty) -> i64 = $into;
                <i64 as sqlx::Encode<'_, sqlx::Any>>::encode_by_ref(&into(self), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let from: fn(i64) -> Result<$ty, sqlx::error::BoxDynError> = $from;
                from(<i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)?)
            }
        }
    };
}

/// An id column's value, refused when it is not positive (no id is).
fn positive(value: i64) -> Result<i64, sqlx::error::BoxDynError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(format!("an id column holds {value}; ids are positive").into())
    }
}

bigint_column!(UserId, into: |id| id.get(), from: |v| positive(v).map(UserId::new));
bigint_column!(MessageId, into: |id| id.get(), from: |v| positive(v).map(MessageId::new));
bigint_column!(Timestamp, into: |t| t.as_micros(), from: |v| Ok(Timestamp::from_micros(v)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_url_form() {
        assert_eq!(
            Target::parse("sqlite::memory:").unwrap(),
            Target::SqliteMemory
        );
        assert_eq!(
            Target::parse("sqlite://data/users.db").unwrap(),
            Target::SqliteFile("data/users.db".into())
        );
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db?mode=rwc").unwrap(),
            Target::SqliteFile("/tmp/x.db".into())
        );
        assert!(matches!(
            Target::parse("postgres://u@h/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(Target::parse("mysql://x").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    #[test]
    fn placeholders_are_numbered_from_start() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
        assert_eq!(placeholders(4, 1), "$4");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    static SQLITE: Migrator = sqlx::migrate!("tests/migrations/sqlite");

    #[tokio::test]
    async fn memory_database_keeps_its_data_across_queries() {
        let db = Db::connect(
            "sqlite::memory:",
            Migrations {
                sqlite: &SQLITE,
                postgres: &SQLITE,
            },
        )
        .await
        .unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        sqlx::query("INSERT INTO things (id, name) VALUES ($1, $2)")
            .bind(1_i64)
            .bind("one")
            .execute(db.pool())
            .await
            .unwrap();
        let (name,): (String,) = sqlx::query_as("SELECT name FROM things WHERE id = $1")
            .bind(1_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(name, "one");
        assert!(db.ping().await);
    }

    #[tokio::test]
    async fn typed_ids_and_instants_bind_and_read_as_bigint_columns() {
        let db = Db::connect(
            "sqlite::memory:",
            Migrations {
                sqlite: &SQLITE,
                postgres: &SQLITE,
            },
        )
        .await
        .unwrap();
        let (user, message, at): (UserId, MessageId, Timestamp) =
            sqlx::query_as("SELECT $1, $2, $3")
                .bind(UserId::new(7))
                .bind(MessageId::new(9))
                .bind(Timestamp::from_micros(-5))
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            (user, message, at),
            (
                UserId::new(7),
                MessageId::new(9),
                Timestamp::from_micros(-5)
            )
        );
        let err = sqlx::query_scalar::<_, UserId>("SELECT 0")
            .fetch_one(db.pool())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("ids are positive"), "{err}");
    }

    #[tokio::test]
    async fn insert_rows_spans_several_statements() {
        let db = Db::connect(
            "sqlite::memory:",
            Migrations {
                sqlite: &SQLITE,
                postgres: &SQLITE,
            },
        )
        .await
        .unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        let rows = (1..=2345_i64).map(|id| (id, format!("thing {id}")));
        let n = insert_rows(
            &mut conn,
            "INSERT INTO things (id, name)",
            2,
            rows,
            |q, (id, name)| q.bind(id).bind(name),
        )
        .await
        .unwrap();
        assert_eq!(n, 2345);
        let (count, last): (i64, String) =
            sqlx::query_as("SELECT COUNT(*), MAX(name) FROM things WHERE id > 2000")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!((count, last.as_str()), (345, "thing 2345"));
    }
}
