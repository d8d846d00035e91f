//! Per-session refresh locks (RFC 9700 §4.14.2: a rotated refresh token must not be used
//! twice, so refreshes are single-flight). Named after the session's storage id, never
//! its ticket: `latchkey-bff:refresh-lock:<storage id>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fred::prelude::{Expiration, KeysInterface, LuaInterface, SetOptions};
use tower_sessions::session::Id;
use tower_sessions::session_store;

use super::store::{Backend, Store, backend_error};

pub(super) type MemoryLocks = Arc<Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>>;

/// A held refresh lock; release it with [`Store::unlock`].
pub enum LockGuard {
    Memory(tokio::sync::OwnedMutexGuard<()>),
    Redis { key: String, token: String },
}

/// Refresh-lock lifetime: shorter than the provider's refresh grace window (10 s by
/// default, `--refresh-token-grace-period-seconds`). A holder that dies (`kill -9`, or its
/// session write lost to a Redis restart) after the provider rotated the token leaves the
/// new pair nowhere; the next holder replays the old refresh token, and only inside the
/// window does that get the same pair back instead of revoking the family (RFC 9700
/// §4.14.2). At 15 s the chaos soak logged users out. A live holder outlasting the lock
/// (a slow provider) is safe for the same reason: the overlapping refresh is a retry.
pub const LOCK_TTL_MS: i64 = 5_000;
/// The bundled provider's default grace window, in ms: the lock must lapse inside it.
const _: () = assert!(LOCK_TTL_MS < 10_000);

const UNLOCK_SCRIPT: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

impl Store {
    /// Takes the refresh lock of one session, waiting at most `wait`.
    /// Redis: `SET key token NX PX ttl`, so a crashed holder frees it after `ttl`.
    pub async fn lock(
        &self,
        ticket: &Id,
        wait: Duration,
    ) -> session_store::Result<Option<LockGuard>> {
        let storage_id = self.storage_id(ticket);
        match &self.backend {
            Backend::Memory(_) => {
                let mutex = {
                    let mut locks = self
                        .memory_locks
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    locks.retain(|_, m| Arc::strong_count(m) > 1);
                    locks.entry(storage_id).or_default().clone()
                };
                Ok(tokio::time::timeout(wait, mutex.lock_owned())
                    .await
                    .ok()
                    .map(LockGuard::Memory))
            }
            Backend::Redis(_, pool) => {
                let key = format!("latchkey-bff:refresh-lock:{storage_id}");
                let token = Id::default().to_string();
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    let set = pool.set::<Option<String>, _, _>(
                        &key,
                        token.as_str(),
                        Some(Expiration::PX(LOCK_TTL_MS)),
                        Some(SetOptions::NX),
                        false,
                    );
                    let acquired = self
                        .bounded(async { set.await.map_err(|e| backend_error(&e)) })
                        .await?;
                    if acquired.is_some() {
                        return Ok(Some(LockGuard::Redis { key, token }));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(None);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Releases a lock only if it is still ours (compare-and-delete in Lua).
    pub async fn unlock(&self, guard: LockGuard) {
        if let (Backend::Redis(_, pool), LockGuard::Redis { key, token }) = (&self.backend, guard) {
            let del = pool.eval::<i64, _, _, _>(UNLOCK_SCRIPT, vec![key], vec![token]);
            if let Err(err) = self
                .bounded(async { del.await.map_err(|e| backend_error(&e)) })
                .await
            {
                tracing::warn!(error = %err, "refresh lock release failed (it expires by itself)");
            }
        }
    }
}
