//! Persistence: one schema, two engines.
//!
//! SQLite (the default, a file under `./data/`) or PostgreSQL, chosen by the
//! database URL. Every query is written once with `$n` placeholders, first used in
//! order (both engines accept them; SQLite numbers them by first use). Nothing about
//! a request lives in process memory, so several provider processes sharing one
//! PostgreSQL behave as one server.
//!
//! **The rule.** The hot path — what a token request, a login attempt and the
//! bearer check run — goes through [`inline::fetch_optional!`] for reads and
//! [`inline::Inline::write`] for writes: on SQLite rusqlite on the calling thread
//! (sqlx's thread hop was ~70 % of a token request's CPU, `bench/FINDINGS.md`), on
//! PostgreSQL sqlx. Anything that writes more than one statement uses one
//! transaction: [`batch::Db::write_all`] (or, when it must read in between, the
//! same pair of per-engine transactions written out: `token_writes`, `throttle`).
//! Everything else (admin pages, sessions, the sweeper) uses sqlx on both engines
//! through [`on_pool!`] (reads) and [`on_writer!`] (writes, holding the SQLite
//! writer's lock). Rows of more than a column or two are named structs ([`row!`]):
//! applications, users, codes, refresh tokens and the bearer check's join.

pub mod active_tokens;
pub mod applications;
pub mod batch;
pub mod cleanup;
pub mod inline;
pub mod keys;
pub mod notes;
pub mod oidc;
pub mod sessions;
pub mod throttle;
pub mod token_writes;
pub mod tokens;
pub mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Storage failures. Not the client's fault: mapped to `server_error` (500).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("unsupported database URL {0:?} (use sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("in-memory SQLite is not supported: give a file (sqlite://path/to/file.sqlite3)")]
    MemorySqlite,
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// The configured connection pools.
///
/// SQLite allows one writer at a time: writes go through one connection
/// (queued in-process, no busy-waiting on the file lock) while reads never wait
/// for the writer (WAL). The hot path (token requests, the bearer check) runs on
/// [`inline::Inline`]'s rusqlite connections; everything else on sqlx's pools.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        inline: Arc<inline::Inline>,
    },
    Postgres(PgPool),
}

/// Runs a read against whichever engine `$db` holds.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite { read: $p, .. } => $body,
            $crate::storage::Db::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs a write (or a read that must see the latest write) on the writer.
/// On SQLite it holds the inline writer's lock meanwhile: one writer at a time.
macro_rules! on_writer {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite {
                write: $p, inline, ..
            } => {
                let _one_writer = inline.exclusive().await;
                $body
            }
            $crate::storage::Db::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_writer;

/// A named row type for both engines: `sqlx::FromRow` for PostgreSQL (and the
/// sqlx pools) and `TryFrom<&rusqlite::Row>` for the inline SQLite path, each
/// field read by its column name (alias joined columns in the SQL).
macro_rules! row {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($f:ident: $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, sqlx::FromRow)]
        $vis struct $name { $(pub $f: $t),* }

        impl TryFrom<&rusqlite::Row<'_>> for $name {
            type Error = rusqlite::Error;
            fn try_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self { $($f: r.get(stringify!($f))?),* })
            }
        }
    };
}
pub(crate) use row;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects (creating the SQLite file and its directory on first run) and
    /// applies the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await?;
            MIGRATOR.run(&pool).await?;
            return Ok(Db::Postgres(pool));
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL: readers never wait for the writer; NORMAL is durable in WAL mode
                // except for the last transactions before a power cut.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                // The admin's pools: 512 KiB of page cache each (the hot path is inline).
                .pragma("cache_size", "-512")
                .foreign_keys(true);
            let path = opts.get_filename().to_owned();
            // The inline connections open the file by path: a private in-memory
            // database would be a different one for each of them.
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StorageError::MemorySqlite);
            }
            if let Some(dir) = path.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts.clone())
                .await?;
            // Migrate before the readers open, so they see the schema.
            MIGRATOR.run(&write).await?;
            // The hot path reads inline; this pool serves the admin and the rest.
            let read = SqlitePoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts.read_only(true))
                .await?;
            let inline = Arc::new(inline::Inline::open(&path)?);
            return Ok(Db::Sqlite {
                read,
                write,
                inline,
            });
        }
        Err(StorageError::UnsupportedUrl(url.to_owned()))
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// One round trip to the database (`/readyz`).
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// (connections open, idle) over the sqlx pools (`/metrics`).
    pub fn pool_use(&self) -> (u32, usize) {
        match self {
            Db::Sqlite { read, write, .. } => (
                read.size() + write.size(),
                read.num_idle() + write.num_idle(),
            ),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// Seconds since the Unix epoch: every timestamp in the schema.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A fresh random row id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Maps a unique-constraint violation to [`StorageError::Conflict`].
pub(crate) fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StorageError::Conflict(what),
        _ => StorageError::Database(e),
    }
}

pub use applications::AppFields;
pub use tokens::{Grant, GrantClaim, NewToken, Refresh, RefreshClaim};
pub use users::NewUser;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_sqlite_is_refused_with_a_clear_error() {
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            let err = Db::connect(url).await.expect_err(url);
            assert!(matches!(err, StorageError::MemorySqlite), "{url}: {err}");
        }
    }
}
