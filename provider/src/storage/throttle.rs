//! Failed-login counters in fixed windows, shared by all provider processes.

use super::{Db, Result, now, on_pool, on_writer};

impl Db {
    /// Failures recorded for `key` in the window that started at most `window` seconds ago,
    /// with the second the window closes.
    pub async fn throttle_failures(&self, key: &str, window: i64) -> Result<Option<(i64, i64)>> {
        let row: Option<(i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT failures, window_start FROM throttle WHERE key = $1 AND window_start > $2")
            .bind(key).bind(now() - window).fetch_optional(p).await)?;
        Ok(row.map(|(failures, start)| (failures, start + window)))
    }

    /// Counts one failure for `key`, starting a new window when the last one closed.
    pub async fn throttle_record_failure(&self, key: &str, window: i64) -> Result<()> {
        let t = now();
        on_writer!(self, p => sqlx::query(
            "INSERT INTO throttle (key, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN throttle.window_start <= $3 THEN 1 ELSE throttle.failures + 1 END, \
               window_start = CASE WHEN throttle.window_start <= $3 THEN $2 ELSE throttle.window_start END")
            .bind(key).bind(t).bind(t - window).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn throttle_clear(&self, key: &str) -> Result<()> {
        on_writer!(self, p => sqlx::query("DELETE FROM throttle WHERE key = $1").bind(key).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
