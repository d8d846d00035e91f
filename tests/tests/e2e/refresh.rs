//! Single-flight refresh: 50 parallel calls with an expired token → exactly one refresh,
//! across two BFF processes sharing one Redis, and within one in-memory BFF. Plus the
//! forced refresh after an upstream 401 (one retry, no loop).

use std::time::Duration;

use crate::browser;
use crate::harness::{Bff, BffOptions, Echo, Provider, TokenCounter};
use crate::{redis, until_token_expired};

async fn fifty_parallel(replicas: &[&Bff], client: &reqwest::Client, echo: &Echo) {
    let calls = (0..50).map(|i| {
        let url = format!("{}/api/parallel/{i}", replicas[i % replicas.len()].url);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "all 50 succeed: {statuses:?}"
    );
    let bearers: std::collections::HashSet<String> = echo
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.uri.starts_with("/parallel/"))
        .filter_map(|s| s.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(bearers.len(), 1, "all 50 used the one new token");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_flight_across_two_replicas_on_one_redis() {
    let Some(url) = redis::url(12, "single_flight_across_two_replicas_on_one_redis") else {
        return;
    };
    redis::flush(&url).await;
    let provider = Provider::start(6).await;
    let counter = TokenCounter::start(&provider).await;
    let echo = Echo::start().await;
    let options = BffOptions {
        redis_url: Some(url),
        token_url: Some(counter.url.clone()),
        upstream: Some(echo.url.clone()),
        ..BffOptions::default()
    };
    let a = Bff::start(&provider, options.clone()).await;
    let b = Bff::start(&provider, options).await;
    // Cookies ignore ports: the browser sends the same session cookie to both replicas.
    let client = browser::logged_in(&a).await;
    until_token_expired(&client, &a.url).await;
    assert_eq!(counter.refreshes(), 0);
    fifty_parallel(&[&a, &b], &client, &echo).await;
    assert_eq!(
        counter.refreshes(),
        1,
        "exactly one refresh at the provider"
    );
    // Both replicas still serve the session (the family was not revoked).
    for bff in [&a, &b] {
        let status = client
            .get(format!("{}/api/after", bff.url))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn single_flight_in_memory() {
    let provider = Provider::start(6).await;
    let counter = TokenCounter::start(&provider).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            token_url: Some(counter.url.clone()),
            upstream: Some(echo.url.clone()),
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;
    until_token_expired(&client, &bff.url).await;
    fifty_parallel(&[&bff], &client, &echo).await;
    assert_eq!(counter.refreshes(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_401_forces_one_refresh_and_one_retry() {
    let provider = Provider::start(3600).await;
    let counter = TokenCounter::start(&provider).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            token_url: Some(counter.url.clone()),
            upstream: Some(echo.url.clone()),
            skew: 30,
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;
    // `/deny/*` always answers 401: one forced refresh, one retry, then the 401 passes.
    let response = client
        .get(format!("{}/api/deny/x", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(counter.refreshes(), 1, "one forced refresh");
    let denied: Vec<_> = echo
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.uri.starts_with("/deny/"))
        .map(|s| s.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(denied.len(), 2, "exactly one retry");
    assert_ne!(
        denied[0], denied[1],
        "the retry carried the refreshed token"
    );
    // A body cannot be replayed: a POST's 401 passes through without a refresh.
    let response = client
        .post(format!("{}/api/deny/y", bff.url))
        .header("x-csrf", "1")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(counter.refreshes(), 1);
    // The session goes on with the new token.
    let response = client
        .get(format!("{}/api/ok", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(echo.last().header("authorization").unwrap(), denied[1]);
    let _ = Duration::ZERO;
}
