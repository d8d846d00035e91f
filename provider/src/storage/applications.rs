//! Applications: the registered OAuth2 clients.

use super::inline::fetch_optional;
use super::{Db, Result, conflict, new_id, now, on_pool, on_writer};
use crate::model::{AppGrant, Application, ClientType};
use crate::scope::Scopes;
use crate::secret::TokenHash;

type Row = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    i64,
);
const COLUMNS: &str = "id, client_id, client_secret_hash, client_type, grant_type, name, redirect_uris, \
                       skip_authorization, require_pkce, allowed_scopes, user_id, created_at";

fn from_row(r: Row) -> Application {
    Application {
        id: r.0,
        client_id: r.1,
        client_secret_hash: r.2.map(TokenHash::from_stored),
        client_type: ClientType::parse(&r.3).unwrap_or(ClientType::Confidential),
        grant: AppGrant::parse(&r.4).unwrap_or(AppGrant::AuthorizationCode),
        name: r.5,
        redirect_uris: r.6.split_whitespace().map(str::to_owned).collect(),
        skip_authorization: r.7 != 0,
        require_pkce: r.8 != 0,
        allowed_scopes: r.9.as_deref().map(Scopes::from_stored),
        user_id: r.10,
        created_at: r.11,
    }
}

/// The fields an operator sets (CLI or admin).
#[derive(Debug, Clone)]
pub struct AppFields {
    pub client_id: String,
    pub client_type: ClientType,
    pub grant: AppGrant,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub skip_authorization: bool,
    pub require_pkce: bool,
    pub allowed_scopes: Option<Scopes>,
    pub user_id: Option<String>,
}

impl Db {
    pub async fn create_application(
        &self,
        f: &AppFields,
        secret: Option<&TokenHash>,
    ) -> Result<Application> {
        let id = new_id();
        let created = now();
        on_writer!(self, p => sqlx::query(
            "INSERT INTO applications (id, client_id, client_secret_hash, client_type, grant_type, name, \
             redirect_uris, skip_authorization, require_pkce, allowed_scopes, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(&id).bind(&f.client_id).bind(secret.map(TokenHash::as_str))
            .bind(f.client_type.as_str()).bind(f.grant.as_str()).bind(&f.name)
            .bind(f.redirect_uris.join(" ")).bind(i64::from(f.skip_authorization))
            .bind(i64::from(f.require_pkce)).bind(f.allowed_scopes.as_ref().map(ToString::to_string))
            .bind(&f.user_id).bind(created)
            .execute(p).await.map(|r| r.rows_affected()))
        .map_err(conflict("an application with this client id"))?;
        Ok(self
            .application_by_id(&id)
            .await?
            .expect("the row was just inserted"))
    }

    pub async fn update_application(&self, id: &str, f: &AppFields) -> Result<bool> {
        let r = on_writer!(self, p => sqlx::query(
            "UPDATE applications SET client_id = $1, client_type = $2, grant_type = $3, name = $4, \
             redirect_uris = $5, skip_authorization = $6, require_pkce = $7, allowed_scopes = $8, user_id = $9 \
             WHERE id = $10")
            .bind(&f.client_id).bind(f.client_type.as_str()).bind(f.grant.as_str()).bind(&f.name)
            .bind(f.redirect_uris.join(" ")).bind(i64::from(f.skip_authorization))
            .bind(i64::from(f.require_pkce)).bind(f.allowed_scopes.as_ref().map(ToString::to_string))
            .bind(&f.user_id).bind(id)
            .execute(p).await.map(|r| r.rows_affected()))
        .map_err(conflict("an application with this client id"))?;
        Ok(r == 1)
    }

    pub async fn set_client_secret(&self, id: &str, secret: &TokenHash) -> Result<bool> {
        let r = on_writer!(self, p => sqlx::query("UPDATE applications SET client_secret_hash = $1 WHERE id = $2")
            .bind(secret.as_str()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// Deletes an application; its codes and tokens go with it (ON DELETE CASCADE).
    pub async fn delete_application(&self, id: &str) -> Result<bool> {
        let r = on_writer!(self, p => sqlx::query("DELETE FROM applications WHERE id = $1")
            .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// Client authentication: on every token request (inline on SQLite).
    pub async fn application_by_client_id(&self, client_id: &str) -> Result<Option<Application>> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE client_id = $1");
        let row = fetch_optional!(self, Row, sql.as_str(), client_id)?;
        Ok(row.map(from_row))
    }

    pub async fn application_by_id(&self, id: &str) -> Result<Option<Application>> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        Ok(row.map(from_row))
    }

    /// Applications whose name or client id contains `search` (case-insensitive;
    /// `%` and `_` are taken literally by being dropped), newest first.
    pub async fn list_applications(
        &self,
        search: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Application>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE {SEARCH} \
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        );
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(search_pattern(search)).bind(limit).bind(offset).fetch_all(p).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// How many applications [`Db::list_applications`] would page through.
    pub async fn count_applications(&self, search: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM applications WHERE {SEARCH}");
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(search_pattern(search)).fetch_one(p).await)?;
        Ok(n)
    }

    /// Forgets the secret (the app became public).
    pub async fn clear_client_secret(&self, id: &str) -> Result<bool> {
        let r = on_writer!(self, p => sqlx::query("UPDATE applications SET client_secret_hash = NULL WHERE id = $1")
            .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }
}

const SEARCH: &str = "(LOWER(name) LIKE $1 OR LOWER(client_id) LIKE $1)";

/// A `LIKE` pattern for a case-insensitive substring search (wildcards dropped).
pub(crate) fn search_pattern(search: &str) -> String {
    format!(
        "%{}%",
        search.trim().to_lowercase().replace(['%', '_', '\\'], "")
    )
}
