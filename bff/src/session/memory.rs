//! The single-process store (the default and the demo's): sealed records in a bounded map.
//!
//! Bounded three ways, so anonymous traffic cannot grow it: expired records are swept
//! (on access, and by [`MemoryStore::sweep`] every [`SWEEP_EVERY`]); at most
//! `max_logins` pre-login records, the oldest evicted first when a new login starts (that
//! browser's callback then says `no_login_in_progress` and it signs in again); at most
//! `max_sessions` sessions, past which a sign-in gets a 503 until sessions end or expire.
//! Same semantics as the Redis store: `create` never overwrites, `save` only updates
//! a record that still exists (a session ended elsewhere is never brought back).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The inner record's one data key for a pre-login record (sessions use another).
pub const LOGIN_FIELD: &str = "l";

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_sessions: usize,
    pub max_logins: usize,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<Id, Record>,
    /// Pre-login ids in creation order (may hold ids already gone).
    logins: VecDeque<Id>,
    login_count: usize,
    /// Index name → storage id → expiry (unix seconds).
    index: HashMap<String, HashMap<Id, i64>>,
    /// Used logout-token ids ([`super::replay`]) → expiry (unix seconds).
    used: HashMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    limits: Limits,
}

fn is_login(record: &Record) -> bool {
    record.data.contains_key(LOGIN_FIELD)
}

fn expired(record: &Record, now: OffsetDateTime) -> bool {
    record.expiry_date <= now
}

impl Inner {
    fn remove(&mut self, id: &Id) -> Option<Record> {
        let removed = self.records.remove(id)?;
        if is_login(&removed) {
            self.login_count -= 1;
        }
        Some(removed)
    }

    fn sweep(&mut self, now: OffsetDateTime) -> usize {
        let dead: Vec<Id> = self
            .records
            .iter()
            .filter(|(_, r)| expired(r, now))
            .map(|(id, _)| *id)
            .collect();
        for id in &dead {
            self.remove(id);
        }
        self.logins.retain(|id| self.records.contains_key(id));
        let unix = now.unix_timestamp();
        self.index.retain(|_, members| {
            members.retain(|_, until| *until > unix);
            !members.is_empty()
        });
        self.used.retain(|_, until| *until > unix);
        dead.len()
    }

    fn sessions(&self) -> usize {
        self.records.len() - self.login_count
    }

    /// Makes room for `record`, or says why not.
    fn admit(&mut self, record: &Record, limits: Limits) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc();
        if is_login(record) {
            if self.login_count >= limits.max_logins {
                self.sweep(now);
            }
            while self.login_count >= limits.max_logins {
                let Some(oldest) = self.logins.pop_front() else {
                    break;
                };
                self.remove(&oldest);
            }
            self.logins.push_back(record.id);
            self.login_count += 1;
        } else if self.sessions() >= limits.max_sessions {
            self.sweep(now);
            if self.sessions() >= limits.max_sessions {
                return Err(session_store::Error::Backend(
                    "in-memory session store is full (--memory-max-sessions)".into(),
                ));
            }
        }
        Ok(())
    }
}

impl MemoryStore {
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Arc::default(),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the map cannot leave it half-updated in a way that
        // matters (every update is a single insert/remove), so recover from poisoning.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops expired records and index entries; returns how many records went.
    pub fn sweep(&self) -> usize {
        self.lock().sweep(OffsetDateTime::now_utc())
    }

    /// (sessions, pre-login records) currently held.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.sessions(), inner.login_count)
    }

    /// Sweeps every [`SWEEP_EVERY`] until the store is dropped.
    pub fn spawn_sweeper(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let mut inner = inner
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                inner.sweep(OffsetDateTime::now_utc());
            }
        });
    }

    /// Removes a record; whether it was there.
    pub fn take(&self, id: &Id) -> bool {
        self.lock().remove(id).is_some()
    }

    pub fn index_add(&self, name: &str, member: Id, until: i64) {
        self.lock()
            .index
            .entry(name.to_owned())
            .or_default()
            .insert(member, until);
    }

    pub fn index_remove(&self, name: &str, member: &Id) {
        let mut inner = self.lock();
        if let Some(members) = inner.index.get_mut(name) {
            members.remove(member);
            if members.is_empty() {
                inner.index.remove(name);
            }
        }
    }

    /// Records `name` until `until` (unix seconds): `Some(true)` the first time,
    /// `Some(false)` while it is remembered, `None` when `max` live names are held.
    pub fn remember(&self, name: String, until: i64, max: usize) -> Option<bool> {
        let mut inner = self.lock();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if inner.used.get(&name).is_some_and(|u| *u > now) {
            return Some(false);
        }
        if inner.used.len() >= max {
            inner.used.retain(|_, u| *u > now);
            if inner.used.len() >= max {
                return None;
            }
        }
        inner.used.insert(name, until);
        Some(true)
    }

    pub fn forget(&self, name: &str) {
        self.lock().used.remove(name);
    }

    /// Removes the index and returns its live members.
    pub fn index_take(&self, name: &str) -> Vec<Id> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.lock()
            .index
            .remove(name)
            .map(|m| {
                m.into_iter()
                    .filter(|(_, u)| *u > now)
                    .map(|(id, _)| id)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut inner = self.lock();
        while inner.records.contains_key(&record.id) {
            record.id = Id::default();
        }
        inner.admit(record, self.limits)?;
        inner.records.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut inner = self.lock();
        if let Some(existing) = inner.records.get_mut(&record.id) {
            *existing = record.clone();
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut inner = self.lock();
        match inner.records.get(id) {
            Some(r) if expired(r, OffsetDateTime::now_utc()) => {
                inner.remove(id);
                Ok(None)
            }
            Some(r) => Ok(Some(r.clone())),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(login: bool, ttl: i64) -> Record {
        let field = if login { LOGIN_FIELD } else { "s" };
        Record {
            id: Id::default(),
            data: HashMap::from([(field.to_owned(), serde_json::json!("x"))]),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::seconds(ttl),
        }
    }

    fn store(max_sessions: usize, max_logins: usize) -> MemoryStore {
        MemoryStore::new(Limits {
            max_sessions,
            max_logins,
        })
    }

    #[tokio::test]
    async fn oldest_login_goes_first_at_the_cap() {
        let s = store(10, 3);
        let mut ids = Vec::new();
        for _ in 0..5 {
            let mut r = record(true, 600);
            s.create(&mut r).await.expect("create");
            ids.push(r.id);
        }
        assert_eq!(s.counts(), (0, 3));
        assert!(s.load(&ids[0]).await.expect("load").is_none());
        assert!(s.load(&ids[1]).await.expect("load").is_none());
        assert!(s.load(&ids[4]).await.expect("load").is_some());
    }

    #[tokio::test]
    async fn sessions_at_the_cap_are_refused_until_some_expire() {
        let s = store(2, 2);
        let mut short = record(false, 0);
        s.create(&mut short).await.expect("create");
        s.create(&mut record(false, 600)).await.expect("create");
        // The expired one is swept to make room; then the store is full.
        s.create(&mut record(false, 600))
            .await
            .expect("room after sweep");
        assert!(s.create(&mut record(false, 600)).await.is_err());
        assert_eq!(s.counts(), (2, 0));
    }

    #[tokio::test]
    async fn save_never_resurrects_and_sweep_empties() {
        let s = store(10, 10);
        let mut r = record(false, 0);
        s.save(&r).await.expect("save");
        assert!(
            s.load(&r.id).await.expect("load").is_none(),
            "save is update-only"
        );
        s.create(&mut r).await.expect("create");
        s.create(&mut record(true, 0)).await.expect("create");
        s.index_add("sub:x", r.id, 0);
        assert_eq!(s.sweep(), 2);
        assert_eq!(s.counts(), (0, 0));
        assert!(s.index_take("sub:x").is_empty());
    }
}
