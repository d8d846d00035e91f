//! The operator's view of live tokens: listing them (ids, scopes and expiry —
//! never the values, which are stored only hashed anyway) and revoking them one
//! at a time, per user or per application.

use super::{Db, Result, now, on_pool, on_writer};

/// Which tokens to look at; an empty id means "any".
#[derive(Debug, Clone, Default)]
pub struct TokenFilter {
    pub user_id: String,
    pub application_id: String,
}

/// The two kinds of token an operator can list and revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn table(self) -> &'static str {
        match self {
            Self::Access => "access_tokens",
            Self::Refresh => "refresh_tokens",
        }
    }

    /// Live: not expired, and for refresh tokens neither rotated nor revoked.
    fn live(self) -> &'static str {
        match self {
            Self::Access => "t.expires_at > $1",
            Self::Refresh => "t.expires_at > $1 AND t.revoked_at IS NULL AND t.rotated_at IS NULL",
        }
    }
}

/// One live token, as the admin lists it.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub id: String,
    pub scope: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub application_id: String,
    pub application_name: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
}

type Row = (
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

const FILTER: &str = "(CAST($2 AS TEXT) = '' OR t.user_id = $2) AND (CAST($3 AS TEXT) = '' OR t.application_id = $3)";

impl Db {
    /// Live tokens of one kind, newest first.
    pub async fn list_active_tokens(
        &self,
        kind: TokenKind,
        f: &TokenFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ActiveToken>> {
        let sql = format!(
            "SELECT t.id, t.scope, t.expires_at, t.created_at, a.id, a.name, a.client_id, u.id, u.username \
             FROM {table} t JOIN applications a ON a.id = t.application_id \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE {live} AND {FILTER} ORDER BY t.created_at DESC, t.id LIMIT $4 OFFSET $5",
            table = kind.table(),
            live = kind.live(),
        );
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now()).bind(&f.user_id).bind(&f.application_id).bind(limit).bind(offset)
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| ActiveToken {
                id: r.0,
                scope: r.1,
                expires_at: r.2,
                created_at: r.3,
                application_id: r.4,
                application_name: r.5,
                client_id: r.6,
                user_id: r.7,
                username: r.8,
            })
            .collect())
    }

    pub async fn count_active_tokens(&self, kind: TokenKind, f: &TokenFilter) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} t WHERE {live} AND {FILTER}",
            table = kind.table(),
            live = kind.live(),
        );
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now()).bind(&f.user_id).bind(&f.application_id).fetch_one(p).await)?;
        Ok(n)
    }

    /// Every stored row of one kind for an application, live or not (to check
    /// that deleting an application took its tokens with it).
    pub async fn count_application_tokens(&self, kind: TokenKind, app_id: &str) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE application_id = $1",
            kind.table()
        );
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app_id).fetch_one(p).await)?;
        Ok(n)
    }

    /// The family of a refresh token, to revoke it whole (RFC 7009 §2.1).
    pub async fn refresh_token_family(&self, id: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT family_id FROM refresh_tokens WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }

    /// Revokes every token (and unused authorization code) matching the filter:
    /// refresh tokens are marked revoked, access tokens and codes deleted.
    /// An empty filter revokes nothing (never "everything" by accident).
    pub async fn revoke_tokens(&self, f: &TokenFilter) -> Result<u64> {
        if f.user_id.is_empty() && f.application_id.is_empty() {
            return Ok(0);
        }
        let refresh = format!(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND {}",
            FILTER.replace("t.", "")
        );
        let r = on_writer!(self, p => sqlx::query(sqlx::AssertSqlSafe(refresh.as_str()))
            .bind(now()).bind(&f.user_id).bind(&f.application_id)
            .execute(p).await.map(|r| r.rows_affected()))?;
        // $1 is unused by the filter below; bind it anyway so the placeholders line up.
        let access = format!(
            "DELETE FROM access_tokens WHERE CAST($1 AS BIGINT) >= 0 AND {}",
            FILTER.replace("t.", "")
        );
        let a = on_writer!(self, p => sqlx::query(sqlx::AssertSqlSafe(access.as_str()))
            .bind(now()).bind(&f.user_id).bind(&f.application_id)
            .execute(p).await.map(|r| r.rows_affected()))?;
        let codes = format!(
            "DELETE FROM grants WHERE used_at IS NULL AND CAST($1 AS BIGINT) >= 0 AND {}",
            FILTER.replace("t.", "")
        );
        on_writer!(self, p => sqlx::query(sqlx::AssertSqlSafe(codes.as_str()))
            .bind(now()).bind(&f.user_id).bind(&f.application_id)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r + a)
    }
}
