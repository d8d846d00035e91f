//! Device authorization requests (RFC 8628), keyed by the digests of their two codes.
//!
//! Decisions and redemption are conditional `UPDATE`s on the status, so a code is
//! approved or denied once, and redeemed once, however many processes race on it.

use super::inline::fetch_optional;
use super::{Db, Result, conflict, now, on_writer};
use crate::scope::Scopes;
use crate::secret::TokenHash;

/// Where a device request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued: spent.
    Used,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Used => "used",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            // Unknown values are never redeemable.
            _ => Self::Used,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub id: String,
    pub application_id: String,
    pub scope: Scopes,
    pub status: DeviceStatus,
    pub user_id: Option<String>,
    pub interval_seconds: i64,
    pub last_polled_ms: Option<i64>,
    pub expires_at: i64,
}

super::row! {
    struct DeviceRow {
        id: String,
        application_id: String,
        scope: String,
        status: String,
        user_id: Option<String>,
        interval_seconds: i64,
        last_polled_ms: Option<i64>,
        expires_at: i64,
    }
}

const COLUMNS: &str =
    "id, application_id, scope, status, user_id, interval_seconds, last_polled_ms, expires_at";

fn from_row(r: DeviceRow) -> DeviceCode {
    DeviceCode {
        id: r.id,
        application_id: r.application_id,
        scope: Scopes::from_stored(&r.scope),
        status: DeviceStatus::parse(&r.status),
        user_id: r.user_id,
        interval_seconds: r.interval_seconds,
        last_polled_ms: r.last_polled_ms,
        expires_at: r.expires_at,
    }
}

/// A device request about to be stored.
pub struct NewDeviceCode<'a> {
    pub id: &'a str,
    pub device_code: &'a TokenHash,
    pub user_code: &'a TokenHash,
    pub application_id: &'a str,
    pub scope: &'a Scopes,
    pub interval_seconds: i64,
    pub expires_at: i64,
}

impl Db {
    /// Stores a new request. `StorageError::Conflict` when the user code is taken.
    pub async fn insert_device_code(&self, d: &NewDeviceCode<'_>) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO device_codes (id, device_code_hash, user_code_hash, application_id, scope, \
             status, interval_seconds, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)")
            .bind(d.id).bind(d.device_code.as_str()).bind(d.user_code.as_str()).bind(d.application_id)
            .bind(d.scope.to_string()).bind(d.interval_seconds).bind(d.expires_at).bind(now())
            .execute(p).await.map(|r| r.rows_affected()).map_err(conflict("user code")))?;
        Ok(())
    }

    /// The request a user code names (any status, expired or not).
    pub async fn device_code_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceCode>> {
        let sql = format!("SELECT {COLUMNS} FROM device_codes WHERE user_code_hash = $1");
        Ok(fetch_optional!(self, DeviceRow, sql.as_str(), user_code.as_str())?.map(from_row))
    }

    /// The request a device code names, only for the client it was issued to.
    pub async fn device_code_for_client(
        &self,
        device_code: &TokenHash,
        application_id: &str,
    ) -> Result<Option<DeviceCode>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM device_codes WHERE device_code_hash = $1 AND application_id = $2"
        );
        Ok(fetch_optional!(
            self,
            DeviceRow,
            sql.as_str(),
            device_code.as_str(),
            application_id
        )?
        .map(from_row))
    }

    /// The user's decision on a pending, live request. `false`: it was no longer
    /// pending (decided already, or expired).
    pub async fn decide_device_code(
        &self,
        user_code: &TokenHash,
        user_id: &str,
        approved: bool,
    ) -> Result<bool> {
        let status = if approved {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let n = on_writer!(self, p => sqlx::query(
            "UPDATE device_codes SET status = $1, user_id = $2 \
             WHERE user_code_hash = $3 AND status = 'pending' AND expires_at > $4")
            .bind(status.as_str()).bind(user_id).bind(user_code.as_str()).bind(now())
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records a poll of a pending request at `at_ms`, raising its interval by
    /// `raise` seconds (RFC 8628 §3.5 slow_down).
    pub async fn record_device_poll(&self, id: &str, at_ms: i64, raise: i64) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "UPDATE device_codes SET last_polled_ms = $1, interval_seconds = interval_seconds + $2 \
             WHERE id = $3 AND status = 'pending'")
            .bind(at_ms).bind(raise).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks an approved, live request used, once: the one caller that gets it back
    /// issues the tokens.
    pub async fn claim_device_code(&self, id: &str) -> Result<Option<DeviceCode>> {
        let sql = format!(
            "UPDATE device_codes SET status = 'used' WHERE id = $1 AND status = 'approved' \
             AND expires_at > $2 RETURNING {COLUMNS}"
        );
        let t = now();
        let row: Option<DeviceRow> = match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        use rusqlite::OptionalExtension as _;
                        tx.prepare_cached(&sql)?
                            .query_row(rusqlite::params![id, t], |r| DeviceRow::try_from(r))
                            .optional()
                    })
                    .await?
            }
            Db::Postgres(p) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .bind(t)
                    .fetch_optional(p)
                    .await?
            }
        };
        Ok(row.map(from_row))
    }
}
