//! Sweeping expired rows in small batches, so no sweep holds a long lock
//! (django-oauth-toolkit's `cleartokens` times out on big tables; we don't).

use super::{Db, Result, now, on_writer};

const TABLES: &[(&str, &str)] = &[
    ("access_tokens", "id"),
    ("refresh_tokens", "id"),
    ("web_sessions", "id_hash"),
];

/// Expired codes, except a used code while any token issued from it (its family)
/// may still live: RFC 6749 §4.1.2 asks that a replayed code revoke those tokens,
/// so the code must still be recognised. (Refresh rotation keeps a family alive;
/// once its last token expires and is swept, the code goes too.)
const SWEEP_GRANTS: &str = "DELETE FROM grants WHERE id IN (SELECT g.id FROM grants g \
     WHERE g.expires_at <= $1 AND (g.used_at IS NULL OR (\
       NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = g.id) \
       AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.family_id = g.id))) LIMIT $2)";

impl Db {
    /// Deletes up to `batch` expired rows from each table; returns how many went.
    pub async fn sweep_expired_batch(&self, batch: i64) -> Result<u64> {
        let cutoff = now();
        let mut total = 0;
        for (table, key) in TABLES {
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at <= $1 LIMIT $2)"
            );
            total += on_writer!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(cutoff).bind(batch).execute(p).await
                .map(|r| r.rows_affected()))?;
        }
        total += on_writer!(self, p => sqlx::query(SWEEP_GRANTS).bind(cutoff).bind(batch).execute(p).await
            .map(|r| r.rows_affected()))?;
        // Device requests stay an hour past expiry, so a late poll still learns
        // `expired_token` (RFC 8628 §3.5) rather than `invalid_grant`.
        total += on_writer!(self, p => sqlx::query(
            "DELETE FROM device_codes WHERE id IN (SELECT id FROM device_codes WHERE expires_at <= $1 LIMIT $2)")
            .bind(cutoff - 3600).bind(batch).execute(p).await.map(|r| r.rows_affected()))?;
        total += on_writer!(self, p => sqlx::query("DELETE FROM throttle WHERE window_start < $1")
            .bind(cutoff - 86_400).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(total)
    }

    /// Sweeps until nothing expired is left (`provider cleartokens`).
    pub async fn sweep_all_expired(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self.sweep_expired_batch(1000).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
}
