//! Authorization codes: bound to their client, recognised on replay for as long as
//! their tokens live, `redirect_uri` optional with one registered URI; and NUL
//! bytes refused everywhere.

use std::time::Duration;

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::authorize::get_code;
use crate::on_both;
use crate::support::{Backend, REDIRECT, TestApp, eventually, json_of, location, param};

on_both!(
    a_code_presented_by_another_client_is_not_burnt,
    a_replay_after_the_code_was_swept_still_revokes,
    one_registered_redirect_uri_may_be_omitted,
    nul_bytes_are_invalid_requests_everywhere,
);

async fn code_app(t: &TestApp) -> (String, String) {
    t.user("dan", "pw").await;
    let (id, secret) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    t.login("dan", "pw").await;
    (id, secret.unwrap())
}

async fn exchange(
    t: &TestApp,
    id: &str,
    secret: &str,
    code: &str,
) -> (StatusCode, serde_json::Value) {
    t.token(&[
        ("client_id", id),
        ("client_secret", secret),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("grant_type", "authorization_code"),
    ])
    .await
}

async fn a_code_presented_by_another_client_is_not_burnt(b: Backend) {
    let Some(t) = TestApp::spawn(b, "code_other_client").await else {
        return;
    };
    let (id, secret) = code_app(&t).await;
    let (public, _) = t
        .app(ClientType::Public, AppGrant::AuthorizationCode, |_| {})
        .await;
    let code = get_code(&t, &id, "").await;
    let (s, e) = t
        .token(&[
            ("client_id", public.as_str()),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The right client still gets its tokens.
    let (s, tok) = exchange(&t, &id, &secret, &code).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
}

async fn a_replay_after_the_code_was_swept_still_revokes(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "late_replay", |s| {
        // Long enough for the first exchange on a loaded machine (second granularity).
        s.authorization_code_expire_seconds = 3;
        s.sweep_interval_seconds = 0;
    })
    .await
    else {
        return;
    };
    let (id, secret) = code_app(&t).await;
    let code = get_code(&t, &id, "").await;
    let issued = latchkey_provider::storage::now();
    let (s, tok) = exchange(&t, &id, &secret, &code).await;
    assert_eq!(s, StatusCode::OK);
    let access = tok["access_token"].as_str().unwrap();
    // The code expires and the sweeper runs …
    assert!(
        eventually(Duration::from_secs(10), || async {
            latchkey_provider::storage::now() > issued + 3
        })
        .await
    );
    t.server.db.sweep_all_expired().await.unwrap();
    // … but a replay is still recognised, and revokes what the code issued.
    let (s, e) = exchange(&t, &id, &secret, &code).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(t.api("/api/me/", access).await, StatusCode::UNAUTHORIZED);
}

async fn one_registered_redirect_uri_may_be_omitted(b: Backend) {
    let Some(t) = TestApp::spawn(b, "one_redirect_uri").await else {
        return;
    };
    let (id, secret) = code_app(&t).await;
    let r = t
        .http
        .get(t.url(&format!(
            "/oauth2/authorize/?response_type=code&client_id={id}"
        )))
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    let code = param(&to, "code").unwrap();
    // Not sent to authorize: not needed at the token endpoint (RFC 6749 §4.1.3).
    let (s, tok) = t
        .token(&[
            ("client_id", id.as_str()),
            ("client_secret", &secret),
            ("code", &code),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    // Sent to authorize: required again.
    let code = get_code(&t, &id, "").await;
    let (s, e) = t
        .token(&[
            ("client_id", id.as_str()),
            ("client_secret", &secret),
            ("code", &code),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // With two registered URIs the request must name one.
    let (two, _) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.redirect_uris.push("http://localhost:3000/other/".into())
        })
        .await;
    let r = t
        .http
        .get(t.url(&format!(
            "/oauth2/authorize/?response_type=code&client_id={two}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
}

async fn nul_bytes_are_invalid_requests_everywhere(b: Backend) {
    let Some(t) = TestApp::spawn(b, "nul").await else {
        return;
    };
    let (id, secret) = code_app(&t).await;
    let post = |path: &'static str, body: &'static str| {
        let t = &t;
        async move {
            t.http
                .post(t.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    for (path, body) in [
        (
            "/oauth2/token/",
            "grant_type=client_credentials&client_id=te%00st",
        ),
        (
            "/oauth2/token/",
            "grant_type=password&client_id=x&username=ad%00min&password=p",
        ),
        ("/oauth2/introspect/", "client_id=te%00st&token=x"),
        ("/oauth2/revoke_token/", "client_id=te%00st&token=x"),
    ] {
        let (s, e) = json_of(post(path, body).await).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{path} {body}"
        );
    }
    // In HTTP Basic credentials too (id "te\0st").
    let r = t
        .http
        .post(t.url("/oauth2/introspect/"))
        .basic_auth("te%00st", Some(&secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The pages: a 400 page, not a 5xx.
    let r = t
        .http
        .get(t.url(&format!(
            "/oauth2/authorize/?response_type=code&client_id={id}%00"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post(
        "/accounts/login/",
        "username=ad%00min&password=p&csrfmiddlewaretoken=x",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
