//! The example write API's notes.

use super::{Db, Result, on_pool, on_writer};

impl Db {
    pub async fn insert_note(
        &self,
        id: &str,
        user_id: Option<&str>,
        client_id: &str,
        text: &str,
        at: i64,
    ) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO notes (id, user_id, application_id, text, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(user_id).bind(client_id).bind(text).bind(at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The latest 50 notes of a user (or, for client-credentials tokens, of the app).
    pub async fn list_notes(
        &self,
        user_id: Option<&str>,
        client_id: &str,
    ) -> Result<Vec<(String, String, i64)>> {
        Ok(match user_id {
            Some(u) => on_pool!(self, p => sqlx::query_as(
                "SELECT id, text, created_at FROM notes WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 50")
                .bind(u).fetch_all(p).await)?,
            None => on_pool!(self, p => sqlx::query_as(
                "SELECT id, text, created_at FROM notes WHERE user_id IS NULL AND application_id = $1 \
                 ORDER BY created_at DESC, id LIMIT 50")
                .bind(client_id).fetch_all(p).await)?,
        })
    }
}
