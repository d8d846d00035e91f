//! Sessions end: when the refresh token dies (`invalid_grant`), after the idle timeout,
//! after the absolute lifetime.

use std::time::Duration;

use serde_json::Value;

use crate::browser;
use crate::eventually;
use crate::harness::{Bff, BffOptions, Echo, Provider};

async fn session_status(client: &reqwest::Client, bff: &Bff) -> u16 {
    client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_refresh_token_ends_the_session() {
    // Access and refresh tokens that both die within seconds.
    let provider = Provider::start_with(1, 2).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;
    let login_at = crate::unix_now();
    // Wait (by polling the clock) until the refresh token has certainly expired.
    eventually(
        Duration::from_secs(30),
        "the refresh token to expire",
        || async { (crate::unix_now() > login_at + 3).then_some(()) },
    )
    .await;
    let response = client
        .get(format!("{}/api/x", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "session_expired"
    );
    assert_eq!(
        session_status(&client, &bff).await,
        401,
        "session destroyed"
    );
    assert_eq!(echo.count(), 0);
    let metrics = bff.metrics().await;
    assert!(
        metrics.contains("bff_refresh_failures_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bff_sessions_destroyed_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_and_absolute_timeouts() {
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let idle = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            skew: 30,
            extra_args: vec!["--idle-timeout-seconds".into(), "2".into()],
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&idle).await;
    assert_eq!(session_status(&client, &idle).await, 200);
    eventually(Duration::from_secs(30), "the idle timeout", || {
        let client = client.clone();
        let idle = &idle;
        async move { (session_status(&client, idle).await == 401).then_some(()) }
    })
    .await;

    let absolute = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            skew: 30,
            extra_args: vec!["--absolute-timeout-seconds".into(), "2".into()],
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&absolute).await;
    // API activity does not extend an absolute lifetime.
    let status = eventually(Duration::from_secs(30), "the absolute timeout", || {
        let client = client.clone();
        let url = format!("{}/api/x", absolute.url);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status() == 401).then_some(response)
        }
    })
    .await;
    assert_eq!(
        status.json::<Value>().await.unwrap()["error"],
        "session_expired"
    );
}
