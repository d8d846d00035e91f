//! Logins to the provider's own pages, keyed by the hash of the cookie value.

use super::{Db, Result, new_id, now, on_pool, on_writer};
use crate::model::User;
use crate::secret::TokenHash;

impl Db {
    pub async fn create_web_session(
        &self,
        id: &TokenHash,
        user_id: &str,
        expires_at: i64,
    ) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO web_sessions (id_hash, user_id, expires_at, created_at, sid) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.as_str()).bind(user_id).bind(expires_at).bind(now()).bind(new_id())
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The active user behind a live session cookie.
    pub async fn web_session_user(&self, id: &TokenHash) -> Result<Option<User>> {
        let user_id: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT s.user_id FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.is_active = 1")
            .bind(id.as_str()).bind(now()).fetch_optional(p).await)?;
        match user_id {
            Some((uid,)) => self.user_by_id(&uid).await,
            None => Ok(None),
        }
    }

    /// Ends the session (and queues its back-channel logout notifications).
    pub async fn delete_web_session(&self, id: &TokenHash) -> Result<()> {
        self.end_login_session(id).await
    }
}
