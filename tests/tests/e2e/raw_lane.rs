//! The BFF's raw lane (`--engine raw`, the default) against hyper (`--engine hyper`): the
//! same odd upstream behind both, the same requests, the same answers. The upstream
//! speaks HTTP/1.1 by hand: chunked bodies with extensions and trailers, close-delimited
//! bodies, interim 103 responses, conflicting lengths, a megabyte, and keep-alive
//! connections it drops while idle.

mod odd_upstream;

use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Bff, BffOptions, Provider};
use crate::sessions::login_with_cookie;
use odd_upstream::{BIG, odd_upstream};

/// (status, the fields the browser got except framing and date, body).
async fn get(
    client: &reqwest::Client,
    bff: &Bff,
    cookie: &str,
    path: &str,
) -> (u16, Vec<String>, Vec<u8>) {
    let response = client
        .get(format!("{}/api{path}", bff.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let mut fields: Vec<String> = response
        .headers()
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "date" | "content-length" | "transfer-encoding" | "connection"
            )
        })
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
        .collect();
    fields.sort();
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    (status, fields, body)
}

async fn bff(provider: &Provider, upstream: &str, engine: &str) -> (Bff, String) {
    let bff = Bff::start(
        provider,
        BffOptions {
            upstream: Some(upstream.to_owned()),
            skew: 30,
            extra_args: vec!["--engine".into(), engine.into()],
            ..BffOptions::default()
        },
    )
    .await;
    let (_client, cookie) = login_with_cookie(&bff).await;
    (bff, format!("latchkey-bff={cookie}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_raw_lane_answers_as_hyper_does() {
    let provider = Provider::start(3600).await;
    let (upstream, seen) = odd_upstream().await;
    let (raw, raw_cookie) = bff(&provider, &upstream, "raw").await;
    let (hyper, hyper_cookie) = bff(&provider, &upstream, "hyper").await;
    let client = reqwest::Client::new();
    let before = requests(&raw).await;
    for path in [
        "/chunked",
        "/close",
        "/early",
        "/big",
        "/conflicting",
        "/empty",
        "/drops",
        "/drops",
        "/missing",
    ] {
        let from_raw = get(&client, &raw, &raw_cookie, path).await;
        let from_hyper = get(&client, &hyper, &hyper_cookie, path).await;
        assert_eq!(from_raw.0, from_hyper.0, "{path}: status");
        assert_eq!(from_raw.1, from_hyper.1, "{path}: fields");
        assert_eq!(from_raw.2, from_hyper.2, "{path}: body");
        match path {
            "/chunked" => {
                assert_eq!(from_raw.2, b"hello world");
                assert!(
                    !from_raw.1.iter().any(|f| f.starts_with("set-cookie")),
                    "{:?}",
                    from_raw.1
                );
                assert!(!from_raw.1.iter().any(|f| f.starts_with("x-trailer")));
            }
            "/close" => assert_eq!(from_raw.2, b"until the upstream closes"),
            "/early" => {
                assert_eq!((from_raw.0, from_raw.2.as_slice()), (200, &b"ok"[..]));
                assert!(from_raw.1.contains(&"cache-control: max-age=5".to_owned()));
                assert!(
                    from_raw
                        .1
                        .contains(&"x-content-type-options: nosniff".to_owned())
                );
                assert!(!from_raw.1.iter().any(|f| f.starts_with("clear-site-data")
                    || f.starts_with("access-control")
                    || f.starts_with("link")));
            }
            "/big" => {
                assert_eq!(from_raw.2.len(), BIG);
                assert!(
                    from_raw
                        .2
                        .iter()
                        .enumerate()
                        .all(|(i, b)| *b == b'a' + (i % 26) as u8)
                );
            }
            "/conflicting" => assert_eq!(from_raw.0, 502),
            "/empty" => assert_eq!(from_raw.0, 204),
            "/drops" => assert_eq!(from_raw.2, b"once", "a dropped kept socket is retried"),
            _ => assert_eq!(from_raw.0, 404),
        }
    }
    assert!(
        seen.load(Ordering::SeqCst) >= 18,
        "every request reached the upstream"
    );
    // Nine proxied requests, plus the second `/metrics` read when it counts itself.
    let counted = requests(&raw).await - before;
    assert!(
        (9..=10).contains(&counted),
        "each request counted once: {counted}"
    );
}

async fn requests(bff: &Bff) -> u64 {
    let metrics = bff.metrics().await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("bff_requests_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bff_requests_total in {metrics}"))
}

/// Several requests written at once on one connection: answered in order, the plain ones
/// on the raw lane, and from the first other one (a POST) on, by hyper.
#[tokio::test(flavor = "multi_thread")]
async fn pipelined_requests_and_the_hand_over_mid_connection() {
    let provider = Provider::start(3600).await;
    let (upstream, _seen) = odd_upstream().await;
    let (bff, cookie) = bff(&provider, &upstream, "raw").await;
    let authority = bff.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&authority).await.unwrap();
    let get = |path: &str| {
        format!("GET /api{path} HTTP/1.1\r\nHost: {authority}\r\nCookie: {cookie}\r\n\r\n")
    };
    let post = format!(
        "POST /api/early HTTP/1.1\r\nHost: {authority}\r\nCookie: {cookie}\r\nx-csrf: 1\r\nContent-Length: 3\r\n\r\nabc"
    );
    let last = format!(
        "GET /api/early HTTP/1.1\r\nHost: {authority}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    let all = [
        get("/early"),
        get("/chunked"),
        get("/empty"),
        post,
        get("/early"),
        last,
    ]
    .concat();
    stream.write_all(all.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &text[at + 9..at + 12])
        .collect();
    assert_eq!(
        statuses,
        ["200", "200", "204", "200", "200", "200"],
        "{text}"
    );
    assert!(
        text.contains("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        "the chunked body, re-framed: {text}"
    );
}

/// Slowloris: a head that starts and never ends is cut off `--head-timeout-seconds` after
/// its first bytes; an idle keep-alive connection (no bytes at all) is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_head_that_never_ends_is_cut_off_but_idle_connections_stay() {
    let provider = Provider::start(3600).await;
    let (upstream, _seen) = odd_upstream().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(upstream),
            skew: 30,
            extra_args: vec!["--head-timeout-seconds".into(), "1".into()],
            ..BffOptions::default()
        },
    )
    .await;
    let (_client, cookie) = login_with_cookie(&bff).await;
    let authority = bff.url.trim_start_matches("http://").to_owned();

    let mut slow = TcpStream::connect(&authority).await.unwrap();
    slow.write_all(b"GET /api/early HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read(&mut byte))
        .await
        .expect("the BFF closes the connection within 10 s");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed, nothing answered: {read:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "not before the timeout: {waited:?}"
    );

    let mut idle = TcpStream::connect(&authority).await.unwrap();
    // Idle for longer than the head timeout (the condition under test), then a request.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let request = format!(
        "GET /api/early HTTP/1.1\r\nHost: {authority}\r\nCookie: latchkey-bff={cookie}\r\nConnection: close\r\n\r\n"
    );
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    idle.read_to_end(&mut response).await.unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

/// One keep-alive request on `stream` (the raw lane: no `Connection: close`); returns the
/// status and the body, read by its `Content-Length`.
async fn keep_alive_get(stream: &mut TcpStream, path: &str, cookie: &str) -> (u16, Vec<u8>) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bff\r\nCookie: {cookie}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                return (status, buf[end + 4..end + 4 + length].to_vec());
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-answer for {path}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The raw lane applies the same path rules as hyper's (odd spellings on a keep-alive
/// connection, which stays usable after each refusal), and 50 parallel requests on 50
/// connections all get through.
#[tokio::test(flavor = "multi_thread")]
async fn odd_paths_are_refused_on_the_raw_lane_and_bursts_get_through() {
    let provider = Provider::start(3600).await;
    let (upstream, seen) = odd_upstream().await;
    let (bff, cookie) = bff(&provider, &upstream, "raw").await;
    let authority = bff.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&authority).await.unwrap();
    let before = seen.load(Ordering::SeqCst);
    for path in [
        "/api/%2e%2e/x",
        "/api/.%2E/x",
        "/api/a%5c..%5cb",
        "/api/a%00b",
        "/api/%252e%252e/x",
        "/api/a%2fb",
        "/api/x/../../admin",
        "/api/..;/x",
        "/api/%c0%ae%c0%ae/x",
    ] {
        let (status, body) = keep_alive_get(&mut stream, path, &cookie).await;
        assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(
            String::from_utf8_lossy(&body).contains("bad_request"),
            "{path}"
        );
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        before,
        "none reached the upstream"
    );
    assert_eq!(
        keep_alive_get(&mut stream, "/api/early", &cookie).await,
        (200, b"ok".to_vec())
    );

    let burst: Vec<_> = (0..50)
        .map(|_| {
            let (authority, cookie) = (authority.clone(), cookie.clone());
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(&authority).await.unwrap();
                keep_alive_get(&mut stream, "/api/early", &cookie).await
            })
        })
        .collect();
    for answer in burst {
        assert_eq!(answer.await.unwrap(), (200, b"ok".to_vec()));
    }
    assert_eq!(seen.load(Ordering::SeqCst), before + 51);
}
