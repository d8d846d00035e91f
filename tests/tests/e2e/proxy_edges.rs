//! The proxy's edges, sent byte for byte to a BFF in front of an echoing upstream:
//! ambiguous paths, spoofed forwarding headers, headers that would change the browser's
//! view of the BFF's origin, cross-site reads, duplicate and misplaced cookies.

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::GOOD_ORIGIN;
use crate::harness::{Bff, BffOptions, Echo, Provider};
use crate::sessions::{login_with_cookie, session_status};

/// A raw HTTP/1.1 request; returns (status, response head in lower case, body).
async fn raw(bff: &Bff, request_line: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let authority = bff.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let mut request =
        format!("{request_line} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

async fn start() -> (Provider, Echo, Bff, String) {
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(format!("{}/base", echo.url)),
            skew: 30,
            ..BffOptions::default()
        },
    )
    .await;
    let (_client, cookie) = login_with_cookie(&bff).await;
    (provider, echo, bff, format!("latchkey-bff={cookie}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_paths_are_refused_before_forwarding() {
    let (_provider, echo, bff, cookie) = start().await;
    let with_cookie = [("cookie", cookie.as_str())];
    let (status, _, _) = raw(&bff, "GET /api/notes/1", &with_cookie).await;
    assert_eq!(status, 200, "sanity: an ordinary path is forwarded");
    let forwarded = echo.count();
    for path in [
        "/api/..;/x",
        "/api/a/..;jsessionid=x/b",
        "/api/a%5c..%5cb",
        "/api/a\\..\\b",
        "/api/%252e%252e/x",
        "/api/..%c0%af/x",
        "/api/%c0%ae%c0%ae/x",
        "/api/%u002e%u002e/x",
        "/api/..%252f/x",
        "/api/%2e%2e/x",
        "/api/.%2E/x",
        "/api/a%2fb",
        "/api/a%00b",
        "/api/%ef%bc%8e%ef%bc%8e/x",
        "/api/x/../../admin",
    ] {
        let (status, _, body) = raw(&bff, &format!("GET {path}"), &with_cookie).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("bad_request"), "{path}: {body}");
    }
    assert_eq!(echo.count(), forwarded, "none reached the upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarding_headers_come_from_the_connection_not_the_browser() {
    let (_provider, echo, bff, cookie) = start().await;
    let (status, head, _) = raw(
        &bff,
        "GET /api/whoami",
        &[
            ("cookie", cookie.as_str()),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-host", "admin.internal"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=10.0.0.1;host=admin.internal"),
            ("x-real-ip", "10.0.0.1"),
            ("x-original-url", "/admin"),
            ("x-rewrite-url", "/admin"),
            ("x-remote-user", "admin"),
            ("x-auth-request-email", "admin@example.com"),
            ("x-http-method-override", "DELETE"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let seen = echo.last();
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        seen.header("x-forwarded-host"),
        Some(bff.url.trim_start_matches("http://"))
    );
    for spoofed in [
        "forwarded",
        "x-real-ip",
        "x-original-url",
        "x-rewrite-url",
        "x-remote-user",
        "x-auth-request-email",
        "x-http-method-override",
        "cookie",
    ] {
        assert_eq!(seen.header(spoofed), None, "{spoofed} reached the upstream");
    }
    assert!(
        seen.header("authorization")
            .is_some_and(|v| v.starts_with("Bearer "))
    );
    // The upstream's CORS, Clear-Site-Data and cookies stop at the BFF.
    for dropped in ["access-control-", "clear-site-data", "set-cookie: upstream"] {
        assert!(
            !head.contains(dropped),
            "{dropped} reached the browser: {head}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_reads_and_ambiguous_cookies_are_refused() {
    let (_provider, echo, bff, cookie) = start().await;
    let forwarded = echo.count();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        for method in ["GET", "HEAD"] {
            let mut all = headers.clone();
            all.push(("cookie", cookie.as_str()));
            let (status, _, _) = raw(&bff, &format!("{method} /api/notes"), &all).await;
            assert_eq!(status, 403, "{method} with {headers:?}");
        }
    }
    assert_eq!(echo.count(), forwarded, "no cross-site read was forwarded");
    let (status, _, _) = raw(
        &bff,
        "GET /api/notes",
        &[
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("origin", GOOD_ORIGIN),
        ],
    )
    .await;
    assert_eq!(status, 200, "the SPA's own reads pass");

    // Two session cookies: which one is meant is ambiguous, so neither is used.
    let (_other_client, other) = login_with_cookie(&bff).await;
    let both = format!("{cookie}; latchkey-bff={other}");
    let (status, _, _) = raw(&bff, "GET /auth/session", &[("cookie", both.as_str())]).await;
    assert_eq!(status, 401, "duplicate session cookies");
    let split = [
        ("cookie", cookie.as_str()),
        ("cookie", "latchkey-bff=AAAAAAAAAAAAAAAAAAAAAA"),
    ];
    let (status, _, _) = raw(&bff, "GET /auth/session", &split).await;
    assert_eq!(status, 401, "duplicates across two Cookie headers");

    // A live session's cookie sent as the login cookie consumes nothing.
    let value = cookie.trim_start_matches("latchkey-bff=");
    let login_cookie = format!("latchkey-bff-login={value}");
    let (status, head, _) = raw(
        &bff,
        "GET /auth/callback?code=x&state=y",
        &[("cookie", login_cookie.as_str())],
    )
    .await;
    assert_eq!(status, 302);
    assert!(head.contains("login_error=no_login_in_progress"), "{head}");
    assert_eq!(
        session_status(&bff, value).await,
        StatusCode::OK,
        "the session survived"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_readiness_move_to_their_own_listener() {
    let provider = Provider::start(3600).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bff = Bff::start(
        &provider,
        BffOptions {
            extra_args: vec!["--metrics-listen".into(), format!("127.0.0.1:{port}")],
            ..BffOptions::default()
        },
    )
    .await;
    for path in ["/metrics", "/readyz"] {
        let main = reqwest::get(format!("{}{path}", bff.url)).await.unwrap();
        assert_eq!(main.status(), 404, "{path} on the main listener");
        let own = crate::eventually(
            std::time::Duration::from_secs(10),
            "metrics listener",
            || async {
                reqwest::get(format!("http://127.0.0.1:{port}{path}"))
                    .await
                    .ok()
            },
        )
        .await;
        assert_eq!(own.status(), 200, "{path} on --metrics-listen");
    }
}
