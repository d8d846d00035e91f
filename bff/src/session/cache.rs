//! The near cache: decoded sessions kept in the process, so a proxied request on a warm
//! session costs no store round trip and no decryption.
//!
//! Keyed by the storage id (never the cookie's ticket). Coherence:
//! - this process's own writes and deletes drop the entry at once ([`super::Store`]);
//! - other replicas' writes reach it through Redis server-assisted client-side caching
//!   (RESP3 `CLIENT TRACKING`, invalidation messages on the same connections that read);
//! - any disconnect or reconnect of those connections clears the whole cache (tracking
//!   state is lost with the connection);
//! - every entry lives at most `max_age` (`--session-cache-seconds`), whatever happens to
//!   the invalidation channel.
//!
//! A read racing an invalidation must not cache what it read: [`NearCache::epoch`] is
//! taken before the store read and the entry is kept only if no invalidation arrived
//! meanwhile (a rare extra store read, never a stale entry).
//!
//! Bounded: at most `capacity` entries; past it an arbitrary tenth is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_sessions::session::Id;

use super::record::SessionData;

struct Entry {
    data: Arc<SessionData>,
    fetched: Instant,
}

pub struct NearCache {
    entries: Mutex<HashMap<Id, Entry>>,
    /// Bumped by every invalidation (local or from Redis).
    epoch: AtomicU64,
    capacity: usize,
    max_age: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Store connections whose tracking is not (yet, or any more) confirmed: while any
    /// is, nothing is served from or kept in the cache.
    untracked: AtomicUsize,
}

impl std::fmt::Debug for NearCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("capacity", &self.capacity)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl NearCache {
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            epoch: AtomicU64::new(0),
            capacity,
            max_age,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            untracked: AtomicUsize::new(0),
        }
    }

    /// A connection lost (or not yet given) its tracking: off until [`Self::resume`].
    pub fn suspend(&self) {
        self.untracked.fetch_add(1, Ordering::AcqRel);
        self.clear();
    }

    /// That connection tracks again.
    pub fn resume(&self) {
        self.clear();
        let _ = self
            .untracked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    fn active(&self) -> bool {
        self.enabled() && self.untracked.load(Ordering::Acquire) == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Id, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0 && !self.max_age.is_zero()
    }

    pub fn get(&self, storage_id: &Id) -> Option<Arc<SessionData>> {
        if !self.active() {
            return None;
        }
        let mut entries = self.lock();
        let found = match entries.get(storage_id) {
            Some(e) if e.fetched.elapsed() < self.max_age => Some(e.data.clone()),
            Some(_) => {
                entries.remove(storage_id);
                None
            }
            None => None,
        };
        drop(entries);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Take before reading the store; pass to [`Self::insert`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps `data` unless an invalidation arrived since `epoch` was taken.
    pub fn insert(&self, storage_id: Id, data: Arc<SessionData>, epoch: u64) {
        if !self.active() {
            return;
        }
        let mut entries = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch || !self.active() {
            return;
        }
        if entries.len() >= self.capacity {
            let drop_n = (self.capacity / 10).max(1);
            let victims: Vec<Id> = entries.keys().take(drop_n).copied().collect();
            for id in victims {
                entries.remove(&id);
            }
        }
        entries.insert(
            storage_id,
            Entry {
                data,
                fetched: Instant::now(),
            },
        );
    }

    pub fn invalidate(&self, storage_id: &Id) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.remove(storage_id);
    }

    pub fn clear(&self) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// (hits, misses, entries).
    pub fn stats(&self) -> (u64, u64, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.lock().len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn data() -> Arc<SessionData> {
        Arc::new(SessionData {
            access_token: AccessToken::new("a"),
            refresh_token: None,
            expires_at: 0,
            scope: String::new(),
            user: serde_json::json!({}),
            created_at: 0,
            last_seen: 0,
            ends_at: 0,
            sub: None,
            sid: None,
            id_token: None,
        })
    }

    #[test]
    fn an_invalidation_during_a_read_keeps_the_read_out() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        let id = Id::default();
        let epoch = cache.epoch();
        cache.invalidate(&Id::default()); // any invalidation meanwhile
        cache.insert(id, data(), epoch);
        assert!(cache.get(&id).is_none());
        let epoch = cache.epoch();
        cache.insert(id, data(), epoch);
        assert!(cache.get(&id).is_some());
        cache.invalidate(&id);
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn bounded_and_aged() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        for _ in 0..100 {
            cache.insert(Id::default(), data(), cache.epoch());
        }
        assert!(cache.stats().2 <= 10);
        let aged = NearCache::new(10, Duration::ZERO);
        let id = Id::default();
        aged.insert(id, data(), aged.epoch());
        assert!(aged.get(&id).is_none(), "max age 0 turns the cache off");
    }

    #[test]
    fn suspended_while_a_connection_is_untracked() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        let id = Id::default();
        cache.insert(id, data(), cache.epoch());
        cache.suspend();
        cache.suspend();
        assert!(cache.get(&id).is_none(), "cleared");
        cache.insert(id, data(), cache.epoch());
        cache.resume();
        assert!(cache.get(&id).is_none(), "one connection still untracked");
        cache.resume();
        cache.insert(id, data(), cache.epoch());
        assert!(cache.get(&id).is_some());
    }
}
