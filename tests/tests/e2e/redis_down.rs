//! Redis slow or down → 503 within the bound, no logout; service resumes by itself.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::browser;
use crate::harness::{Bff, BffOptions, Echo, Provider, TempDir};
use crate::{eventually, redis};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A private, persistent (`appendfsync always`) redis-server, so a restart keeps sessions.
pub async fn start_redis(port: u16, dir: &TempDir) -> Child {
    let child = Command::new(REDIS_SERVER)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .arg("--dir")
        .arg(&dir.0)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start redis-server");
    let url = format!("redis://127.0.0.1:{port}/0");
    eventually(Duration::from_secs(10), "redis-server to answer", || {
        let url = url.clone();
        async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()?;
            redis::command(&url, &["PING"])
                .await
                .contains("PONG")
                .then_some(())
        }
    })
    .await;
    child
}

fn signal(child: &Child, sig: &str) {
    let pid = child.id().expect("redis pid").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_gives_503_then_recovers() {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        crate::loud(&format!(
            "SKIPPED: {REDIS_SERVER} not installed; redis_stopped_gives_503_then_recovers not run"
        ));
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("redis");
    let mut redis_child = start_redis(port, &dir).await;
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            redis_url: Some(format!("redis://127.0.0.1:{port}/0")),
            upstream: Some(echo.url.clone()),
            skew: 30,
            redis_timeout_ms: Some(500),
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;
    let api = format!("{}/api/x", bff.url);
    assert_eq!(client.get(&api).send().await.unwrap().status(), 200);

    let expect_503 = |what: &'static str| {
        let client = client.clone();
        let api = api.clone();
        async move {
            let started = Instant::now();
            let response = client.get(&api).send().await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(response.status(), 503, "{what}");
            assert!(
                elapsed < Duration::from_millis(2000),
                "{what}: 503 took {elapsed:?}"
            );
            assert!(
                response.headers().get("set-cookie").is_none(),
                "{what}: cookie untouched"
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "session_store_unavailable");
        }
    };

    // Slow Redis (frozen process): bounded 503, and the session survives. A warm session
    // may be served from the near cache until its health ping goes unanswered (≈ 1 s).
    signal(&redis_child, "-STOP");
    eventually(
        Duration::from_secs(5),
        "the near cache to notice the freeze",
        || {
            let client = client.clone();
            let api = api.clone();
            async move { (client.get(&api).send().await.ok()?.status() == 503).then_some(()) }
        },
    )
    .await;
    expect_503("redis frozen").await;
    signal(&redis_child, "-CONT");
    eventually(Duration::from_secs(10), "recovery after a freeze", || {
        let client = client.clone();
        let api = api.clone();
        async move { (client.get(&api).send().await.ok()?.status() == 200).then_some(()) }
    })
    .await;

    // Dead Redis: bounded 503; restarted, the same session works again. A warm session may
    // be served from the near cache until the pool sees its connections close (the raw
    // lane can get there first by a few milliseconds); then every request is a 503.
    redis_child.kill().await.unwrap();
    eventually(
        Duration::from_secs(2),
        "the near cache to notice the dead Redis",
        || {
            let client = client.clone();
            let api = api.clone();
            async move { (client.get(&api).send().await.ok()?.status() == 503).then_some(()) }
        },
    )
    .await;
    expect_503("redis killed").await;
    let ready = reqwest::get(format!("{}/readyz", bff.url)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let _restarted = start_redis(port, &dir).await;
    eventually(Duration::from_secs(15), "recovery after a restart", || {
        let client = client.clone();
        let api = api.clone();
        async move { (client.get(&api).send().await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    let session = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 200, "the user was never logged out");
}
