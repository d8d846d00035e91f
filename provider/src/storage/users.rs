//! Users: the resource owners who log in.

use super::applications::search_pattern;
use super::batch::Stmt;
use super::inline::fetch_optional;
use super::{Db, Result, conflict, new_id, now, on_pool, on_writer};
use crate::model::User;

const SEARCH: &str = "(LOWER(username) LIKE $1 OR LOWER(email) LIKE $1)";

super::row! {
    struct Row {
        id: String,
        username: String,
        email: String,
        password_hash: String,
        is_staff: i64,
        is_active: i64,
        groups: String,
        created_at: i64,
    }
}
const COLUMNS: &str = "id, username, email, password_hash, is_staff, is_active, groups, created_at";

fn from_row(r: Row) -> User {
    User {
        id: r.id,
        username: r.username,
        email: r.email,
        password_hash: r.password_hash,
        is_staff: r.is_staff != 0,
        is_active: r.is_active != 0,
        groups: r.groups.split_whitespace().map(str::to_owned).collect(),
        created_at: r.created_at,
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub is_staff: bool,
    pub groups: &'a [String],
}

impl Db {
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<User> {
        let id = new_id();
        let created = now();
        let groups = u.groups.join(" ");
        on_writer!(self, p => sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, is_staff, is_active, groups, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7)")
            .bind(&id).bind(u.username).bind(u.email).bind(u.password_hash)
            .bind(i64::from(u.is_staff)).bind(&groups).bind(created)
            .execute(p).await.map(|r| r.rows_affected()))
        .map_err(conflict("a user with this username"))?;
        Ok(User {
            id,
            username: u.username.to_owned(),
            email: u.email.to_owned(),
            password_hash: u.password_hash.to_owned(),
            is_staff: u.is_staff,
            is_active: true,
            groups: u.groups.to_vec(),
            created_at: created,
        })
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(username).fetch_optional(p).await)?;
        Ok(row.map(from_row))
    }

    /// On every refresh (inline on SQLite).
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = fetch_optional!(self, Row, sql.as_str(), id)?;
        Ok(row.map(from_row))
    }

    /// Usernames by user id, for a page of rows that name their owner: one query
    /// however many ids (at most a page's worth).
    pub async fn usernames_by_id(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, username FROM users WHERE id IN ({})",
            marks.join(", ")
        );
        let rows: Vec<(String, String)> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().collect())
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Users whose username or email contains `search` (case-insensitive), by username.
    pub async fn list_users_page(
        &self,
        search: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE {SEARCH} ORDER BY username LIMIT $2 OFFSET $3"
        );
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(search_pattern(search)).bind(limit).bind(offset).fetch_all(p).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn count_users(&self, search: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM users WHERE {SEARCH}");
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(search_pattern(search)).fetch_one(p).await)?;
        Ok(n)
    }

    /// Sets the flags; deactivating also signs the user out everywhere
    /// ([`sign_out_statements`]), in the same transaction.
    pub async fn set_user_flags(
        &self,
        user_id: &str,
        is_active: bool,
        is_staff: bool,
    ) -> Result<bool> {
        let mut stmts = vec![Stmt::new(
            "UPDATE users SET is_active = $1, is_staff = $2 WHERE id = $3",
            [
                i64::from(is_active).into(),
                i64::from(is_staff).into(),
                user_id.into(),
            ],
        )];
        if !is_active {
            stmts.extend(sign_out_statements(user_id));
        }
        Ok(self.write_all(stmts).await?.first() == Some(&1))
    }

    /// Ends everything a user is signed in with, for good, in one transaction
    /// ([`sign_out_statements`]). With `new_hash`, the password is replaced in the
    /// same transaction.
    pub async fn sign_out_user(&self, user_id: &str, new_hash: Option<&str>) -> Result<bool> {
        let mut stmts = vec![Stmt::new(
            "UPDATE users SET password_hash = COALESCE($1, password_hash) WHERE id = $2",
            [new_hash.into(), user_id.into()],
        )];
        stmts.extend(sign_out_statements(user_id));
        Ok(self.write_all(stmts).await?.first() == Some(&1))
    }
}

/// Every refresh token revoked; every access token, login session and unused code
/// deleted, and device requests they approved but the device has not redeemed
/// (so reactivating the user brings none of them back).
/// First, the back-channel logout notifications of the sessions that end.
fn sign_out_statements(user_id: &str) -> [Stmt; 6] {
    [
        super::oidc::enqueue_user_logout(user_id),
        Stmt::new(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            [now().into(), user_id.into()],
        ),
        Stmt::new(
            "DELETE FROM access_tokens WHERE user_id = $1",
            [user_id.into()],
        ),
        Stmt::new(
            "DELETE FROM web_sessions WHERE user_id = $1",
            [user_id.into()],
        ),
        Stmt::new(
            "DELETE FROM grants WHERE user_id = $1 AND used_at IS NULL",
            [user_id.into()],
        ),
        Stmt::new(
            "DELETE FROM device_codes WHERE user_id = $1 AND status = 'approved'",
            [user_id.into()],
        ),
    ]
}
