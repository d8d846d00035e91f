//! What the Sentinel and Cluster failover tests share: a probe calling `/api/*` on every
//! replica while a Redis node dies (statuses and the outage's length), single-flight
//! refresh bursts, the near-cache staleness check across replicas, and the set-up: two BFF
//! replicas on one Redis topology.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::browser::GOOD_ORIGIN;
use crate::harness::{Bff, BffOptions, Echo, Provider, TokenCounter};

/// A provider whose token endpoint is counted, an echo upstream, and two BFF replicas on
/// `redis_url`.
pub struct Replicas {
    pub provider: Provider,
    pub counter: TokenCounter,
    pub echo: Echo,
    pub a: Bff,
    pub b: Bff,
}

pub async fn two_replicas(redis_url: String, access_token_seconds: u64) -> Replicas {
    let provider = Provider::start(access_token_seconds).await;
    let counter = TokenCounter::start(&provider).await;
    let echo = Echo::start().await;
    let options = BffOptions {
        redis_url: Some(redis_url),
        token_url: Some(counter.url.clone()),
        upstream: Some(echo.url.clone()),
        redis_timeout_ms: Some(500),
        // Longer than the tests: a stale entry could only be dropped by an invalidation.
        extra_args: vec!["--session-cache-seconds".into(), "600".into()],
        ..BffOptions::default()
    };
    let a = Bff::start(&provider, options.clone()).await;
    let b = Bff::start(&provider, options).await;
    Replicas {
        provider,
        counter,
        echo,
        a,
        b,
    }
}

/// `GET {bff}/api{path}` with exactly this session cookie; 0 for a transport error.
pub async fn api(bff_url: &str, cookie: &str, path: &str) -> u16 {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    });
    match client
        .get(format!("{bff_url}/api{path}"))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// Calls `/api/probe/*` on every replica, `per_replica` loops each, until stopped.
pub struct Probe {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<(Instant, usize, u16)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What a probe saw.
#[derive(Debug)]
pub struct Outcome {
    pub statuses: BTreeMap<u16, usize>,
    /// First non-200 → first 200 after the last non-200, per replica.
    pub gaps: Vec<Option<Duration>>,
}

impl Outcome {
    pub fn assert_no_logout(&self, what: &str) {
        assert!(
            !self.statuses.contains_key(&401),
            "{what}: a user was logged out: {:?}",
            self.statuses
        );
        let other: Vec<_> = self
            .statuses
            .keys()
            .filter(|s| **s != 200 && **s != 503)
            .collect();
        assert!(
            other.is_empty(),
            "{what}: only 200 and 503: {:?}",
            self.statuses
        );
    }

    pub fn requests(&self) -> usize {
        self.statuses.values().sum()
    }

    /// The longest per-replica gap.
    pub fn gap(&self) -> Option<Duration> {
        self.gaps.iter().flatten().max().copied()
    }
}

impl Probe {
    pub fn start(urls: &[&str], cookie: &str, per_replica: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<(Instant, usize, u16)>>> = Arc::default();
        let mut tasks = Vec::new();
        for (replica, url) in urls.iter().enumerate() {
            for n in 0..per_replica {
                let (stop, log) = (stop.clone(), log.clone());
                let (url, cookie) = ((*url).to_owned(), cookie.to_owned());
                tasks.push(tokio::spawn(async move {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Acquire) {
                        let status = api(&url, &cookie, &format!("/probe/{n}/{i}")).await;
                        log.lock().unwrap().push((Instant::now(), replica, status));
                        i += 1;
                        // Pacing, not synchronisation: a steady trickle, not a CPU storm.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }));
            }
        }
        Self { stop, log, tasks }
    }

    pub async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::Release);
        for task in self.tasks {
            task.await.unwrap();
        }
        let log = self.log.lock().unwrap().clone();
        let mut statuses = BTreeMap::new();
        for (_, _, status) in &log {
            *statuses.entry(*status).or_insert(0) += 1;
        }
        let replicas = log.iter().map(|(_, r, _)| r + 1).max().unwrap_or(0);
        let gaps = (0..replicas)
            .map(|r| {
                let mut mine: Vec<_> = log.iter().filter(|(_, x, _)| *x == r).collect();
                mine.sort_by_key(|(t, _, _)| *t);
                let first_bad = mine.iter().find(|(_, _, s)| *s != 200)?.0;
                let last_bad = mine.iter().rev().find(|(_, _, s)| *s != 200)?.0;
                let back = mine.iter().find(|(t, _, s)| *t > last_bad && *s == 200)?.0;
                Some(back - first_bad)
            })
            .collect();
        Outcome { statuses, gaps }
    }
}

/// Bearer tokens the upstream saw on paths starting with `prefix`.
pub fn bearers(echo: &Echo, prefix: &str) -> HashSet<String> {
    echo.seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.uri.starts_with(prefix))
        .filter_map(|s| s.header("authorization").map(str::to_owned))
        .collect()
}

/// 50 parallel calls spread over the replicas (`/api/{tag}/i`): all 200, one bearer.
pub async fn fifty_parallel(replicas: &[&Bff], cookie: &str, echo: &Echo, tag: &str) {
    let calls = (0..50).map(|i| {
        let url = replicas[i % replicas.len()].url.clone();
        let cookie = cookie.to_owned();
        let path = format!("/{tag}/{i}");
        async move { api(&url, &cookie, &path).await }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{tag}: {statuses:?}");
    assert_eq!(
        bearers(echo, &format!("/{tag}/")).len(),
        1,
        "{tag}: all 50 used the one new token"
    );
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

/// `POST /auth/logout` of `cookie` on one replica (`?everywhere=true` when asked).
pub async fn logout(bff: &Bff, cookie: &str, everywhere: bool) {
    let query = if everywhere { "?everywhere=true" } else { "" };
    let response = reqwest::Client::new()
        .post(format!("{}/auth/logout{query}", bff.url))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "logout");
}

/// Makes `watched`'s session warm in `reader`'s near cache (hits rising: so the cache is
/// on, which it is only while every store connection tracks), then logs `cookie` out
/// through `writer` (`everywhere`: every session of the user) and measures how long
/// `reader` keeps serving `watched`. Were invalidations not arriving, it would serve it
/// for `--session-cache-seconds`.
pub async fn logout_reaches(
    writer: &Bff,
    cookie: &str,
    everywhere: bool,
    reader: &Bff,
    watched: &str,
) -> Duration {
    crate::eventually(
        Duration::from_secs(15),
        "the near cache serving again",
        || async {
            let before = metric(&reader.metrics().await, "bff_near_cache_hits_total");
            assert_eq!(api(&reader.url, watched, "/warm").await, 200);
            assert_eq!(api(&reader.url, watched, "/warm").await, 200);
            let after = metric(&reader.metrics().await, "bff_near_cache_hits_total");
            (after > before).then_some(())
        },
    )
    .await;
    logout(writer, cookie, everywhere).await;
    let ended = Instant::now();
    loop {
        if api(&reader.url, watched, "/after-logout").await == 401 {
            return ended.elapsed();
        }
        assert!(
            ended.elapsed() < Duration::from_secs(5),
            "the other replica kept serving a logged-out session"
        );
    }
}
