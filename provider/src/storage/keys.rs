//! Server keys shared by every provider process (the CSRF signing key).

use super::{Db, Result, on_pool, on_writer};
use crate::secret::{PlainToken, prefix};

impl Db {
    /// The key named `name`, created (random, 256 bits) by whichever process asks first.
    pub async fn server_key(&self, name: &str) -> Result<String> {
        let fresh = PlainToken::generate(prefix::CSRF);
        on_writer!(self, p => sqlx::query(
            "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name).bind(fresh.expose()).execute(p).await.map(|r| r.rows_affected()))?;
        let (value,): (String,) = on_pool!(self, p => sqlx::query_as(
            "SELECT value FROM server_keys WHERE name = $1").bind(name).fetch_one(p).await)?;
        Ok(value)
    }
}
