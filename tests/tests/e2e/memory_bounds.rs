//! The in-memory store (the default) stays bounded under anonymous floods, and
//! `/auth/login` is rate-limited per client IP.

use futures_util::StreamExt;

use crate::harness::{Bff, BffOptions, Provider};

fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in {metrics}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_flood_keeps_the_memory_store_bounded() {
    let provider = Provider::start(3600).await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            extra_args: vec![
                "--login-rate-per-minute".into(),
                "0".into(),
                "--memory-max-logins".into(),
                "1000".into(),
            ],
            ..BffOptions::default()
        },
    )
    .await;
    let client = crate::browser::client();
    let flood = |n: usize| {
        let client = client.clone();
        let url = format!("{}/auth/login", bff.url);
        async move {
            futures_util::stream::iter(0..n)
                .map(|_| {
                    let client = client.clone();
                    let url = url.clone();
                    async move { client.get(url).send().await.unwrap().status().as_u16() }
                })
                .buffer_unordered(32)
                .collect::<Vec<u16>>()
                .await
        }
    };
    let warm = flood(2_000).await;
    assert!(warm.iter().all(|s| *s == 302), "every login starts");
    let rss_warm = bff.rss_kb();
    let statuses = flood(20_000).await;
    assert!(
        statuses.iter().all(|s| *s == 302),
        "the oldest records go, new logins start"
    );
    let held = gauge(&bff.metrics().await, "bff_memory_logins");
    assert_eq!(held, 1000, "capped at --memory-max-logins");
    let rss = bff.rss_kb();
    crate::loud(&format!(
        "memory store under a 22,000-login flood: {held} records held, RSS {rss_warm} kB → {rss} kB"
    ));
    assert!(
        rss < rss_warm + 8 * 1024,
        "RSS grew from {rss_warm} kB to {rss} kB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_is_rate_limited_per_client_ip() {
    let provider = Provider::start(3600).await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            extra_args: vec!["--login-rate-per-minute".into(), "5".into()],
            ..BffOptions::default()
        },
    )
    .await;
    let client = crate::browser::client();
    let get = || async {
        client
            .get(format!("{}/auth/login", bff.url))
            // Spoofed: the BFF trusts no proxy here, so this changes nothing.
            .header("x-forwarded-for", format!("198.51.100.{}", rand_octet()))
            .send()
            .await
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(get().await.status(), 302);
    }
    let refused = get().await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(gauge(&bff.metrics().await, "bff_login_rate_limited_total") >= 1);
    // Signed-in traffic is not limited: /auth/session still answers.
    let session = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 401);
}

fn rand_octet() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering};
    static N: AtomicU8 = AtomicU8::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}
