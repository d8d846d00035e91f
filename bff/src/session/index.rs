//! The per-user session index: which sessions a subject (`sub`) or a provider session
//! (`sid`, OIDC Back-Channel Logout §2.4) has, so "sign out everywhere" and back-channel
//! logout can end them on every replica.
//!
//! An index is named `latchkey-bff:user:<h>` or `latchkey-bff:sid:<h>`, where `h` is a
//! SHA-256 of the subject or sid (no identifier in clear), and holds storage ids scored
//! by the session's end of life. Storage ids open nothing and do not work as cookies.
//! Redis: a sorted set per index, updated by Lua scripts (one key each, so Redis
//! Cluster is fine; the sessions of one user may live in other slots: they are deleted
//! one key at a time after the index is read).

use fred::prelude::LuaInterface;
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use super::store::{Backend, Store, backend_error};

/// Whose sessions.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Subject(&'a str),
    ProviderSession(&'a str),
}

/// `latchkey-bff:<kind>:<hex>`, `hex` the first 128 bits of SHA-256(`a` NUL `b`): a store
/// key naming an identifier without holding it.
pub(super) fn hashed_name(kind: &str, a: &str, b: &str) -> String {
    let digest = Sha256::new()
        .chain_update(a.as_bytes())
        .chain_update([0])
        .chain_update(b.as_bytes())
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("latchkey-bff:{kind}:{hex}")
}

impl Owner<'_> {
    fn index_name(self) -> String {
        let (kind, value) = match self {
            Owner::Subject(sub) => ("user", sub),
            Owner::ProviderSession(sid) => ("sid", sid),
        };
        hashed_name(kind, kind, value)
    }
}

const ADD_SCRIPT: &str = "redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[3]) \
     redis.call('zadd', KEYS[1], ARGV[2], ARGV[1]) \
     redis.call('expire', KEYS[1], ARGV[4]) return 1";
const TAKE_SCRIPT: &str = "local m = redis.call('zrangebyscore', KEYS[1], '(' .. ARGV[1], '+inf') \
     redis.call('del', KEYS[1]) return m";

const REMOVE_SCRIPT: &str = "redis.call('zrem', KEYS[1], ARGV[1]) \
     if redis.call('zcard', KEYS[1]) == 0 then redis.call('del', KEYS[1]) end return 1";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Store {
    /// Lists the session of `ticket` under each owner it has, until `until` (unix seconds).
    pub async fn index_session(
        &self,
        ticket: &Id,
        owners: &[Owner<'_>],
        until: i64,
    ) -> session_store::Result<()> {
        let member = self.storage_id(ticket);
        for owner in owners {
            let name = owner.index_name();
            match &self.backend {
                Backend::Memory(m) => m.index_add(&name, member, until),
                Backend::Redis(_, pool) => {
                    let ttl = (until - now()).max(1);
                    let args = vec![
                        member.to_string(),
                        until.to_string(),
                        now().to_string(),
                        ttl.to_string(),
                    ];
                    let add = pool.eval::<i64, _, _, _>(ADD_SCRIPT, vec![name], args);
                    self.bounded(async { add.await.map_err(|e| backend_error(&e)) })
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Takes the session of `ticket` off its owners' indexes (at logout).
    pub async fn unindex_session(
        &self,
        ticket: &Id,
        owners: &[Owner<'_>],
    ) -> session_store::Result<()> {
        let member = self.storage_id(ticket);
        for owner in owners {
            let name = owner.index_name();
            match &self.backend {
                Backend::Memory(m) => m.index_remove(&name, &member),
                Backend::Redis(_, pool) => {
                    let remove = pool.eval::<i64, _, _, _>(
                        REMOVE_SCRIPT,
                        vec![name],
                        vec![member.to_string()],
                    );
                    self.bounded(async { remove.await.map_err(|e| backend_error(&e)) })
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Ends every live session of `owner`; returns how many were listed.
    pub async fn end_sessions(&self, owner: Owner<'_>) -> session_store::Result<usize> {
        let name = owner.index_name();
        let members: Vec<Id> = match &self.backend {
            Backend::Memory(m) => m.index_take(&name),
            Backend::Redis(_, pool) => {
                let take = pool.eval::<Vec<String>, _, _, _>(
                    TAKE_SCRIPT,
                    vec![name],
                    vec![now().to_string()],
                );
                let listed = self
                    .bounded(async { take.await.map_err(|e| backend_error(&e)) })
                    .await?;
                listed.iter().filter_map(|m| m.parse().ok()).collect()
            }
        };
        for member in &members {
            self.delete_stored(member).await?;
        }
        Ok(members.len())
    }
}

/// After a re-seal under a new server key: list the new storage id too.
pub(super) async fn reindex(store: &Store, record: &Record) -> session_store::Result<()> {
    let Some(data) = record
        .data
        .get(crate::session::KEY)
        .and_then(|v| serde_json::from_value::<crate::session::SessionData>(v.clone()).ok())
    else {
        return Ok(());
    };
    store
        .index_session(&record.id, &data.owners(), data.ends_at)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_hide_the_identifier() {
        let name = Owner::Subject("alice").index_name();
        assert!(name.starts_with("latchkey-bff:user:"), "{name}");
        assert!(!name.contains("alice"));
        assert_ne!(name, Owner::ProviderSession("alice").index_name());
    }
}
