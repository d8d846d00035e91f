//! SQLite on the calling thread: the hot path without sqlx's thread hop.
//!
//! sqlx runs every SQLite statement on a worker thread of its own and hands rows
//! back over a channel, so each statement costs two thread wake-ups. On two cores
//! those context switches were ~70 % of the CPU of a token request
//! (`bench/FINDINGS.md`). The queries a token request makes (client lookup, bearer
//! check, refresh-token lookup, token writes) therefore run here, on rusqlite
//! connections, synchronously on the tokio worker: a lookup through SQLite's page
//! cache takes microseconds, less than a wake-up. (In WAL mode a reader never
//! waits for the writer; where SQLite does make it wait — recovery after a crash,
//! another process holding an exclusive lock — the 5 s busy timeout bounds how long
//! that tokio worker is blocked.)
//!
//! Writes share one connection behind an async mutex, one transaction per call, so
//! writers queue in-process instead of sleeping in SQLite's busy handler. The
//! sqlx writer (admin, sessions, cleanup …) takes the same mutex
//! ([`super::on_writer!`]), so the two never wait on each other's file lock.
//! A commit writes the WAL only; every [`CHECKPOINT_EVERY`] commits a checkpoint
//! (copying the WAL into the database file, with `fsync`) runs on the blocking
//! pool while holding the writer, so it always completes (the WAL then restarts
//! instead of growing) and never stalls a tokio worker.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::Result;

/// Read connections kept open between requests (one per busy thread is enough).
const MAX_IDLE_READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Commits between checkpoints: a token grant writes 5–8 pages, so about
/// SQLite's default of 1000 WAL pages.
const CHECKPOINT_EVERY: u64 = 150;

pub struct Inline {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: Arc<tokio::sync::Mutex<Connection>>,
    commits: AtomicU64,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline").field("path", &self.path).finish()
    }
}

/// Per-connection settings (the WAL journal mode itself is stored in the file).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL is durable in WAL mode except for the last commits before a power cut.
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Inline {
    /// Opens the writer; readers open on demand. The schema must exist already.
    pub fn open(path: &Path) -> Result<Self> {
        let writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&writer)?;
        // Checkpoints are ours (see `write`), not run inside a commit.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(Self {
            path: path.to_owned(),
            readers: Mutex::new(Vec::new()),
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            commits: AtomicU64::new(0),
        })
    }

    fn open_reader(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // SQLite's default page cache (2 MiB): 1 MiB cost the bearer check ~2× the CPU
        // on the bench's database (33 vs 17 µs per request).
        c.busy_timeout(BUSY_TIMEOUT)?;
        Ok(c)
    }

    /// Runs `f` on a read connection, here and now (never waits for the writer: WAL).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let pooled = self.readers.lock().map(|mut r| r.pop()).unwrap_or(None);
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < MAX_IDLE_READERS
        {
            idle.push(conn);
        }
        Ok(out?)
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE` … `COMMIT`); any error
    /// rolls everything back.
    pub async fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let out = {
            let mut conn = self.writer.lock().await;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            out
        };
        if self.commits.fetch_add(1, Ordering::Relaxed) % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            let writer = Arc::clone(&self.writer);
            tokio::task::spawn_blocking(move || {
                let conn = writer.blocking_lock();
                if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %err, "WAL checkpoint failed (the next one retries)");
                }
            });
        }
        Ok(out)
    }

    /// Held by sqlx writes on the same file, so the two writers take turns in-process.
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, Connection> {
        self.writer.lock().await
    }
}

/// One row (or none) of a query: on the inline SQLite reader, or on the PostgreSQL pool.
/// `$row` is a [`row!`](super::row) struct; the SQL is written once with `$n` placeholders that must
/// first appear in order (`$1` before `$2` …): SQLite numbers them by first use.
macro_rules! fetch_optional {
    ($db:expr, $row:ty, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $db {
            $crate::storage::Db::Sqlite { inline, .. } => inline.read(|c| {
                use rusqlite::OptionalExtension as _;
                c.prepare_cached($sql)?
                    .query_row(rusqlite::params![$($bind),*], |r| <$row>::try_from(r))
                    .optional()
            }),
            $crate::storage::Db::Postgres(p) => {
                let row: Option<$row> = sqlx::query_as(sqlx::AssertSqlSafe($sql))
                    $(.bind($bind))*
                    .fetch_optional(p)
                    .await?;
                Ok(row)
            }
        }
    };
}
pub(crate) use fetch_optional;
