//! The chaos soak: two BFF replicas on one persistent Redis, two provider processes (behind
//! a retrying load balancer) on one private PostgreSQL cluster, issuing short-lived access
//! tokens so refreshes happen all the time; N users, each with a real login, call
//! `/api/me/` through whichever BFF replica answers. Meanwhile, on a schedule: `kill -9`
//! a BFF replica and restart it, restart Redis, `kill -9` a provider and restart it,
//! restart PostgreSQL, then the same for the other BFF and provider.
//!
//! The bar: 0 logouts (401), 0 refresh-family revocations at the provider, no 5xx other
//! than 503 (and no unanswered request), every session alive at the end.
//!
//! `cargo test -p latchkey-tests --test soak` runs the short version (20 s, 50 users);
//! `LATCHKEY_SOAK_SECONDS=60 LATCHKEY_SOAK_USERS=50 …` (or `bench/soak`) the long one.
//! Needs redis-server and PostgreSQL's server binaries (/usr/lib/postgresql/*/bin).
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../e2e/browser.rs"]
mod browser;
#[allow(dead_code)]
#[path = "../e2e/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../e2e/poll.rs"]
mod poll;

mod balancer;
mod services;
mod users;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use poll::{eventually, loud};

use harness::{CLIENT_ID, CLIENT_SECRET, REGISTERED_REDIRECT, TempDir};
use services::{Service, free_port, psql};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Everything is there, or (loudly) skip; CI (`LATCHKEY_TEST_POSTGRES_URL` set) fails.
fn prerequisites() -> Option<std::path::PathBuf> {
    let bin = services::postgres_bin();
    let redis = std::path::Path::new(services::REDIS_SERVER).exists();
    let psql = std::path::Path::new(services::PSQL).exists();
    if let (Some(bin), true, true) = (&bin, redis, psql) {
        return Some(bin.clone());
    }
    loud(
        "SKIPPED (soak): needs redis-server, psql and PostgreSQL's server binaries \
         (apt-get install redis-server postgresql)",
    );
    assert!(
        std::env::var_os("LATCHKEY_TEST_POSTGRES_URL").is_none(),
        "the soak's prerequisites are missing on a CI machine"
    );
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_soak_loses_no_session() {
    let Some(pg_bin) = prerequisites() else {
        return;
    };
    let seconds = env_or("LATCHKEY_SOAK_SECONDS", 20);
    let n_users = usize::try_from(env_or("LATCHKEY_SOAK_USERS", 50)).unwrap();
    let pace = Duration::from_millis(env_or("LATCHKEY_SOAK_PACE_MS", 200));
    let access_seconds = env_or("LATCHKEY_SOAK_ACCESS_TOKEN_SECONDS", 4);

    let dir = TempDir::new("soak");
    let (redis_dir, pg_dir) = (dir.0.join("redis"), dir.0.join("pg"));
    std::fs::create_dir_all(&redis_dir).unwrap();
    std::fs::create_dir_all(&pg_dir).unwrap();
    let redis_port = free_port();
    let mut redis = services::redis(&redis_dir, redis_port).await;
    let pg_port = free_port();
    let mut postgres = services::postgres(&pg_bin, &pg_dir, pg_port).await;
    let db = services::database_url(pg_port);

    // The provider's set-up: the BFF's app and the users.
    services::provider_cli(
        &db,
        &[
            "createapplication",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uris",
            REGISTERED_REDIRECT,
            "--skip-authorization",
            "confidential",
            "authorization-code",
        ],
    )
    .await;
    for chunk in (0..n_users).collect::<Vec<_>>().chunks(4) {
        let creates = chunk.iter().map(|&i| {
            let db = db.clone();
            async move {
                let (u, p) = (users::username(i), users::password(i));
                services::provider_cli(&db, &["createuser", "--username", &u, "--password", &p])
                    .await;
            }
        });
        futures_util::future::join_all(creates).await;
    }

    let lb_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", lb_listener.local_addr().unwrap());
    let provider_ports = [free_port(), free_port()];
    let lb = balancer::Balancer::start(
        lb_listener,
        provider_ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    )
    .await;
    let mut providers: Vec<Service> = Vec::new();
    for (n, port) in provider_ports.iter().enumerate() {
        let name = format!("provider-{n}");
        providers.push(services::provider(&name, &db, *port, &issuer, access_seconds).await);
    }
    let bff_ports = [free_port(), free_port()];
    let mut bffs: Vec<Service> = Vec::new();
    for (n, port) in bff_ports.iter().enumerate() {
        bffs.push(services::bff(&format!("bff-{n}"), *port, &issuer, redis_port).await);
    }
    let replicas = bff_ports.map(|p| format!("http://127.0.0.1:{p}"));

    // Real logins, two at a time (the provider's per-address login queue holds two).
    let set_up = Instant::now();
    let mut cookies = Vec::new();
    for chunk in (0..n_users).collect::<Vec<_>>().chunks(2) {
        let logins = chunk.iter().map(|&i| users::login(i, &replicas[i % 2]));
        cookies.extend(futures_util::future::join_all(logins).await);
    }
    loud(&format!(
        "soak: {n_users} users logged in in {:?}; running {seconds} s of traffic and faults",
        set_up.elapsed()
    ));

    let stats = Arc::new(Mutex::new(users::Stats::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = cookies
        .iter()
        .enumerate()
        .map(|(i, cookie)| {
            tokio::spawn(users::run(
                i,
                cookie.clone(),
                replicas.clone(),
                started,
                until,
                pace,
                stats.clone(),
            ))
        })
        .collect();

    // The faults, spread over the run.
    let mut log = Vec::new();
    let at = |fraction: f64| started + Duration::from_secs_f64(seconds as f64 * fraction);
    for (step, fraction) in [0.10, 0.25, 0.40, 0.55, 0.70, 0.85].iter().enumerate() {
        tokio::time::sleep_until(at(*fraction).into()).await;
        let (what, took) = match step {
            0 => ("kill -9 bff-0", bffs[0].crash_and_restart().await),
            1 => ("restart redis", redis.restart("-TERM").await),
            2 => ("kill -9 provider-0", providers[0].crash_and_restart().await),
            3 => ("restart postgres", postgres.restart("-INT").await),
            4 => ("kill -9 bff-1", bffs[1].crash_and_restart().await),
            _ => ("kill -9 provider-1", providers[1].crash_and_restart().await),
        };
        log.push(format!(
            "{:.1}s {what} (back after {took:?})",
            started.elapsed().as_secs_f64()
        ));
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Every session alive at the end (503s while something restarts are retried).
    let mut dead = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let alive = eventually(Duration::from_secs(20), "a final answer", || async {
            let (status, _, _) = users::call(&replicas, i, cookie, "/auth/session").await;
            (status != 503 && status != 0).then_some(status == 200)
        })
        .await;
        if !alive {
            dead.push(i);
        }
    }
    let revoked = psql(
        pg_port,
        "soak",
        "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE revoked_at IS NOT NULL",
    )
    .await
    .and_then(|n| n.parse::<u64>().ok())
    .expect("count revoked families");
    let rotations = psql(
        pg_port,
        "soak",
        "SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL",
    )
    .await
    .unwrap_or_default();

    let mut stats = stats.lock().unwrap();
    stats.latencies_us.sort_unstable();
    let requests: u64 = stats.statuses.values().sum();
    let report = format!(
        "soak report: {seconds} s, {n_users} users, access tokens {access_seconds} s\n  \
         faults: {log:?}\n  requests {requests}, statuses {:?}, 503s {}, logouts (401) {}, \
         other 5xx or unanswered {}, failed over to the other BFF {}\n  latency p50 {:?} p99 \
         {:?}\n  refreshes (rotated refresh tokens) {rotations}, family revocations {revoked}, \
         provider balancer retries {} (unserved {})\n  sessions alive at the end: {}/{n_users}",
        stats.statuses,
        stats.statuses.get(&503).copied().unwrap_or(0),
        stats.logouts.len(),
        stats.bad_5xx.len(),
        stats.failed_over,
        users::percentile(&stats.latencies_us, 0.5),
        users::percentile(&stats.latencies_us, 0.99),
        lb.retried.load(std::sync::atomic::Ordering::Relaxed),
        lb.failed.load(std::sync::atomic::Ordering::Relaxed),
        n_users - dead.len(),
    );
    loud(&report);
    assert!(stats.logouts.is_empty(), "logouts: {:?}", stats.logouts);
    assert_eq!(revoked, 0, "refresh families revoked at the provider");
    assert!(
        stats.bad_5xx.is_empty(),
        "5xx other than 503: {:?}",
        stats.bad_5xx
    );
    assert!(dead.is_empty(), "sessions dead at the end: {dead:?}");
    assert!(requests > 0);
    drop((redis, postgres, providers, bffs));
}
