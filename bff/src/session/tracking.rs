//! Redis server-assisted client-side caching for the near cache ([`super::cache`]):
//! `CLIENT TRACKING ON` (RESP3, default mode: the server remembers the keys each
//! connection read and pushes an invalidation when anyone changes them) on every
//! connection of the pool.
//!
//! Tracking lives and dies with a connection, so the cache is suspended (cleared, nothing
//! served) from the moment a connection is (re)established or reports an error until
//! its tracking is confirmed again. An invalidation naming no key (the server flushed its
//! table, e.g. `FLUSHDB`) clears everything.

use std::sync::Arc;
use std::time::Duration;

use fred::interfaces::{ClientLike, EventInterface, TrackingInterface};
use fred::prelude::{Client, Pool};

use super::cache::NearCache;

async fn track(client: &Client, cache: &NearCache) {
    match client
        .start_tracking(Vec::<String>::new(), false, false, false, false)
        .await
    {
        Ok(()) => cache.resume(),
        Err(err) => {
            // Stays suspended: correct, just slower (every request reads the store).
            tracing::warn!(error = %err, "redis client tracking failed; the near cache stays off");
        }
    }
}

/// How often the store is pinged while the near cache serves without asking it.
pub const HEALTH_EVERY: Duration = Duration::from_millis(500);

/// A frozen Redis sends no error and, with every request served from the cache, is
/// asked nothing: a ping every [`HEALTH_EVERY`] (bounded by the store timeout) suspends
/// the cache when it goes unanswered, so an outage is seen within about a second and
/// requests then get the usual 503. The pings are the only commands a warm BFF sends.
fn spawn_health_check(pool: &Pool, cache: &Arc<NearCache>, timeout: Duration) {
    let (pool, cache) = (pool.clone(), Arc::downgrade(cache));
    tokio::spawn(async move {
        let mut healthy = true;
        let mut tick = tokio::time::interval(HEALTH_EVERY);
        loop {
            tick.tick().await;
            let Some(cache) = cache.upgrade() else { return };
            let ping = tokio::time::timeout(timeout, pool.ping::<String>(None)).await;
            let ok = matches!(ping, Ok(Ok(_)));
            if healthy && !ok {
                cache.suspend();
            } else if !healthy && ok {
                cache.resume();
            }
            healthy = ok;
        }
    });
}

/// Before `pool.connect()`: suspends the cache for every connection until it tracks.
pub fn watch(pool: &Pool, cache: &Arc<NearCache>, timeout: Duration) {
    spawn_health_check(pool, cache, timeout);
    for client in pool.clients() {
        cache.suspend();
        let c = cache.clone();
        client.on_invalidation(move |invalidation| {
            if invalidation.keys.is_empty() {
                c.clear();
            }
            for key in &invalidation.keys {
                match key.as_str().and_then(|k| k.parse().ok()) {
                    Some(id) => c.invalidate(&id),
                    None => c.clear(),
                }
            }
            Ok(())
        });
        let (c, this) = (cache.clone(), client.clone());
        client.on_reconnect(move |_| {
            let (c, this) = (c.clone(), this.clone());
            async move {
                c.suspend();
                tokio::spawn(async move { track(&this, &c).await });
                Ok(())
            }
        });
        let c = cache.clone();
        client.on_error(move |_| {
            c.clear();
            async { Ok(()) }
        });
        let c = cache.clone();
        client.on_unresponsive(move |_| {
            c.clear();
            async { Ok(()) }
        });
        let (c, this) = (cache.clone(), client.clone());
        tokio::spawn(async move {
            if this.wait_for_connect().await.is_ok() {
                track(&this, &c).await;
            }
        });
    }
}
