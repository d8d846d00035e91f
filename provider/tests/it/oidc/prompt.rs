//! `prompt`, `max_age`, `login_hint` at the authorization endpoint (OIDC Core §3.1.2.1).

use latchkey_provider::model::{AppGrant, ClientType};
use latchkey_provider::storage::batch::Stmt;
use reqwest::StatusCode;

use super::{authorize_path, exchange, jwks, rp, verify};
use crate::on_both;
use crate::support::{Backend, REDIRECT, TestApp, csrf_from, location, param};

on_both!(
    prompt_none,
    prompt_login_and_max_age,
    login_hint_and_prompt_consent
);

async fn get(t: &TestApp, path: &str) -> reqwest::Response {
    t.http.get(t.url(path)).send().await.unwrap()
}

async fn prompt_none(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_prompt_none").await else {
        return;
    };
    t.user("alice", "pw-alice").await;
    let (skip, _) = rp(&t, None).await;
    let (asks, _) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    // No session: login_required, by redirect, with the state.
    let r = get(
        &t,
        &authorize_path(&skip, "&scope=openid&prompt=none&state=st"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&to, "state").as_deref(), Some("st"));
    // prompt=none mixed with another value, or a bad max_age: invalid_request.
    for extra in ["&prompt=none%20login", "&max_age=-5", "&max_age=abc"] {
        let r = get(&t, &authorize_path(&skip, extra)).await;
        assert_eq!(
            param(&location(&r), "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
    }
    // Signed in: a consent-skipping app gets its code; one that asks gets consent_required.
    t.login("alice", "pw-alice").await;
    let r = get(&t, &authorize_path(&skip, "&scope=openid&prompt=none")).await;
    assert!(param(&location(&r), "code").is_some(), "{}", location(&r));
    let r = get(
        &t,
        &authorize_path(&asks, "&scope=openid&prompt=none&state=q"),
    )
    .await;
    let to = location(&r);
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("consent_required"),
        "{to}"
    );
    assert_eq!(param(&to, "state").as_deref(), Some("q"));
    // login_hint naming someone else: the user must choose (interaction_required).
    let r = get(&t, &authorize_path(&skip, "&prompt=none&login_hint=bob")).await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("interaction_required")
    );
    // Unregistered redirect_uri: still a page, never a redirect, prompt=none or not.
    let r = get(
        &t,
        &format!("/oauth2/authorize/?response_type=code&client_id={skip}&redirect_uri=https%3A%2F%2Fevil.example%2F&prompt=none"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
}

/// Follows the login redirect: signs in on the form with `next`, returns the code's redirect.
async fn sign_in_again(t: &TestApp, login: &str) -> String {
    let next = param(&t.url(login), "next").unwrap();
    assert!(
        !next.contains("prompt=login") && !next.contains("max_age"),
        "{next}"
    );
    let page = get(t, login).await.text().await.unwrap();
    let r = t
        .http
        .post(t.url("/accounts/login/"))
        .form(&[
            ("username", "alice"),
            ("password", "pw-alice"),
            ("next", &next),
            ("csrfmiddlewaretoken", &csrf_from(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = get(t, &location(&r)).await;
    location(&r)
}

async fn prompt_login_and_max_age(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_prompt_login").await else {
        return;
    };
    t.user("alice", "pw-alice").await;
    t.login("alice", "pw-alice").await;
    let (id, secret) = rp(&t, None).await;
    // prompt=login while signed in: the login form, then back without prompt=login.
    let r = get(
        &t,
        &authorize_path(&id, "&scope=openid&prompt=login&state=s"),
    )
    .await;
    let login = location(&r);
    assert!(login.starts_with("/accounts/login/?next="), "{login}");
    let to = sign_in_again(&t, &login).await;
    assert_eq!(param(&to, "state").as_deref(), Some("s"));
    assert!(param(&to, "code").is_some(), "{to}");

    // The login is made 1000 s old: max_age=100 forces a fresh one (prompt=none fails).
    t.server
        .db
        .write_all(vec![Stmt::new(
            "UPDATE web_sessions SET created_at = created_at - 1000",
            [],
        )])
        .await
        .unwrap();
    let r = get(
        &t,
        &authorize_path(&id, "&scope=openid&prompt=none&max_age=100"),
    )
    .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    let r = get(&t, &authorize_path(&id, "&scope=openid&max_age=100000")).await;
    assert!(
        param(&location(&r), "code").is_some(),
        "a young enough login will do"
    );
    let r = get(
        &t,
        &authorize_path(&id, "&scope=openid&max_age=100&nonce=m"),
    )
    .await;
    let to = sign_in_again(&t, &location(&r)).await;
    let tok = exchange(&t, &id, &secret, &param(&to, "code").unwrap()).await;
    let c = verify(
        &jwks(&t).await,
        tok["id_token"].as_str().unwrap(),
        &t.base,
        &id,
    );
    let age = c["iat"].as_i64().unwrap() - c["auth_time"].as_i64().unwrap();
    assert!(
        (0..100).contains(&age),
        "auth_time is the fresh login's: {c}"
    );
    assert_eq!(c["nonce"], "m");
}

async fn login_hint_and_prompt_consent(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_login_hint").await else {
        return;
    };
    t.user("alice", "pw-alice").await;
    let (id, _) = rp(&t, None).await;
    let r = get(
        &t,
        &authorize_path(&id, "&scope=openid&login_hint=al%22ice"),
    )
    .await;
    let login = location(&r);
    let page = get(&t, &login).await.text().await.unwrap();
    assert!(
        page.contains("value=\"al&#34;ice\"") || page.contains("value=\"al&quot;ice\""),
        "{page}"
    );
    // prompt=consent: the consent page even for a consent-skipping app.
    t.login("alice", "pw-alice").await;
    let r = get(
        &t,
        &authorize_path(&id, "&scope=openid&prompt=consent&nonce=k"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("<code>openid</code>"), "{html}");
    assert!(
        html.contains("name=\"nonce\" value=\"k\""),
        "the nonce survives the consent form"
    );
}
