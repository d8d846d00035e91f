//! Issuing and rotating tokens: one write transaction each.
//!
//! SQLite: on the inline writer (see [`super::inline`]). PostgreSQL: sqlx's pool, in
//! a task of its own (see [`detached`]).

use super::tokens::{NewToken, REFRESH_COLUMNS, RefreshClaim, RefreshRow, refresh_from_row};
use super::{Db, Result, StorageError, now};
use crate::secret::TokenHash;

impl Db {
    /// Stores a newly issued access token and, when given, its refresh token
    /// (which records the access token it came with): one transaction.
    pub async fn store_tokens(
        &self,
        access: &NewToken<'_>,
        refresh: Option<&NewToken<'_>>,
    ) -> Result<()> {
        let created = now();
        let (access, refresh) = (OwnedToken::from(access), refresh.map(OwnedToken::from));
        match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| insert_pair_inline(tx, &access, refresh.as_ref(), created))
                    .await
            }
            Db::Postgres(p) => {
                let p = p.clone();
                detached(async move {
                    let mut tx = p.begin().await?;
                    insert_pair_pg(&mut tx, &access, refresh.as_ref(), created).await?;
                    tx.commit().await?;
                    Ok(())
                })
                .await
            }
        }
    }

    /// Spends a refresh token and stores its successors, atomically (RFC 6749 §6
    /// with rotation): exactly one caller claims it; that caller's transaction also
    /// deletes the access token issued with the old one (as django-oauth-toolkit
    /// does) and stores the new pair. Nothing is written when the claim fails.
    /// `successor` is the new pair sealed for the old token's holder, kept on the old
    /// row for retries inside the grace window.
    pub async fn rotate_refresh_token(
        &self,
        hash: &TokenHash,
        access: &NewToken<'_>,
        refresh: &NewToken<'_>,
        successor: Option<&str>,
    ) -> Result<RefreshClaim> {
        let sql = format!("{CLAIM_REFRESH} RETURNING {REFRESH_COLUMNS}");
        let t = now();
        let (access, refresh) = (OwnedToken::from(access), OwnedToken::from(refresh));
        let successor = successor.map(str::to_owned);
        let claimed: Option<RefreshRow> = match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        use rusqlite::OptionalExtension as _;
                        let row: Option<RefreshRow> = tx
                            .prepare_cached(&sql)?
                            .query_row(rusqlite::params![t, successor, hash.as_str()], |r| {
                                RefreshRow::try_from(r)
                            })
                            .optional()?;
                        if let Some(row) = &row {
                            if let Some(old) = &row.access_token_id {
                                tx.prepare_cached(DELETE_ACCESS)?.execute([old])?;
                            }
                            insert_pair_inline(tx, &access, Some(&refresh), t)?;
                        }
                        Ok(row)
                    })
                    .await?
            }
            Db::Postgres(p) => {
                let (p, hash) = (p.clone(), hash.as_str().to_owned());
                detached(async move {
                    let mut tx = p.begin().await?;
                    let row: Option<RefreshRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(t)
                        .bind(&successor)
                        .bind(&hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(row) = &row {
                        if let Some(old) = &row.access_token_id {
                            sqlx::query(DELETE_ACCESS)
                                .bind(old)
                                .execute(&mut *tx)
                                .await?;
                        }
                        insert_pair_pg(&mut tx, &access, Some(&refresh), t).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await?
            }
        };
        match claimed {
            Some(row) => Ok(RefreshClaim::Claimed(refresh_from_row(row))),
            None => Ok(RefreshClaim::Unavailable(
                self.refresh_token_by_hash(hash).await?,
            )),
        }
    }
}

/// Runs a PostgreSQL transaction to the end even when the request that asked for it
/// goes away (a client hanging up drops the request's future). Dropped halfway, a
/// `BEGIN` could leave its pooled connection inside an open transaction, and the
/// next request's writes on that connection were never committed (seen under
/// `bench/run --postgres`: a login "succeeded" and its session did not exist).
pub(super) async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(work)
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
}

/// A [`NewToken`] the writes (and the detached PostgreSQL task) own.
struct OwnedToken {
    id: String,
    hash: String,
    application_id: String,
    user_id: Option<String>,
    scope: String,
    family_id: String,
    expires_at: i64,
}

impl From<&NewToken<'_>> for OwnedToken {
    fn from(t: &NewToken<'_>) -> Self {
        Self {
            id: t.id.to_owned(),
            hash: t.hash.as_str().to_owned(),
            application_id: t.application_id.to_owned(),
            user_id: t.user_id.map(str::to_owned),
            scope: t.scope.to_string(),
            family_id: t.family_id.to_owned(),
            expires_at: t.expires_at,
        }
    }
}

const INSERT_ACCESS: &str = "INSERT INTO access_tokens (id, token_hash, application_id, user_id, scope, \
     family_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// The same first eight columns as [`INSERT_ACCESS`], then the access token issued with it.
const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (id, token_hash, application_id, user_id, scope, \
     family_id, expires_at, created_at, access_token_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub(super) const DELETE_ACCESS: &str = "DELETE FROM access_tokens WHERE id = $1";
/// Single use (RFC 6749 §6 with rotation): only a live, unrotated token is claimed.
/// (`$n` first used in order: SQLite numbers them by first use.)
const CLAIM_REFRESH: &str = "UPDATE refresh_tokens SET rotated_at = $1, successor = $2 \
     WHERE token_hash = $3 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1";

/// An access token and, when given, the refresh token issued with it.
fn insert_pair_inline(
    tx: &rusqlite::Transaction<'_>,
    access: &OwnedToken,
    refresh: Option<&OwnedToken>,
    created: i64,
) -> rusqlite::Result<()> {
    insert_inline(tx, access, None, created)?;
    if let Some(r) = refresh {
        insert_inline(tx, r, Some(&access.id), created)?;
    }
    Ok(())
}

/// [`insert_pair_inline`] on a PostgreSQL transaction.
async fn insert_pair_pg(
    tx: &mut sqlx::PgTransaction<'_>,
    access: &OwnedToken,
    refresh: Option<&OwnedToken>,
    created: i64,
) -> Result<()> {
    insert_pg(tx, access, None, created).await?;
    if let Some(r) = refresh {
        insert_pg(tx, r, Some(&access.id), created).await?;
    }
    Ok(())
}

/// Inserts an access token (`issued_with: None`) or a refresh token (`Some(access token id)`).
fn insert_inline(
    tx: &rusqlite::Transaction<'_>,
    t: &OwnedToken,
    issued_with: Option<&str>,
    created: i64,
) -> rusqlite::Result<()> {
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![
        &t.id,
        &t.hash,
        &t.application_id,
        &t.user_id,
        &t.scope,
        &t.family_id,
        &t.expires_at,
        &created,
    ];
    let sql = match &issued_with {
        None => INSERT_ACCESS,
        Some(access_id) => {
            params.push(access_id);
            INSERT_REFRESH
        }
    };
    tx.prepare_cached(sql)?.execute(params.as_slice())?;
    Ok(())
}

/// [`insert_inline`] on a PostgreSQL transaction.
async fn insert_pg(
    tx: &mut sqlx::PgTransaction<'_>,
    t: &OwnedToken,
    issued_with: Option<&str>,
    created: i64,
) -> Result<()> {
    let query = sqlx::query(if issued_with.is_some() {
        INSERT_REFRESH
    } else {
        INSERT_ACCESS
    })
    .bind(&t.id)
    .bind(&t.hash)
    .bind(&t.application_id)
    .bind(&t.user_id)
    .bind(&t.scope)
    .bind(&t.family_id)
    .bind(t.expires_at)
    .bind(created);
    match issued_with {
        Some(access_id) => query.bind(access_id),
        None => query,
    }
    .execute(&mut **tx)
    .await?;
    Ok(())
}
