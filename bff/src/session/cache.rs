//! The near cache: decoded sessions kept in the process, so a proxied request on a warm
//! session costs no store round trip and no decryption.
//!
//! Looked up by a [`CacheKey`]: the cookie's 128-bit ticket encrypted as one AES-128
//! block under a random key of this process (a keyed pseudorandom permutation: distinct
//! tickets never share a key, and nobody without the key can name one; one AES-NI block
//! per request, where the HKDF storage id costs eight SHA-256 compressions). The ticket itself is never kept; each entry also
//! knows its storage id, which is what invalidations name. Coherence:
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
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::cipher::{AES_128, EncryptingKey, UnboundCipherKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use tower_sessions::session::Id;

use super::record::SessionData;

/// The near cache's name for a ticket: unforgeable without this process's key, and not
/// the ticket (nothing in the cache opens a store record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheKey([u8; 16]);

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut low = [0u8; 8];
        low.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(low));
    }
}

/// A cache key is a PRP output: its bits are already uniform, and nobody without this
/// process's key can aim at a bucket, so it is its own hash (no SipHash per lookup).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Entry {
    data: Arc<SessionData>,
    fetched: Instant,
    storage_id: Id,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<CacheKey, Entry, BuildHasherDefault<KeyHasher>>,
    /// Storage id → cache key, for invalidations (they name storage ids).
    by_storage_id: HashMap<Id, CacheKey>,
}

impl Entries {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.by_key.remove(key) {
            self.by_storage_id.remove(&entry.storage_id);
        }
    }

    fn clear(&mut self) {
        self.by_key.clear();
        self.by_storage_id.clear();
    }
}

pub struct NearCache {
    entries: Mutex<Entries>,
    /// AES-128 (one block, ECB) under this process's random key.
    prp: EncryptingKey,
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
        let mut key = [0u8; 16];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system RNG works");
        let key = UnboundCipherKey::new(&AES_128, &key).expect("a 16-byte AES-128 key");
        Self {
            entries: Mutex::default(),
            prp: EncryptingKey::ecb(key).expect("AES-128 supports ECB"),
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

    /// The cache key of a ticket.
    pub fn key(&self, ticket: &Id) -> CacheKey {
        let mut block = ticket.0.to_le_bytes();
        // One whole block: ECB over exactly 16 bytes cannot fail.
        let _ = self.prp.encrypt(&mut block);
        CacheKey(block)
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0 && !self.max_age.is_zero()
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<SessionData>> {
        if !self.active() {
            return None;
        }
        let mut entries = self.lock();
        let found = match entries.by_key.get(key) {
            Some(e) if e.fetched.elapsed() < self.max_age => Some(e.data.clone()),
            Some(_) => {
                entries.remove(key);
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
    /// `storage_id` must be the one `key`'s ticket derives (the caller has both).
    pub fn insert(&self, key: CacheKey, storage_id: Id, data: Arc<SessionData>, epoch: u64) {
        if !self.active() {
            return;
        }
        let mut entries = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch || !self.active() {
            return;
        }
        if entries.by_key.len() >= self.capacity {
            let drop_n = (self.capacity / 10).max(1);
            let victims: Vec<CacheKey> = entries.by_key.keys().take(drop_n).copied().collect();
            for victim in victims {
                entries.remove(&victim);
            }
        }
        entries.remove(&key);
        if let Some(other) = entries.by_storage_id.insert(storage_id, key) {
            entries.by_key.remove(&other);
        }
        entries.by_key.insert(
            key,
            Entry {
                data,
                fetched: Instant::now(),
                storage_id,
            },
        );
    }

    pub fn invalidate(&self, storage_id: &Id) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(key) = entries.by_storage_id.remove(storage_id) {
            entries.by_key.remove(&key);
        }
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
            self.lock().by_key.len(),
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
        let (ticket, id) = (Id::default(), Id::default());
        let key = cache.key(&ticket);
        let epoch = cache.epoch();
        cache.invalidate(&Id::default()); // any invalidation meanwhile
        cache.insert(key, id, data(), epoch);
        assert!(cache.get(&key).is_none());
        let epoch = cache.epoch();
        cache.insert(key, id, data(), epoch);
        assert!(cache.get(&key).is_some());
        cache.invalidate(&id);
        assert!(cache.get(&key).is_none());
        assert!(cache.lock().by_storage_id.is_empty());
    }

    #[test]
    fn bounded_and_aged() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        for _ in 0..100 {
            let key = cache.key(&Id::default());
            cache.insert(key, Id::default(), data(), cache.epoch());
        }
        assert!(cache.stats().2 <= 10);
        assert!(cache.lock().by_storage_id.len() <= 10, "both maps bounded");
        let aged = NearCache::new(10, Duration::ZERO);
        let key = aged.key(&Id::default());
        aged.insert(key, Id::default(), data(), aged.epoch());
        assert!(aged.get(&key).is_none(), "max age 0 turns the cache off");
    }

    #[test]
    fn suspended_while_a_connection_is_untracked() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        let (key, id) = (cache.key(&Id::default()), Id::default());
        cache.insert(key, id, data(), cache.epoch());
        cache.suspend();
        cache.suspend();
        assert!(cache.get(&key).is_none(), "cleared");
        cache.insert(key, id, data(), cache.epoch());
        cache.resume();
        assert!(cache.get(&key).is_none(), "one connection still untracked");
        cache.resume();
        cache.insert(key, id, data(), cache.epoch());
        assert!(cache.get(&key).is_some());
    }

    #[test]
    fn keys_are_per_process_and_per_ticket() {
        let (a, b) = (
            NearCache::new(1, Duration::from_secs(1)),
            NearCache::new(1, Duration::from_secs(1)),
        );
        let ticket = Id::default();
        assert_eq!(a.key(&ticket), a.key(&ticket));
        assert_ne!(a.key(&ticket), a.key(&Id::default()));
        assert_ne!(a.key(&ticket), b.key(&ticket), "a random key per process");
        assert_ne!(a.key(&ticket).0, ticket.0.to_le_bytes(), "not the ticket");
    }

    #[test]
    fn a_storage_id_names_one_entry() {
        let cache = NearCache::new(10, Duration::from_secs(60));
        let id = Id::default();
        let (k1, k2) = (cache.key(&Id::default()), cache.key(&Id::default()));
        cache.insert(k1, id, data(), cache.epoch());
        cache.insert(k2, id, data(), cache.epoch());
        assert!(
            cache.get(&k1).is_none(),
            "replaced: one entry per storage id"
        );
        cache.invalidate(&id);
        assert!(cache.get(&k2).is_none());
        assert!(cache.lock().by_key.is_empty());
    }
}
