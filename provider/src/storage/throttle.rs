//! Login-attempt counters in fixed windows, shared by all provider processes.
//!
//! An attempt is *reserved* before any password is hashed: one conditional upsert
//! per key increments the counter and returns it, or refuses (returns no row) when
//! the key is at its limit. On PostgreSQL the upsert locks the row, so processes
//! racing on one key are serialised by the database; on SQLite the one writer
//! serialises them. The keys of one attempt are reserved in one transaction, always
//! in the same order (user, then IP), so either all are reserved or none.

use super::{Db, Result, now};

/// Reserves one attempt on `key` unless it is at `$4` in the current window.
const RESERVE: &str = "INSERT INTO throttle (key, window_start, failures) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       failures = CASE WHEN throttle.window_start <= $3 THEN 1 ELSE throttle.failures + 1 END, \
       window_start = CASE WHEN throttle.window_start <= $3 THEN $2 ELSE throttle.window_start END \
     WHERE throttle.window_start <= $3 OR throttle.failures < $4 \
     RETURNING failures";
const WINDOW_START: &str = "SELECT window_start FROM throttle WHERE key = $1";
const GIVE_BACK: &str =
    "UPDATE throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0";
const CLEAR: &str = "DELETE FROM throttle WHERE key = $1";

/// One counter and its limit.
#[derive(Debug, Clone)]
pub struct ThrottleKey {
    pub key: String,
    pub limit: i64,
}

impl Db {
    /// Reserves one attempt on every key, atomically. `Ok(None)`: reserved;
    /// `Ok(Some(closes_at))`: a key is at its limit until that second, nothing changed.
    pub async fn throttle_reserve(&self, keys: &[ThrottleKey], window: i64) -> Result<Option<i64>> {
        let t = now();
        match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        use rusqlite::OptionalExtension as _;
                        for (i, k) in keys.iter().enumerate() {
                            let reserved: Option<i64> = tx
                                .prepare_cached(RESERVE)?
                                .query_row(rusqlite::params![k.key, t, t - window, k.limit], |r| {
                                    r.get(0)
                                })
                                .optional()?;
                            if reserved.is_none() {
                                for earlier in &keys[..i] {
                                    tx.prepare_cached(GIVE_BACK)?.execute([&earlier.key])?;
                                }
                                let start: i64 = tx
                                    .prepare_cached(WINDOW_START)?
                                    .query_row([&k.key], |r| r.get(0))?;
                                return Ok(Some(start + window));
                            }
                        }
                        Ok(None)
                    })
                    .await
            }
            Db::Postgres(p) => {
                let (p, keys) = (p.clone(), keys.to_vec());
                super::token_writes::detached(async move {
                    let mut tx = p.begin().await?;
                    for k in &keys {
                        let reserved: Option<(i64,)> = sqlx::query_as(RESERVE)
                            .bind(&k.key)
                            .bind(t)
                            .bind(t - window)
                            .bind(k.limit)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if reserved.is_none() {
                            let (start,): (i64,) = sqlx::query_as(WINDOW_START)
                                .bind(&k.key)
                                .fetch_one(&mut *tx)
                                .await?;
                            // Nothing reserved: the earlier keys' increments roll back.
                            tx.rollback().await?;
                            return Ok(Some(start + window));
                        }
                    }
                    tx.commit().await?;
                    Ok(None)
                })
                .await
            }
        }
    }

    /// A reserved attempt that succeeded: `clear` keys are reset, `give_back` keys
    /// get their reservation back (one transaction).
    pub async fn throttle_release(&self, clear: &[String], give_back: &[String]) -> Result<()> {
        match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        for k in clear {
                            tx.prepare_cached(CLEAR)?.execute([k])?;
                        }
                        for k in give_back {
                            tx.prepare_cached(GIVE_BACK)?.execute([k])?;
                        }
                        Ok(())
                    })
                    .await
            }
            Db::Postgres(p) => {
                let (p, clear, give_back) = (p.clone(), clear.to_vec(), give_back.to_vec());
                super::token_writes::detached(async move {
                    let mut tx = p.begin().await?;
                    for k in &clear {
                        sqlx::query(CLEAR).bind(k).execute(&mut *tx).await?;
                    }
                    for k in &give_back {
                        sqlx::query(GIVE_BACK).bind(k).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
                .await
            }
        }
    }
}
