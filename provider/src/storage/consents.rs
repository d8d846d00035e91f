//! Remembered consent: one row per user and application holding the scopes granted.

use super::{Db, Result, now, on_pool, on_writer};
use crate::scope::Scopes;

impl Db {
    /// The scopes `user_id` has granted `application_id`, if any.
    pub async fn consent(&self, user_id: &str, application_id: &str) -> Result<Option<Scopes>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT scope FROM consents WHERE user_id = $1 AND application_id = $2")
            .bind(user_id).bind(application_id).fetch_optional(p).await)?;
        Ok(row.map(|(s,)| Scopes::from_stored(&s)))
    }

    /// Stores `scope` as the consent (the caller passes the union with the old one).
    pub async fn store_consent(
        &self,
        user_id: &str,
        application_id: &str,
        scope: &Scopes,
    ) -> Result<()> {
        let t = now();
        on_writer!(self, p => sqlx::query(
            "INSERT INTO consents (user_id, application_id, scope, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, application_id) \
             DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at")
            .bind(user_id).bind(application_id).bind(scope.to_string()).bind(t)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn delete_consent(&self, user_id: &str, application_id: &str) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "DELETE FROM consents WHERE user_id = $1 AND application_id = $2")
            .bind(user_id).bind(application_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
