//! Session tickets against real Redis: a dump of the whole store yields nothing usable,
//! server keys rotate, and "sign out everywhere" reaches every replica.

use std::time::Duration;

use reqwest::StatusCode;

use crate::browser::{self, GOOD_ORIGIN};
use crate::harness::{Bff, BffOptions, Provider, TempDir};
use crate::redis;

/// Logs in with a fresh client; returns it and the raw session cookie value.
pub async fn login_with_cookie(bff: &Bff) -> (reqwest::Client, String) {
    let client = browser::client();
    let response = browser::login(&client, bff, "/").await;
    assert_eq!(response.status(), 302, "login");
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("latchkey-bff="))
        .and_then(|v| v.split(';').next())
        .filter(|v| !v.is_empty())
        .expect("a session cookie")
        .to_owned();
    (client, cookie)
}

/// `GET /auth/session` with exactly this cookie header.
pub async fn session_status(bff: &Bff, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/auth/session", bff.url))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Every key, and every value or member, of the DB as text.
async fn dump(url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in redis::keys(url).await {
        let kind = redis::command(url, &["TYPE", &key]).await;
        let value = if kind.contains("zset") {
            redis::command(url, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]).await
        } else {
            redis::command(url, &["GET", &key]).await
        };
        out.push((key, value));
    }
    out
}

/// Strings in `text` that look like an id tower-sessions would accept (22 chars of
/// URL-safe base64) — every one is tried as a cookie.
fn id_like(text: &str) -> Vec<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.split(|c: char| !allowed(c))
        .filter(|w| w.len() == 22)
        .map(str::to_owned)
        .collect()
}

fn looks_like_jwt(text: &str) -> bool {
    text.match_indices("eyJ").any(|(at, _)| {
        let rest = &text[at..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        token.split('.').filter(|p| !p.is_empty()).count() >= 2
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_dump_reveals_no_token_and_no_working_cookie() {
    let Some(redis::RedisStack {
        url,
        provider: _provider,
        echo,
        bff,
    }) = redis::RedisStack::start(5, "a_redis_dump_reveals_no_token_and_no_working_cookie").await
    else {
        return;
    };
    let (_a, cookie_a) = login_with_cookie(&bff).await;
    let (_b, cookie_b) = login_with_cookie(&bff).await;
    // A login in progress leaves its record too.
    let pending = browser::client()
        .get(format!("{}/auth/login", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), 302);
    for cookie in [&cookie_a, &cookie_b] {
        assert_eq!(session_status(&bff, cookie).await, StatusCode::OK, "sanity");
    }

    let dump = dump(&url).await;
    assert!(dump.len() >= 4, "two sessions, a login, an index: {dump:?}");
    let mut candidates = Vec::new();
    for (key, value) in &dump {
        for text in [key, value] {
            assert!(
                !text.contains("lka_") && !text.contains("lkr_"),
                "token in {key}"
            );
            assert!(!looks_like_jwt(text), "JWT-like text in {key}");
            assert!(
                !text.contains(&cookie_a) && !text.contains(&cookie_b),
                "cookie in {key}"
            );
            assert!(
                !text.contains(crate::harness::USERNAME),
                "username in {key}"
            );
            candidates.extend(id_like(text));
        }
    }
    candidates.sort();
    candidates.dedup();
    assert!(
        candidates.len() >= 3,
        "the dump's ids are tried: {candidates:?}"
    );
    for candidate in &candidates {
        let status = session_status(&bff, candidate).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{candidate} worked as a cookie"
        );
    }
    assert_eq!(echo.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_keys_rotate_without_signing_anyone_out() {
    let Some(url) = redis::url(7, "server_keys_rotate_without_signing_anyone_out") else {
        return;
    };
    redis::flush(&url).await;
    let provider = Provider::start(3600).await;
    let dir = TempDir::new("keys");
    let (k1, k2, k3) = (
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
        "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
    );
    let start = |keys: &str| {
        let path = dir.0.join("keys");
        std::fs::write(&path, keys).unwrap();
        let options = BffOptions {
            redis_url: Some(url.clone()),
            skew: 30,
            extra_args: vec!["--session-key-file".into(), path.display().to_string()],
            ..BffOptions::default()
        };
        Bff::start(&provider, options)
    };
    let records = |url: String| async move {
        let mut keys: Vec<String> = redis::keys(&url)
            .await
            .into_iter()
            .filter(|k| !k.starts_with("latchkey-bff:"))
            .collect();
        keys.sort();
        keys
    };

    let bff = start(k1).await;
    let (_client, cookie) = login_with_cookie(&bff).await;
    let under_k1 = records(url.clone()).await;
    assert_eq!(under_k1.len(), 1);
    drop(bff);

    let bff = start(&format!(
        "{k2}\n# the old key, until the idle timeout has passed\n{k1}\n"
    ))
    .await;
    assert_eq!(
        session_status(&bff, &cookie).await,
        StatusCode::OK,
        "old key still opens"
    );
    let under_k2 = records(url.clone()).await;
    assert_eq!(under_k2.len(), 1, "re-sealed, not copied: {under_k2:?}");
    assert_ne!(under_k2, under_k1, "moved under the new key");
    drop(bff);

    let bff = start(k2).await;
    assert_eq!(
        session_status(&bff, &cookie).await,
        StatusCode::OK,
        "the new key alone"
    );
    drop(bff);

    let bff = start(k3).await;
    assert_eq!(
        session_status(&bff, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "a foreign key"
    );
    assert_eq!(
        records(url.clone()).await,
        under_k2,
        "refused, not deleted or rewritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_everywhere_ends_the_users_sessions_on_every_replica() {
    let Some(url) = redis::url(
        6,
        "sign_out_everywhere_ends_the_users_sessions_on_every_replica",
    ) else {
        return;
    };
    redis::flush(&url).await;
    let provider = Provider::start(3600).await;
    let options = BffOptions {
        redis_url: Some(url.clone()),
        skew: 30,
        ..BffOptions::default()
    };
    let one = Bff::start(&provider, options.clone()).await;
    let two = Bff::start(&provider, options).await;
    let (a, cookie_a) = login_with_cookie(&one).await;
    let (_b, cookie_b) = login_with_cookie(&two).await;
    let (_c, cookie_c) = login_with_cookie(&two).await;
    for (bff, cookie) in [(&one, &cookie_b), (&two, &cookie_a), (&one, &cookie_c)] {
        assert_eq!(
            session_status(bff, cookie).await,
            StatusCode::OK,
            "shared store"
        );
    }
    // A plain logout ends only its own session.
    let plain = reqwest::Client::new()
        .post(format!("{}/auth/logout", two.url))
        .header("cookie", format!("latchkey-bff={cookie_c}"))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 204);
    assert_eq!(
        session_status(&one, &cookie_c).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(session_status(&one, &cookie_b).await, StatusCode::OK);

    let response = a
        .post(format!("{}/auth/logout?everywhere=true", one.url))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    for bff in [&one, &two] {
        for cookie in [&cookie_a, &cookie_b] {
            assert_eq!(session_status(bff, cookie).await, StatusCode::UNAUTHORIZED);
        }
    }
    let left: Vec<String> = redis::keys(&url)
        .await
        .into_iter()
        .filter(|k| !k.starts_with("latchkey-bff:refresh-lock:"))
        .collect();
    assert!(left.is_empty(), "nothing of the user is left: {left:?}");
    let metrics = one.metrics().await;
    assert!(
        metrics.contains("bff_sign_out_everywhere_total 1"),
        "{metrics}"
    );
    // Nothing hangs around waiting: the refresh locks are short-lived.
    tokio::time::timeout(Duration::from_secs(5), session_status(&two, &cookie_b))
        .await
        .unwrap();
}
