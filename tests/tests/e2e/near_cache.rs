//! The BFF's near cache against a private Redis: a warm session's proxied request costs
//! no Redis command at all (`INFO commandstats` before and after), and a logout on one
//! replica is seen by another within the stated bound, through Redis client tracking.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::GOOD_ORIGIN;
use crate::harness::{Bff, BffOptions, Echo, Provider, TempDir};
use crate::redis;
use crate::redis_down::{REDIS_SERVER, start_redis};
use crate::sessions::login_with_cookie;

/// The stated worst case on loopback for another replica to refuse a logged-out cookie.
const STALENESS_BOUND: Duration = Duration::from_millis(100);

/// Calls per command, from `INFO commandstats`.
async fn command_calls(url: &str) -> std::collections::BTreeMap<String, u64> {
    redis::command(url, &["INFO", "commandstats"])
        .await
        .lines()
        // Not counted: this test's own SELECT + INFO, and the BFF's health pings (twice a
        // second, whatever the traffic; `session::tracking::HEALTH_EVERY`).
        .filter(|l| {
            l.starts_with("cmdstat_")
                && !["cmdstat_info:", "cmdstat_select:", "cmdstat_ping:"]
                    .iter()
                    .any(|p| l.starts_with(p))
        })
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let calls = rest
                .split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

async fn commands(url: &str) -> u64 {
    command_calls(url).await.values().sum()
}

async fn api(bff: &Bff, cookie: &str) -> StatusCode {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(reqwest::Client::new)
        .get(format!("{}/api/x", bff.url))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_sessions_cost_no_redis_command_and_logouts_reach_every_replica() {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        crate::loud("SKIPPED: near_cache needs /usr/bin/redis-server");
        assert!(
            std::env::var_os("LATCHKEY_TEST_REDIS_URL").is_none(),
            "redis-server missing"
        );
        return;
    }
    let dir = TempDir::new("near-cache-redis");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _redis = start_redis(port, &dir).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let options = BffOptions {
        redis_url: Some(url.clone()),
        upstream: Some(echo.url.clone()),
        skew: 30,
        // Longer than the test: what is measured is the invalidations, not the age limit.
        extra_args: vec!["--session-cache-seconds".into(), "600".into()],
        ..BffOptions::default()
    };
    let a = Bff::start(&provider, options.clone()).await;
    let b = Bff::start(&provider, options).await;
    let (_client, cookie) = login_with_cookie(&a).await;
    // Warm both replicas' caches (tracking is confirmed asynchronously after connect).
    for bff in [&a, &b] {
        crate::eventually(Duration::from_secs(10), "a warm near cache", || async {
            let before = commands(&url).await;
            assert_eq!(api(bff, &cookie).await, StatusCode::OK);
            (commands(&url).await == before).then_some(())
        })
        .await;
    }
    let before = command_calls(&url).await;
    let started = Instant::now();
    for _ in 0..200 {
        assert_eq!(api(&b, &cookie).await, StatusCode::OK);
        assert_eq!(api(&a, &cookie).await, StatusCode::OK);
    }
    let after = command_calls(&url).await;
    let spent: Vec<(&String, u64)> = after
        .iter()
        .map(|(name, n)| (name, n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    crate::loud(&format!(
        "near cache: Redis commands for 400 proxied requests in {:?}: {spent:?}",
        started.elapsed()
    ));
    assert!(
        spent.is_empty(),
        "a warm session's request costs no Redis command"
    );

    let logout = reqwest::Client::new()
        .post(format!("{}/auth/logout", a.url))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let logged_out = Instant::now();
    assert_eq!(
        api(&a, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "same replica: at once"
    );
    let seen = loop {
        if api(&b, &cookie).await == StatusCode::UNAUTHORIZED {
            break logged_out.elapsed();
        }
        assert!(
            logged_out.elapsed() < Duration::from_secs(5),
            "replica B kept the session"
        );
    };
    crate::loud(&format!(
        "near cache: replica B refused the logged-out cookie after {seen:?}"
    ));
    assert!(
        seen <= STALENESS_BOUND,
        "took {seen:?}, bound {STALENESS_BOUND:?}"
    );
}
