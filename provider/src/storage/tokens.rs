//! Authorization codes, access tokens and refresh tokens (stored hashed).
//!
//! Single use is enforced by the database, not by process memory: a code or a
//! refresh token is *claimed* with one conditional `UPDATE … RETURNING`, so two
//! processes racing on the same value cannot both win.

use super::inline::fetch_optional;
use super::{Db, Result, now, on_pool, on_writer};
use crate::model::{TokenInfo, TokenUser};
use crate::scope::Scopes;
use crate::secret::TokenHash;

/// A stored authorization code.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub application_id: String,
    pub user_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named it (RFC 6749 §4.1.3: then the token
    /// request must repeat it). Not named: the app's only registered URI (§3.1.2.3).
    pub redirect_uri_given: bool,
    pub scope: Scopes,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    /// OpenID Connect: the request's nonce, and the login session it was issued in.
    pub nonce: Option<String>,
    pub auth_time: Option<i64>,
    pub sid: Option<String>,
}

super::row! {
    struct GrantRow {
        id: String,
        application_id: String,
        user_id: String,
        redirect_uri: String,
        redirect_uri_given: i64,
        scope: String,
        code_challenge: Option<String>,
        expires_at: i64,
        nonce: Option<String>,
        auth_time: Option<i64>,
        sid: Option<String>,
    }
}
const GRANT_COLUMNS: &str = "id, application_id, user_id, redirect_uri, redirect_uri_given, scope, \
     code_challenge, expires_at, nonce, auth_time, sid";

fn grant_from_row(r: GrantRow) -> Grant {
    Grant {
        id: r.id,
        application_id: r.application_id,
        user_id: r.user_id,
        redirect_uri: r.redirect_uri,
        redirect_uri_given: r.redirect_uri_given != 0,
        scope: Scopes::from_stored(&r.scope),
        code_challenge: r.code_challenge,
        expires_at: r.expires_at,
        nonce: r.nonce,
        auth_time: r.auth_time,
        sid: r.sid,
    }
}

/// The outcome of trying to use a code once.
#[derive(Debug)]
pub enum GrantClaim {
    Claimed(Grant),
    /// The code was already redeemed: a replay (RFC 6749 §4.1.2).
    Replayed(Grant),
    NotFound,
}

/// A stored refresh token.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub id: String,
    pub application_id: String,
    pub user_id: Option<String>,
    pub scope: Scopes,
    pub family_id: String,
    pub access_token_id: Option<String>,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The pair its rotation issued, sealed (see [`crate::successor`]).
    pub successor: Option<String>,
}

super::row! {
    pub(super) struct RefreshRow {
        id: String,
        application_id: String,
        user_id: Option<String>,
        scope: String,
        family_id: String,
        access_token_id: Option<String>,
        expires_at: i64,
        rotated_at: Option<i64>,
        revoked_at: Option<i64>,
        successor: Option<String>,
    }
}

super::row! {
    /// The bearer check's join: the token, its application, its user (none for
    /// `client_credentials` tokens, hence the options).
    struct BearerRow {
        token_id: String,
        scope: String,
        expires_at: i64,
        created_at: i64,
        client_id: String,
        application_name: String,
        user_id: Option<String>,
        username: Option<String>,
        email: Option<String>,
        groups: Option<String>,
        is_staff: Option<i64>,
        is_active: Option<i64>,
    }
}
pub(super) const REFRESH_COLUMNS: &str = "id, application_id, user_id, scope, family_id, access_token_id, expires_at, rotated_at, revoked_at, successor";

pub(super) fn refresh_from_row(r: RefreshRow) -> Refresh {
    Refresh {
        id: r.id,
        application_id: r.application_id,
        user_id: r.user_id,
        scope: Scopes::from_stored(&r.scope),
        family_id: r.family_id,
        access_token_id: r.access_token_id,
        expires_at: r.expires_at,
        rotated_at: r.rotated_at,
        revoked_at: r.revoked_at,
        successor: r.successor,
    }
}

#[derive(Debug)]
pub enum RefreshClaim {
    /// This request rotated the token: it is now spent.
    Claimed(Refresh),
    /// Already rotated, revoked, or unknown; the row (if any) says which.
    Unavailable(Option<Refresh>),
}

/// A token about to be stored.
pub struct NewToken<'a> {
    pub id: &'a str,
    pub hash: &'a TokenHash,
    pub application_id: &'a str,
    pub user_id: Option<&'a str>,
    pub scope: &'a Scopes,
    pub family_id: &'a str,
    pub expires_at: i64,
}

impl Db {
    pub async fn insert_grant(&self, g: &Grant, code: &TokenHash) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO grants (id, code_hash, application_id, user_id, redirect_uri, scope, code_challenge, \
             expires_at, created_at, redirect_uri_given, nonce, auth_time, sid) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(&g.id).bind(code.as_str()).bind(&g.application_id).bind(&g.user_id)
            .bind(&g.redirect_uri).bind(g.scope.to_string()).bind(&g.code_challenge)
            .bind(g.expires_at).bind(now()).bind(i64::from(g.redirect_uri_given))
            .bind(&g.nonce).bind(g.auth_time).bind(&g.sid)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks a code used, atomically, but only for the client it was issued to (a
    /// code presented by another client is left untouched); tells a replay from an
    /// unknown code.
    pub async fn claim_grant(&self, code: &TokenHash, application_id: &str) -> Result<GrantClaim> {
        let sql = format!(
            "UPDATE grants SET used_at = $1 WHERE code_hash = $2 AND application_id = $3 \
             AND used_at IS NULL RETURNING {GRANT_COLUMNS}"
        );
        let t = now();
        let claimed: Option<GrantRow> = match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        use rusqlite::OptionalExtension as _;
                        tx.prepare_cached(&sql)?
                            .query_row(rusqlite::params![t, code.as_str(), application_id], |r| {
                                GrantRow::try_from(r)
                            })
                            .optional()
                    })
                    .await?
            }
            Db::Postgres(p) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(t)
                    .bind(code.as_str())
                    .bind(application_id)
                    .fetch_optional(p)
                    .await?
            }
        };
        if let Some(row) = claimed {
            return Ok(GrantClaim::Claimed(grant_from_row(row)));
        }
        let sql = format!("SELECT {GRANT_COLUMNS} FROM grants WHERE code_hash = $1");
        let row = fetch_optional!(self, GrantRow, sql.as_str(), code.as_str())?;
        Ok(match row.map(grant_from_row) {
            Some(g) if g.application_id == application_id => GrantClaim::Replayed(g),
            // Another client's code: it learns nothing, and the code stays usable.
            _ => GrantClaim::NotFound,
        })
    }

    /// Looks up a live access token with its application and user: the bearer check.
    pub async fn access_token_info(&self, hash: &TokenHash) -> Result<Option<TokenInfo>> {
        let row = fetch_optional!(
            self,
            BearerRow,
            "SELECT t.id AS token_id, t.scope, t.expires_at, t.created_at, a.client_id, \
                    a.name AS application_name, u.id AS user_id, u.username, u.email, \
                    u.groups, u.is_staff, u.is_active \
             FROM access_tokens t JOIN applications a ON a.id = t.application_id \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2",
            hash.as_str(),
            now()
        )?;
        let Some(r) = row else { return Ok(None) };
        // A deactivated user's tokens stop working at once.
        if r.is_active == Some(0) {
            return Ok(None);
        }
        let user = match (r.user_id, r.username) {
            (Some(id), Some(username)) => Some(TokenUser {
                id,
                username,
                email: r.email.unwrap_or_default(),
                groups: r
                    .groups
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                is_staff: r.is_staff == Some(1),
            }),
            _ => None,
        };
        Ok(Some(TokenInfo {
            token_id: r.token_id,
            scope: Scopes::from_stored(&r.scope),
            expires_at: r.expires_at,
            created_at: r.created_at,
            client_id: r.client_id,
            application_name: r.application_name,
            user,
        }))
    }

    pub async fn refresh_token_by_hash(&self, hash: &TokenHash) -> Result<Option<Refresh>> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        let row = fetch_optional!(self, RefreshRow, sql.as_str(), hash.as_str())?;
        Ok(row.map(refresh_from_row))
    }

    /// The application id and user of an access token, live or not (for revocation).
    pub async fn access_token_owner(&self, hash: &TokenHash) -> Result<Option<(String, String)>> {
        Ok(
            on_pool!(self, p => sqlx::query_as("SELECT id, application_id FROM access_tokens WHERE token_hash = $1")
            .bind(hash.as_str()).fetch_optional(p).await)?,
        )
    }

    pub async fn delete_access_token(&self, id: &str) -> Result<()> {
        on_writer!(self, p => sqlx::query(super::token_writes::DELETE_ACCESS).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Revokes every refresh token of a family and deletes its access tokens
    /// (RFC 9700 §4.14.2 on reuse; RFC 7009 §2.1 on revocation; RFC 6749 §4.1.2 on code replay).
    pub async fn revoke_family(&self, family_id: &str) -> Result<()> {
        use super::batch::Stmt;
        let t = now();
        self.write_all(vec![
            Stmt::new(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
                [t.into(), family_id.into()],
            ),
            Stmt::new(
                "DELETE FROM access_tokens WHERE family_id = $1",
                [family_id.into()],
            ),
        ])
        .await?;
        Ok(())
    }
}
