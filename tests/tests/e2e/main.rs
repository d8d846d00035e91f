//! End-to-end tests: the real provider and BFF binaries, real Redis, a real upstream.
#![allow(clippy::unwrap_used)]

mod authlib_rp;
mod backchannel;
mod browser;
mod chrome;
mod cluster;
mod compose;
mod demo_process;
mod device;
mod expiry;
mod failover;
mod flows;
mod harness;
mod memory_bounds;
mod near_cache;
mod oidc_provider;
mod poll;
mod provider_logout;
mod proxy_edges;
mod raw_lane;
mod recorder;
mod redis;
mod redis_down;
mod redis_topology;
mod refresh;
mod sentinel;
mod sessions;
mod spa;
mod spa_steps;
mod streaming;
mod third_party;

use std::time::Duration;

pub use poll::{eventually, loud};

pub fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Waits until the session's access token has expired (per `/auth/session`).
pub async fn until_token_expired(client: &reqwest::Client, bff_url: &str) {
    let session: serde_json::Value = client
        .get(format!("{bff_url}/auth/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expires_at = session["expires_at"].as_i64().expect("expires_at");
    eventually(
        Duration::from_secs(30),
        "the access token to expire",
        || async { (unix_now() > expires_at).then_some(()) },
    )
    .await;
}
