//! Hostile inputs to the device grant: odd spellings of user codes, guessing,
//! expiry, another client's device code, parallel polls, forged forms.

use std::time::Duration;

use latchkey_provider::model::ClientType;
use reqwest::StatusCode;

use super::{device_app, error_of, poll, start, submit};
use crate::on_both;
use crate::support::{Backend, TestApp, bare_browser, eventually};

on_both!(
    user_code_spellings,
    user_code_guessing_is_throttled_per_ip,
    user_code_guessing_is_throttled_globally,
    expired_codes,
    device_code_of_another_client,
    parallel_polls_after_approval_issue_once,
    forged_forms_are_refused,
    device_authorization_requests_are_limited_per_ip,
);

/// A pending request of a new public device app: (client_id, user_code, device_code).
async fn pending(t: &TestApp) -> (String, String, String) {
    let (client_id, _) = device_app(t, ClientType::Public).await;
    let (s, d) = start(t, &client_id, None, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    (
        client_id,
        d["user_code"].as_str().unwrap().to_owned(),
        d["device_code"].as_str().unwrap().to_owned(),
    )
}

async fn user_code_spellings(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_spellings").await else {
        return;
    };
    t.user("alice", "pw").await;
    t.login("alice", "pw").await;
    let (_, code, _) = pending(&t).await;
    let bare = code.replace('-', "");
    for ok in [
        code.clone(),
        code.to_lowercase(),
        bare.clone(),
        format!(" {} {} ", &bare[..4], &bare[4..]),
        format!("{}--{}", &bare[..2], &bare[2..]),
    ] {
        let r = submit(&t, "continue", &ok).await;
        assert_eq!(r.status(), StatusCode::OK, "{ok:?}");
        assert!(
            r.text().await.unwrap().contains("on your device?"),
            "{ok:?}"
        );
    }
    // Look-alikes and other characters are other codes, not this one.
    let swapped = |from: char, to: &str| code.replacen(from, to, 1);
    let first = code.chars().next().unwrap();
    for bad in [
        swapped(first, "0"),
        swapped(first, "A"),
        swapped(first, "\u{0412}"), // Cyrillic В
        format!("{code}B"),
        code[..8].to_owned(),
        "x".repeat(1000),
        String::new(),
    ] {
        let r = submit(&t, "continue", &bad).await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "{:?}",
            &bad[..bad.len().min(20)]
        );
        assert!(r.text().await.unwrap().contains("That code is not valid"));
    }
    // NUL, a parameter over 2048 bytes, an oversized body: readable 400 pages, never a 500.
    for bad in [
        format!("{code}\0"),
        "B".repeat(10_000),
        "B".repeat(20 * 1024),
    ] {
        let r = submit(&t, "continue", &bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("<html"));
    }
    // The prefill from the link shows only a well-formed code.
    let html = t
        .http
        .get(t.url("/oauth2/device/?user_code=%22%3E%3Cscript%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>") && html.contains("value=\"\""),
        "{html}"
    );
}

async fn user_code_guessing_is_throttled_per_ip(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "device_guess_ip", |s| {
        s.device_max_failures_per_ip = 5;
    })
    .await
    else {
        return;
    };
    t.user("mallory", "pw").await;
    t.login("mallory", "pw").await;
    let (_, code, _) = pending(&t).await;
    // Malformed input costs nothing and is not counted.
    for _ in 0..8 {
        assert_eq!(
            submit(&t, "continue", "AEIO-U000").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    // A right code is given back: it does not use up the allowance.
    assert_eq!(submit(&t, "continue", &code).await.status(), StatusCode::OK);
    for i in 0..5 {
        let guess = format!("BBBB-BBB{}", ["C", "D", "F", "G", "H"][i]);
        assert_eq!(
            submit(&t, "continue", &guess).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    // The sixth wrong guess — and now even the right code — is refused until the window closes.
    for guess in ["BBBB-BBBJ", code.as_str()] {
        let r = submit(&t, "continue", guess).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
    }
    assert_eq!(
        submit(&t, "approve", &code).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn user_code_guessing_is_throttled_globally(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "device_guess_all", |s| {
        s.device_max_failures_per_ip = 1000;
        s.device_max_failures = 3;
    })
    .await
    else {
        return;
    };
    t.user("mallory", "pw").await;
    t.login("mallory", "pw").await;
    for guess in ["BBBB-BBBC", "BBBB-BBBD", "BBBB-BBBF"] {
        assert_eq!(
            submit(&t, "continue", guess).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        submit(&t, "continue", "BBBB-BBBG").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn expired_codes(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "device_expired", |s| {
        s.device_code_expire_seconds = 1;
    })
    .await
    else {
        return;
    };
    t.user("alice", "pw").await;
    t.login("alice", "pw").await;
    let (client_id, code, device_code) = pending(&t).await;
    let expired = eventually(Duration::from_secs(5), || async {
        error_of(&poll(&t, &client_id, None, &device_code).await.1) == "expired_token"
    })
    .await;
    assert!(expired, "the poll never said expired_token");
    let r = submit(&t, "continue", &code).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        submit(&t, "approve", &code).await.status(),
        StatusCode::BAD_REQUEST
    );
    let (_, e) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(error_of(&e), "expired_token");
}

async fn device_code_of_another_client(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_other_client").await else {
        return;
    };
    t.user("alice", "pw").await;
    t.login("alice", "pw").await;
    let (client_id, code, device_code) = pending(&t).await;
    let (other, _) = device_app(&t, ClientType::Public).await;
    let (s, e) = poll(&t, &other, None, &device_code).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(submit(&t, "approve", &code).await.status(), StatusCode::OK);
    let (_, e) = poll(&t, &other, None, &device_code).await;
    assert_eq!(
        error_of(&e),
        "invalid_grant",
        "still not the other client's"
    );
    let (s, tok) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
}

async fn parallel_polls_after_approval_issue_once(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_burst").await else {
        return;
    };
    t.user("alice", "pw").await;
    t.login("alice", "pw").await;
    let (client_id, code, device_code) = pending(&t).await;
    assert_eq!(submit(&t, "approve", &code).await.status(), StatusCode::OK);
    let polls = (0..24).map(|_| poll(&t, &client_id, None, &device_code));
    let results = futures_util::future::join_all(polls).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    for (s, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*s, error_of(body)),
            (StatusCode::BAD_REQUEST, "invalid_grant")
        );
    }
}

async fn forged_forms_are_refused(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_csrf").await else {
        return;
    };
    t.user("alice", "pw").await;
    t.login("alice", "pw").await;
    let (client_id, code, device_code) = pending(&t).await;
    // No CSRF token; a token but another site's Origin.
    let r = t
        .http
        .post(t.url("/oauth2/device/"))
        .form(&[("user_code", code.as_str()), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = t.http.get(t.url("/oauth2/device/")).send().await.unwrap();
    let csrf = crate::support::csrf_from(&page.text().await.unwrap());
    let r = t
        .http
        .post(t.url("/oauth2/device/"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("user_code", code.as_str()),
            ("action", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Signed out: the form is refused (and the GET goes to the login page).
    let anon = bare_browser();
    let r = anon.get(t.url("/oauth2/device/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    // An unknown action.
    let r = t
        .http
        .post(t.url("/oauth2/device/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("user_code", code.as_str()),
            ("action", "approve-all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, e) = poll(&t, &client_id, None, &device_code).await;
    assert!(
        ["authorization_pending", "slow_down"].contains(&error_of(&e)),
        "{e}"
    );
}

async fn device_authorization_requests_are_limited_per_ip(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "device_start_flood", |s| {
        s.device_max_requests_per_ip = 3;
    })
    .await
    else {
        return;
    };
    let (client_id, _) = device_app(&t, ClientType::Public).await;
    for _ in 0..3 {
        assert_eq!(start(&t, &client_id, None, None).await.0, StatusCode::OK);
    }
    let r = t
        .http
        .post(t.url("/oauth2/device-authorization/"))
        .form(&[("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let (_, e) = crate::support::json_of(r).await;
    assert_eq!(error_of(&e), "temporarily_unavailable");
}
