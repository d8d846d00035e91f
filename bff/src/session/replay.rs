//! Logout tokens already used (OpenID Back-Channel Logout 1.0 §2.6 step 6): a `jti` of an
//! issuer is accepted once, across replicas.
//!
//! Redis: `SET latchkey-bff:jti:<h> 1 NX EX <ttl>` (`h` a SHA-256 of issuer and jti); the
//! reply says whether this call was first. In memory: a map of at most
//! [`MAX_MEMORY_JTIS`] entries, expired ones swept first; when it is still full the token
//! is refused as a store failure (503: the provider retries later) rather than forgetting
//! an unexpired `jti`.

use fred::prelude::KeysInterface;
use fred::types::{Expiration, SetOptions};
use tower_sessions::session_store;

use super::store::{Backend, Store, backend_error};

/// Bound of the in-memory store's `jti` map.
pub const MAX_MEMORY_JTIS: usize = 10_000;

fn key(issuer: &str, jti: &str) -> String {
    super::index::hashed_name("jti", issuer, jti)
}

impl Store {
    /// Records `jti` of `issuer` for `ttl_seconds`; whether this was its first use.
    pub async fn first_use(
        &self,
        issuer: &str,
        jti: &str,
        ttl_seconds: u64,
    ) -> session_store::Result<bool> {
        let name = key(issuer, jti);
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
        match &self.backend {
            Backend::Memory(m) => m
                .remember(name, super::now().saturating_add(ttl), MAX_MEMORY_JTIS)
                .ok_or_else(|| session_store::Error::Backend("in-memory jti store is full".into())),
            Backend::Redis(_, pool) => {
                let set = pool.set::<Option<String>, _, _>(
                    name,
                    "1",
                    Some(Expiration::EX(ttl)),
                    Some(SetOptions::NX),
                    false,
                );
                let reply = self
                    .bounded(async { set.await.map_err(|e| backend_error(&e)) })
                    .await?;
                Ok(reply.is_some())
            }
        }
    }

    /// Forgets a `jti` whose logout could not be carried out, so the provider's retry of
    /// the same token is not taken for a replay.
    pub async fn forget_use(&self, issuer: &str, jti: &str) {
        let name = key(issuer, jti);
        match &self.backend {
            Backend::Memory(m) => m.forget(&name),
            Backend::Redis(_, pool) => {
                let del = pool.del::<i64, _>(name);
                let _ = tokio::time::timeout(self.timeout, del).await;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::session::cache::NearCache;
    use crate::session::memory::Limits;
    use crate::session::ticket::Keyring;

    fn store() -> Store {
        let limits = Limits {
            max_sessions: 10,
            max_logins: 10,
        };
        Store::memory(
            Duration::from_secs(1),
            limits,
            Keyring::default(),
            NearCache::new(10, Duration::from_secs(60)),
        )
    }

    #[tokio::test]
    async fn a_jti_is_used_once_per_issuer() {
        let store = store();
        assert!(store.first_use("https://op", "j1", 60).await.unwrap());
        assert!(!store.first_use("https://op", "j1", 60).await.unwrap());
        assert!(store.first_use("https://other", "j1", 60).await.unwrap());
        store.forget_use("https://op", "j1").await;
        assert!(store.first_use("https://op", "j1", 60).await.unwrap());
    }

    #[tokio::test]
    async fn the_memory_map_is_bounded() {
        let store = store();
        let memory = store.memory_backend().unwrap();
        for n in 0..MAX_MEMORY_JTIS {
            assert_eq!(
                memory.remember(format!("k{n}"), i64::MAX, MAX_MEMORY_JTIS),
                Some(true)
            );
        }
        assert!(
            store.first_use("i", "one more", 60).await.is_err(),
            "full: refused"
        );
        // Expired entries make room.
        let memory = crate::session::memory::MemoryStore::new(Limits {
            max_sessions: 1,
            max_logins: 1,
        });
        assert_eq!(memory.remember("old".into(), 0, 1), Some(true));
        assert_eq!(memory.remember("new".into(), i64::MAX, 1), Some(true));
        assert_eq!(memory.remember("new".into(), i64::MAX, 1), Some(false));
    }
}
