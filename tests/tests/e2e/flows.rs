//! Login → session → API → refresh → logout, with the in-memory store and with Redis;
//! CSRF, open redirects, callback failures, unknown cookies.

use reqwest::header::{AUTHORIZATION, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::browser::{self, GOOD_ORIGIN};
use crate::harness::{Bff, BffOptions, Echo, Provider, TokenCounter};
use crate::{redis, until_token_expired};

async fn full_flow(redis_url: Option<String>) {
    let provider = Provider::start(5).await;
    let counter = TokenCounter::start(&provider).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            redis_url: redis_url.clone(),
            token_url: Some(counter.url.clone()),
            upstream: Some(echo.url.clone()),
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;

    // The session endpoint: who, never a token.
    let response = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let session: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(session["authenticated"], true);
    assert_eq!(session["user"]["username"], crate::harness::USERNAME);
    assert!(!text.contains("token\""), "no token in {text}");

    if let Some(url) = &redis_url {
        let keys = redis::keys(url).await;
        for key in keys.iter().filter(|k| !k.starts_with("latchkey-bff:")) {
            let bytes = redis::integer(url, &["MEMORY", "USAGE", key]).await;
            crate::loud(&format!(
                "MEASURED: MEMORY USAGE of session key {key} = {bytes} bytes"
            ));
            assert!(bytes < 2048, "session record too big: {bytes}");
        }
    }

    // API call: bearer attached, browser cookie and Authorization stripped.
    until_token_expired(&client, &bff.url).await;
    let before = counter.refreshes();
    let response = client
        .get(format!("{}/api/things/1?x=y", bff.url))
        .header(AUTHORIZATION, "Bearer from-the-browser")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("upstream")),
        "upstream Set-Cookie must not reach the browser"
    );
    let seen = echo.last();
    assert_eq!(seen.uri, "/things/1?x=y");
    assert!(
        seen.header("cookie").is_none(),
        "cookie leaked upstream: {seen:?}"
    );
    let bearer = seen.header("authorization").unwrap().to_owned();
    assert!(bearer.starts_with("Bearer ") && bearer != "Bearer from-the-browser");
    assert_eq!(
        counter.refreshes(),
        before + 1,
        "the expired token was refreshed once"
    );

    // The refreshed token is used again without another refresh.
    let response = client
        .get(format!("{}/api/again", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(echo.last().header("authorization").unwrap(), bearer);
    assert_eq!(counter.refreshes(), before + 1);

    // The bearer works at the provider's API before logout, not after (RFC 7009).
    let http = reqwest::Client::new();
    let me = |token: String| {
        let http = http.clone();
        let url = format!("{}/api/me/", provider.url);
        async move {
            http.get(url)
                .header(AUTHORIZATION, token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(bearer.clone()).await, 200);
    let response = client
        .post(format!("{}/auth/logout", bff.url))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        me(bearer).await,
        401,
        "logout revoked the tokens at the provider"
    );
    let response = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"authenticated": false})
    );
    let response = client
        .get(format!("{}/api/x", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    if let Some(url) = &redis_url {
        let left: Vec<String> = redis::keys(url).await;
        assert!(
            left.is_empty(),
            "session destroyed in Redis, left: {left:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn full_flow_in_memory() {
    full_flow(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn full_flow_redis() {
    let Some(url) = redis::url(11, "full_flow_redis") else {
        return;
    };
    redis::flush(&url).await;
    full_flow(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_open_redirects_and_login_errors() {
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            skew: 30,
            // The other client authentication method (full_flow uses Basic).
            extra_args: vec![
                "--client-auth".into(),
                "post".into(),
                "--route".into(),
                format!("files={}/files-root", echo.url),
            ],
            ..BffOptions::default()
        },
    )
    .await;

    // Probes and metrics.
    let plain = reqwest::Client::new();
    assert_eq!(
        plain
            .get(format!("{}/healthz", bff.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        plain
            .get(format!("{}/readyz", bff.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = plain
        .get(format!("{}/metrics", bff.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "bff_requests_total",
        "bff_upstream_latency_seconds_bucket",
        "bff_refreshes_total",
        "bff_refresh_failures_total",
        "bff_sessions_created_total",
        "bff_sessions_destroyed_total",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }

    // API without a session: 401 JSON, never a redirect.
    let anonymous = browser::client();
    let response = anonymous
        .get(format!("{}/api/x", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get(LOCATION).is_none());
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unauthenticated"
    );

    // Open redirects.
    for bad in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "/a\u{1}b",
        "evil",
    ] {
        let response = anonymous
            .get(format!("{}/auth/login", bff.url))
            .query(&[("return_to", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "return_to {bad:?}");
    }

    // Callback without a login in progress, and a refused authorization.
    let response = anonymous
        .get(format!("{}/auth/callback?code=x&state=y", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[LOCATION],
        "/?login_error=no_login_in_progress"
    );
    let response = anonymous
        .get(format!("{}/auth/login?return_to=/app", bff.url))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let response = anonymous
        .get(format!("{}/auth/callback", bff.url))
        .query(&[("error", "access_denied"), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/?login_error=access_denied");
    // The pre-login state is single use.
    let response = anonymous
        .get(format!("{}/auth/callback", bff.url))
        .query(&[("code", "x"), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()[LOCATION],
        "/?login_error=no_login_in_progress"
    );

    // CSRF.
    let client = browser::logged_in(&bff).await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = client.post(format!("{}/api/echo", bff.url)).body("{}");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(post(&[]).await, 403, "no custom header");
    assert_eq!(
        post(&[("x-csrf", "1"), ("origin", "https://evil.example")]).await,
        403,
        "bad Origin"
    );
    assert_eq!(
        post(&[("x-csrf", "1"), ("sec-fetch-site", "cross-site")]).await,
        403,
        "cross-site fetch"
    );
    assert_eq!(post(&[("x-csrf", "1"), ("origin", GOOD_ORIGIN)]).await, 200);

    // Route table; nothing outside the configured upstream paths is reachable.
    let response = client
        .get(format!("{}/api/files/a.txt?v=1", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(echo.last().uri, "/files-root/a.txt?v=1");
    let seen = echo.count();
    // Sent raw: an HTTP client would resolve the dot segments itself. The route is
    // checked before the session, so traversal is a 400 and a good path a 401 here.
    assert_eq!(raw_get_status(&bff.url, "/api/x").await, 401);
    for sneaky in [
        "/api/files/%2e%2e/secret",
        "/api/a%2F..%2Fb",
        "/api/x/%2E%2E/%2e%2e/admin",
        "/api/x/../../admin",
    ] {
        assert_eq!(raw_get_status(&bff.url, sneaky).await, 400, "{sneaky}");
    }
    assert_eq!(echo.count(), seen, "no traversal reached the upstream");
    let response = client
        .post(format!("{}/auth/logout", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "logout needs the header too");
    let response = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "still logged in");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_cookie_is_401_in_memory() {
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            skew: 30,
            ..BffOptions::default()
        },
    )
    .await;
    let _logged_in = browser::logged_in(&bff).await;
    let plain = reqwest::Client::new();
    for cookie in [
        "latchkey-bff=AAAAAAAAAAAAAAAAAAAAAA",
        "latchkey-bff=%00garbage",
    ] {
        let response = plain
            .get(format!("{}/api/x", bff.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "unauthenticated"
        );
    }
    assert_eq!(echo.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_or_tampered_cookie_is_401_without_store_write() {
    let Some(redis::RedisStack {
        url,
        provider: _provider,
        echo,
        bff,
    }) =
        redis::RedisStack::start(13, "unknown_or_tampered_cookie_is_401_without_store_write").await
    else {
        return;
    };
    let _logged_in = browser::logged_in(&bff).await;
    let keys_before = redis::keys(&url).await;
    let records: Vec<&String> = keys_before
        .iter()
        .filter(|k| !k.starts_with("latchkey-bff:"))
        .collect();
    assert_eq!(
        records.len(),
        1,
        "one session (and its index): {keys_before:?}"
    );
    let plain = reqwest::Client::new();
    let valid_but_unknown = "latchkey-bff=AAAAAAAAAAAAAAAAAAAAAA";
    let tampered = format!("latchkey-bff={}x", records[0]);
    // The record's own key (a derived id) does not work as a cookie either.
    let stored_id = format!("latchkey-bff={}", records[0]);
    for cookie in [
        valid_but_unknown,
        tampered.as_str(),
        stored_id.as_str(),
        "latchkey-bff=%00garbage",
        "latchkey-bff=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "latchkey-bff=",
    ] {
        for path in ["/api/x", "/auth/session"] {
            let response = plain
                .get(format!("{}{path}", bff.url))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{path} with {cookie}");
        }
    }
    assert_eq!(
        redis::keys(&url).await,
        keys_before,
        "no store write for unknown cookies"
    );
    assert_eq!(echo.count(), 0);
}

/// Status of a `GET` sent byte for byte (no client-side path normalisation).
async fn raw_get_status(base: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}
