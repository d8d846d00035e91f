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

/// Before `pool.connect()`: suspends the cache for every connection until it tracks.
pub fn watch(pool: &Pool, cache: &Arc<NearCache>) {
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
