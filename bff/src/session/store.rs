//! The session store: sealed records ([`super::ticket`]) over tower-sessions-redis-store
//! (fred) when `--redis-url` is set, over the bounded [`MemoryStore`] otherwise.
//!
//! [`Store`] is the `SessionStore` tower-sessions sees: it is handed the cookie's id and
//! a plain record, and hands the backend a record under the *derived* storage id whose
//! only field is the sealed data. Every operation is bounded by `--redis-timeout-ms`, so a
//! slow or dead Redis becomes a 503, never a hang or a logout.
//!
//! Besides records: pre-login records (their own [`Kind`]), the refresh locks
//! ([`super::lock`]) and the per-user index ([`super::index`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{ClientLike, KeysInterface, Pool};
use serde_json::Value;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;

use super::cache::NearCache;
use super::memory::{LOGIN_FIELD, Limits, MemoryStore};
use super::record::SessionData;
use super::ticket::{Derived, Keyring, Kind};

/// The inner record's one data key for a session.
const SESSION_FIELD: &str = "s";

#[derive(Debug, Clone)]
pub(super) enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore<Pool>, Pool),
}

#[derive(Debug, Clone)]
pub struct Store {
    pub(super) backend: Backend,
    keys: Arc<Keyring>,
    pub(super) timeout: Duration,
    pub(super) memory_locks: super::lock::MemoryLocks,
    /// Decoded sessions near at hand ([`super::cache`]).
    pub(super) cache: Arc<NearCache>,
}

/// A Redis failure as the store's error.
pub(super) fn backend_error(e: &fred::error::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

pub(super) fn timeout_error() -> session_store::Error {
    session_store::Error::Backend("session store timed out".into())
}

fn field(kind: Kind) -> &'static str {
    match kind {
        Kind::Session => SESSION_FIELD,
        Kind::Login => LOGIN_FIELD,
    }
}

impl Store {
    pub fn memory(timeout: Duration, limits: Limits, keys: Keyring, cache: NearCache) -> Self {
        let memory = MemoryStore::new(limits);
        memory.spawn_sweeper();
        Self {
            backend: Backend::Memory(memory),
            keys: Arc::new(keys),
            timeout,
            memory_locks: Arc::default(),
            cache: Arc::new(cache),
        }
    }

    /// Builds a fred pool from a `redis://`, `rediss://`, `redis-cluster://` or
    /// `redis-sentinel://` URL. Commands time out and fail fast while disconnected;
    /// fred reconnects in the background forever.
    pub async fn redis(
        url: &str,
        timeout: Duration,
        keys: Keyring,
        cache: NearCache,
    ) -> anyhow::Result<Self> {
        let mut config = fred::prelude::Config::from_url(url)?;
        // RESP3: client tracking (the near cache's invalidations) needs it.
        if cache.enabled() {
            config.version = fred::types::RespVersion::RESP3;
        }
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
        let cache = Arc::new(cache);
        if cache.enabled() {
            super::tracking::watch(&pool, &cache, timeout);
        }
        pool.connect();
        if tokio::time::timeout(Duration::from_secs(5), pool.wait_for_connect())
            .await
            .is_err()
        {
            tracing::warn!("redis not reachable yet; continuing, requests get 503 until it is");
        }
        Ok(Self {
            backend: Backend::Redis(RedisStore::new(pool.clone()), pool),
            keys: Arc::new(keys),
            timeout,
            memory_locks: Arc::default(),
            cache,
        })
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.backend, Backend::Redis(..))
    }

    /// The in-memory backend, when that is what runs (its counts are metrics).
    pub fn memory_backend(&self) -> Option<&MemoryStore> {
        match &self.backend {
            Backend::Memory(m) => Some(m),
            Backend::Redis(..) => None,
        }
    }

    fn records(&self) -> &dyn SessionStore {
        match &self.backend {
            Backend::Memory(s) => s,
            Backend::Redis(s, _) => s,
        }
    }

    pub(super) async fn bounded<T>(
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

    /// The storage id of a session ticket under the sealing key (lock and index names).
    pub(super) fn storage_id(&self, ticket: &Id) -> Id {
        self.keys.derive(ticket, Kind::Session).storage_id
    }

    fn seal(derived: &Derived, record: &Record, kind: Kind) -> session_store::Result<Record> {
        let plain = serde_json::to_vec(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        Ok(Record {
            id: derived.storage_id,
            data: HashMap::from([(field(kind).to_owned(), Value::String(derived.seal(&plain)))]),
            expiry_date: record.expiry_date,
        })
    }

    /// Writes a new record under a fresh ticket (changed on the rare collision).
    async fn create_sealed(&self, record: &mut Record, kind: Kind) -> session_store::Result<()> {
        loop {
            let derived = self.keys.derive(&record.id, kind);
            let mut inner = Self::seal(&derived, record, kind)?;
            self.cache.invalidate(&derived.storage_id);
            self.bounded(self.records().create(&mut inner)).await?;
            if inner.id == derived.storage_id {
                return Ok(());
            }
            // The derived id was taken: drop what the backend wrote elsewhere, new ticket.
            self.bounded(self.records().delete(&inner.id)).await?;
            record.id = Id::default();
        }
    }

    /// The record of `ticket`, opened; `None` for anything that does not open.
    async fn open(&self, ticket: &Id, kind: Kind) -> session_store::Result<Option<Record>> {
        for (n, derived) in self.keys.derive_all(ticket, kind).into_iter().enumerate() {
            let inner = match self.bounded(self.records().load(&derived.storage_id)).await {
                Ok(Some(inner)) => inner,
                Ok(None) | Err(session_store::Error::Decode(_)) => continue,
                Err(err) => return Err(err),
            };
            let data = inner
                .data
                .get(field(kind))
                .and_then(Value::as_str)
                .and_then(|sealed| derived.open(sealed))
                .and_then(|plain| serde_json::from_slice(&plain).ok());
            let Some(data) = data else {
                return Ok(None); // present but not ours to open: refused, left alone
            };
            let record = Record {
                id: *ticket,
                data,
                expiry_date: inner.expiry_date,
            };
            if n > 0 {
                // Boxed: the re-index's Redis futures are large, and rare (key rotation).
                Box::pin(self.reseal(&record, kind, &derived)).await?;
            }
            return Ok(Some(record));
        }
        Ok(None)
    }

    /// Key rotation: a record opened with an old server key moves under the new one.
    async fn reseal(
        &self,
        record: &Record,
        kind: Kind,
        old: &Derived,
    ) -> session_store::Result<()> {
        let derived = self.keys.derive(&record.id, kind);
        let mut inner = Self::seal(&derived, record, kind)?;
        self.cache.invalidate(&derived.storage_id);
        self.bounded(self.records().create(&mut inner)).await?;
        self.cache.invalidate(&old.storage_id);
        self.bounded(self.records().delete(&old.storage_id)).await?;
        if kind == Kind::Session {
            super::index::reindex(self, record).await?;
        }
        tracing::debug!("session re-sealed under the current server key");
        Ok(())
    }

    /// A pre-login record (`data` under one key), valid until `expiry`; returns its ticket.
    pub async fn create_login(
        &self,
        data: Value,
        expiry: time::OffsetDateTime,
    ) -> session_store::Result<Id> {
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([("login".to_owned(), data)]),
            expiry_date: expiry,
        };
        self.create_sealed(&mut record, Kind::Login).await?;
        Ok(record.id)
    }

    /// Consumes a pre-login record: only a login ticket finds one, and it is deleted
    /// before anything else can fail (single use).
    /// Parallel callbacks with one login cookie race here: the record is read, then
    /// claimed by deleting it, and only the caller whose delete removed it gets it (else two
    /// of them would redeem the code, and the provider revokes what a replayed code issued).
    pub async fn take_login(&self, ticket: &Id) -> session_store::Result<Option<Value>> {
        let Some(mut record) = self.open(ticket, Kind::Login).await? else {
            return Ok(None);
        };
        let mut claimed = false;
        for derived in self.keys.derive_all(ticket, Kind::Login) {
            claimed |= self.claim(&derived.storage_id).await?;
        }
        Ok(claimed.then(|| record.data.remove("login")).flatten())
    }

    /// Deletes one record; whether this call is the one that removed it.
    async fn claim(&self, storage_id: &Id) -> session_store::Result<bool> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.take(storage_id)),
            Backend::Redis(_, pool) => {
                let del = pool.del::<i64, _>(storage_id.to_string());
                let removed = self
                    .bounded(async {
                        del.await
                            .map_err(|e| session_store::Error::Backend(e.to_string()))
                    })
                    .await?;
                Ok(removed == 1)
            }
        }
    }

    /// Deletes the record stored under a storage id (the index knows only those).
    pub(super) async fn delete_stored(&self, storage_id: &Id) -> session_store::Result<()> {
        self.cache.invalidate(storage_id);
        let deleted = self.bounded(self.records().delete(storage_id)).await;
        self.cache.invalidate(storage_id);
        deleted
    }

    /// The decoded session of `ticket`: from the near cache when it is there, else read,
    /// opened and kept there. The hot path of `/api/*`.
    pub async fn session_data(
        &self,
        ticket: &Id,
    ) -> session_store::Result<Option<Arc<SessionData>>> {
        let key = self.cache.key(ticket);
        if let Some(data) = self.cache.get(&key) {
            return Ok(Some(data));
        }
        // Boxed: the miss path's future is large, and a hit (the common case) must not
        // carry it (the fast path's future is moved into its box on every request).
        Box::pin(self.session_data_miss(ticket, key)).await
    }

    async fn session_data_miss(
        &self,
        ticket: &Id,
        key: super::cache::CacheKey,
    ) -> session_store::Result<Option<Arc<SessionData>>> {
        let epoch = self.cache.epoch();
        let storage_id = self.keys.storage_id(ticket, Kind::Session);
        let Some(record) = self.open(ticket, Kind::Session).await? else {
            return Ok(None);
        };
        let Some(data) = record
            .data
            .get(super::KEY)
            .and_then(|v| serde_json::from_value::<SessionData>(v.clone()).ok())
        else {
            return Ok(None);
        };
        let data = Arc::new(data);
        self.cache.insert(key, storage_id, data.clone(), epoch);
        Ok(Some(data))
    }

    /// (hits, misses, entries) of the near cache.
    pub fn cache_stats(&self) -> (u64, u64, usize) {
        self.cache.stats()
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.create_sealed(record, Kind::Session).await
    }

    /// Update-only (as the Redis store's `SET … XX`): an ended session stays ended.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let derived = self.keys.derive(&record.id, Kind::Session);
        let inner = Self::seal(&derived, record, Kind::Session)?;
        self.cache.invalidate(&derived.storage_id);
        let saved = self.bounded(self.records().save(&inner)).await;
        self.cache.invalidate(&derived.storage_id);
        saved
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.open(id, Kind::Session).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        for derived in self.keys.derive_all(id, Kind::Session) {
            self.cache.invalidate(&derived.storage_id);
            self.bounded(self.records().delete(&derived.storage_id))
                .await?;
            self.cache.invalidate(&derived.storage_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_sessions: 100,
            max_logins: 100,
        }
    }

    fn memory_store() -> Store {
        Store::memory(
            Duration::from_secs(1),
            limits(),
            Keyring::default(),
            NearCache::new(100, Duration::from_secs(60)),
        )
    }

    fn session(data: Value) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::from([("bff".to_owned(), data)]),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(5),
        }
    }

    #[tokio::test]
    async fn records_are_sealed_under_derived_ids() {
        let store = memory_store();
        let mut record = session(serde_json::json!({"at": "lka_secret"}));
        store.create(&mut record).await.expect("create");
        let backend = store.memory_backend().expect("memory");
        assert!(
            backend.load(&record.id).await.expect("load").is_none(),
            "not under the ticket"
        );
        let inner = backend
            .load(&store.storage_id(&record.id))
            .await
            .expect("load")
            .expect("under the derived id");
        let text = serde_json::to_string(&inner.data).expect("json");
        assert!(!text.contains("lka_"), "{text}");
        let opened = store.load(&record.id).await.expect("load").expect("opens");
        assert_eq!(opened.data, record.data);
    }

    #[tokio::test]
    async fn login_and_session_tickets_never_cross() {
        let store = memory_store();
        let mut record = session(serde_json::json!({"at": "x"}));
        store.create(&mut record).await.expect("create");
        assert!(store.take_login(&record.id).await.expect("take").is_none());
        assert!(
            store.load(&record.id).await.expect("load").is_some(),
            "session untouched"
        );
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
        let login = store
            .create_login(serde_json::json!({"state": "s"}), expiry)
            .await
            .expect("login");
        assert!(store.load(&login).await.expect("load").is_none());
        assert!(store.take_login(&login).await.expect("take").is_some());
        assert!(
            store.take_login(&login).await.expect("take").is_none(),
            "single use"
        );
    }

    /// Records of the earlier format (plain data under the cookie's own id) are refused.
    #[tokio::test]
    async fn records_of_the_previous_format_are_refused() {
        let store = memory_store();
        let mut old = session(serde_json::json!({"at": "lka_old_format"}));
        let backend = store.memory_backend().expect("memory");
        backend.create(&mut old).await.expect("old record");
        assert!(store.load(&old.id).await.expect("load").is_none());
        assert!(
            backend.load(&old.id).await.expect("load").is_some(),
            "left to expire"
        );
    }

    #[tokio::test]
    async fn save_does_not_resurrect_a_deleted_session() {
        let store = memory_store();
        let mut record = session(serde_json::json!({"at": "x"}));
        store.create(&mut record).await.expect("create");
        store.delete(&record.id).await.expect("delete");
        store.save(&record).await.expect("save");
        assert!(store.load(&record.id).await.expect("load").is_none());
    }
}
