//! Applications: the registered OAuth2 clients.

use super::inline::fetch_optional;
use super::{Db, Result, conflict, new_id, now, on_pool, on_writer};
use crate::model::{AppGrant, Application, ClientType};
use crate::scope::Scopes;
use crate::secret::TokenHash;

super::row! {
    struct Row {
        id: String,
        client_id: String,
        client_secret_hash: Option<String>,
        client_type: String,
        grant_type: String,
        name: String,
        redirect_uris: String,
        skip_authorization: i64,
        require_pkce: i64,
        allowed_scopes: Option<String>,
        user_id: Option<String>,
        is_resource_server: i64,
        created_at: i64,
    }
}
const COLUMNS: &str = "id, client_id, client_secret_hash, client_type, grant_type, name, redirect_uris, \
                       skip_authorization, require_pkce, allowed_scopes, user_id, is_resource_server, created_at";

fn from_row(r: Row) -> Application {
    Application {
        id: r.id,
        client_id: r.client_id,
        client_secret_hash: r.client_secret_hash.map(TokenHash::from_stored),
        client_type: ClientType::parse(&r.client_type).unwrap_or(ClientType::Confidential),
        grant: AppGrant::parse(&r.grant_type).unwrap_or(AppGrant::AuthorizationCode),
        name: r.name,
        redirect_uris: r
            .redirect_uris
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        skip_authorization: r.skip_authorization != 0,
        require_pkce: r.require_pkce != 0,
        allowed_scopes: r.allowed_scopes.as_deref().map(Scopes::from_stored),
        user_id: r.user_id,
        is_resource_server: r.is_resource_server != 0,
        created_at: r.created_at,
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
    pub is_resource_server: bool,
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
             redirect_uris, skip_authorization, require_pkce, allowed_scopes, user_id, created_at, \
             is_resource_server) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(&id).bind(&f.client_id).bind(secret.map(TokenHash::as_str))
            .bind(f.client_type.as_str()).bind(f.grant.as_str()).bind(&f.name)
            .bind(f.redirect_uris.join(" ")).bind(i64::from(f.skip_authorization))
            .bind(i64::from(f.require_pkce)).bind(f.allowed_scopes.as_ref().map(ToString::to_string))
            .bind(&f.user_id).bind(created).bind(i64::from(f.is_resource_server))
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
             redirect_uris = $5, skip_authorization = $6, require_pkce = $7, allowed_scopes = $8, user_id = $9, \
             is_resource_server = $10 WHERE id = $11")
            .bind(&f.client_id).bind(f.client_type.as_str()).bind(f.grant.as_str()).bind(&f.name)
            .bind(f.redirect_uris.join(" ")).bind(i64::from(f.skip_authorization))
            .bind(i64::from(f.require_pkce)).bind(f.allowed_scopes.as_ref().map(ToString::to_string))
            .bind(&f.user_id).bind(i64::from(f.is_resource_server)).bind(id)
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

    /// Revokes every refresh token of an application and deletes its access tokens
    /// and unused codes, in one transaction (its client type changed: what they
    /// were issued under no longer holds).
    pub async fn revoke_application_tokens(&self, id: &str) -> Result<()> {
        use super::batch::Stmt;
        self.write_all(vec![
            Stmt::new(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE application_id = $2 AND revoked_at IS NULL",
                [now().into(), id.into()],
            ),
            Stmt::new("DELETE FROM access_tokens WHERE application_id = $1", [id.into()]),
            Stmt::new(
                "DELETE FROM grants WHERE application_id = $1 AND used_at IS NULL",
                [id.into()],
            ),
        ])
        .await?;
        Ok(())
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
