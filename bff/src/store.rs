//! The session store: Redis (tower-sessions-redis-store over fred) in deployed mode,
//! tower-sessions' in-memory store otherwise. Every operation is bounded by
//! `--redis-timeout-ms` so a slow or dead Redis becomes a 503, never a hang or a logout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{ClientLike, Expiration, KeysInterface, LuaInterface, Pool, SetOptions};
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;

#[derive(Debug, Clone)]
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore<Pool>, Pool),
}

/// The store plus the per-session refresh locks (RFC 9700 §4.14.2: rotated refresh
/// tokens must not be used twice, so refreshes are single-flight).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    timeout: Duration,
    memory_locks: Arc<Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A held refresh lock; release it with [`Store::unlock`].
pub enum LockGuard {
    Memory(tokio::sync::OwnedMutexGuard<()>),
    Redis { key: String, token: String },
}

fn timeout_error() -> session_store::Error {
    session_store::Error::Backend("session store timed out".into())
}

/// Refresh-lock lifetime: longer than a provider call (8 s) plus the session write, so
/// the lock cannot lapse under a live holder; short enough that a crashed holder frees it.
const LOCK_TTL_MS: i64 = 15_000;

const UNLOCK_SCRIPT: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

impl Store {
    pub fn memory(timeout: Duration) -> Self {
        Self {
            backend: Backend::Memory(MemoryStore::default()),
            timeout,
            memory_locks: Arc::default(),
        }
    }

    /// Builds a fred pool from a `redis://`, `rediss://`, `redis-cluster://` or
    /// `redis-sentinel://` URL. Commands time out and fail fast while disconnected;
    /// fred reconnects in the background forever.
    pub async fn redis(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let config = fred::prelude::Config::from_url(url)?;
        let pool = fred::prelude::Builder::from_config(config)
            .with_performance_config(|perf| perf.default_command_timeout = timeout)
            .with_connection_config(|conn| {
                conn.connection_timeout = timeout;
                conn.internal_command_timeout = timeout;
                conn.max_command_attempts = 1;
            })
            .set_policy(fred::prelude::ReconnectPolicy::new_exponential(
                0, 50, 1000, 2,
            ))
            .build_pool(2)?;
        pool.connect();
        if tokio::time::timeout(Duration::from_secs(5), pool.wait_for_connect())
            .await
            .is_err()
        {
            tracing::warn!("redis not reachable yet; continuing, requests get 503 until it is");
        }
        Ok(Self {
            backend: Backend::Redis(RedisStore::new(pool.clone()), pool),
            timeout,
            memory_locks: Arc::default(),
        })
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.backend, Backend::Redis(..))
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = session_store::Result<T>>,
    ) -> session_store::Result<T> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or_else(|_| Err(timeout_error()))
    }

    /// `/readyz`: does the store answer?
    pub async fn ping(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) => true,
            Backend::Redis(_, pool) => {
                let ping = pool.ping::<String>(None);
                matches!(tokio::time::timeout(self.timeout, ping).await, Ok(Ok(_)))
            }
        }
    }

    /// Takes the refresh lock of one session, waiting at most `wait`.
    /// Redis: `SET key token NX PX ttl`, so a crashed holder frees it after `ttl`.
    pub async fn lock(&self, id: Id, wait: Duration) -> session_store::Result<Option<LockGuard>> {
        match &self.backend {
            Backend::Memory(_) => {
                let mutex = {
                    let mut locks = self.memory_locks.lock().expect("lock map poisoned");
                    locks.retain(|_, m| Arc::strong_count(m) > 1);
                    locks.entry(id).or_default().clone()
                };
                Ok(tokio::time::timeout(wait, mutex.lock_owned())
                    .await
                    .ok()
                    .map(LockGuard::Memory))
            }
            Backend::Redis(_, pool) => {
                let key = format!("latchkey-bff:refresh-lock:{id}");
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
                        .bounded(async {
                            set.await
                                .map_err(|e| session_store::Error::Backend(e.to_string()))
                        })
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
                .bounded(async {
                    del.await
                        .map_err(|e| session_store::Error::Backend(e.to_string()))
                })
                .await
            {
                tracing::warn!(error = %err, "refresh lock release failed (it expires by itself)");
            }
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(s) => self.bounded(s.create(record)).await,
            Backend::Redis(s, _) => self.bounded(s.create(record)).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(s) => self.bounded(s.save(record)).await,
            Backend::Redis(s, _) => self.bounded(s.save(record)).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &self.backend {
            Backend::Memory(s) => self.bounded(s.load(id)).await,
            Backend::Redis(s, _) => self.bounded(s.load(id)).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(s) => self.bounded(s.delete(id)).await,
            Backend::Redis(s, _) => self.bounded(s.delete(id)).await,
        }
    }
}
