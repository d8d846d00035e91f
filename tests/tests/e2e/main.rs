//! End-to-end tests: the real provider and BFF binaries, real Redis, a real upstream.
#![allow(clippy::unwrap_used)]

mod browser;
mod chrome;
mod compose;
mod demo_process;
mod expiry;
mod flows;
mod harness;
mod memory_bounds;
mod near_cache;
mod proxy_edges;
mod recorder;
mod redis;
mod redis_down;
mod refresh;
mod sessions;
mod spa;
mod streaming;
mod third_party;

use std::time::Duration;

/// Writes to the real stderr, past the test harness's output capture: a skipped test or a
/// measurement must be seen even when the test passes.
pub fn loud(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// Polls `check` until it yields `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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
