//! Test Redis access: the URL from `LATCHKEY_TEST_REDIS_URL`, a DB index per test so key
//! counts are not disturbed by other tests, and a tiny RESP client for assertions.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Bff, BffOptions, Echo, Provider};

/// `Some(url with /db)` or, loudly, `None` when no test Redis is configured.
pub fn url(db: u8, test: &str) -> Option<String> {
    match std::env::var("LATCHKEY_TEST_REDIS_URL") {
        Ok(base) if !base.is_empty() => {
            let mut url = url::Url::parse(&base).expect("LATCHKEY_TEST_REDIS_URL is a URL");
            url.set_path(&format!("/{db}"));
            Some(url.to_string())
        }
        _ => {
            crate::loud(&format!(
                "SKIPPED: set LATCHKEY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run {test}"
            ));
            None
        }
    }
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n{arg}\r\n", arg.len()).into_bytes());
    }
    out
}

/// Sends one command on a fresh connection (after `SELECT db`) and returns the raw reply.
pub async fn command(url: &str, args: &[&str]) -> String {
    let parsed = url::Url::parse(url).expect("redis url");
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(6379);
    let db = parsed.path().trim_start_matches('/');
    let db = if db.is_empty() { "0" } else { db };
    let mut stream = TcpStream::connect((host, port))
        .await
        .expect("connect to redis");
    let mut payload = encode(&["SELECT", db]);
    payload.extend(encode(args));
    stream.write_all(&payload).await.expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until both replies are complete (a short idle gap ends the read).
    loop {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("redis read: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.strip_prefix("+OK\r\n").unwrap_or(&text).to_owned()
}

pub async fn integer(url: &str, args: &[&str]) -> i64 {
    let reply = command(url, args).await;
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected an integer reply to {args:?}, got {reply:?}"))
}

/// Keys of the DB (bulk strings of a `KEYS *` reply).
pub async fn keys(url: &str) -> Vec<String> {
    let reply = command(url, &["KEYS", "*"]).await;
    let mut lines = reply.split("\r\n");
    let mut keys = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') {
            keys.extend(lines.next().map(str::to_owned));
        }
    }
    keys
}

pub async fn flush(url: &str) {
    command(url, &["FLUSHDB"]).await;
}

/// A provider, an echo upstream and one BFF on a flushed test Redis DB: what the Redis
/// session tests start from. `None` (loudly) when no test Redis is configured.
pub struct RedisStack {
    pub url: String,
    pub provider: Provider,
    pub echo: Echo,
    pub bff: Bff,
}

impl RedisStack {
    pub async fn start(db: u8, test: &str) -> Option<Self> {
        let url = url(db, test)?;
        flush(&url).await;
        let provider = Provider::start(3600).await;
        let echo = Echo::start().await;
        let options = BffOptions {
            redis_url: Some(url.clone()),
            upstream: Some(echo.url.clone()),
            skew: 30,
            ..BffOptions::default()
        };
        let bff = Bff::start(&provider, options).await;
        Some(Self {
            url,
            provider,
            echo,
            bff,
        })
    }
}
