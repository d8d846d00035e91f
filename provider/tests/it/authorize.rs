//! The authorization code flow, end to end, and the authorize endpoint's rules.

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, REDIRECT, TestApp, csrf_from, location, param};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_path(client_id: &str, extra: &str) -> String {
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    format!(
        "/oauth2/authorize/?response_type=code&client_id={client_id}&redirect_uri={redirect}{extra}"
    )
}

on_both!(
    full_flow_with_login_and_consent,
    cancel_returns_access_denied,
    untrusted_client_or_redirect_shows_a_page,
    code_is_single_use_and_replay_revokes,
    pkce_rules,
    login_form_needs_csrf,
);

/// The seed's flow: login page → consent → code → token → API → refresh.
async fn full_flow_with_login_and_consent(b: Backend) {
    let Some(t) = TestApp::spawn(b, "full_flow").await else {
        return;
    };
    t.user("alice", "pw-alice").await;
    let (client_id, secret) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    let secret = secret.unwrap();

    // Not logged in: off to the login page, with the whole request as `next`.
    let r = t
        .http
        .get(t.url(&authorize_path(&client_id, "&state=xyz")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let login = location(&r);
    assert!(
        login.starts_with("/accounts/login/?next=%2Foauth2%2Fauthorize%2F"),
        "{login}"
    );
    let next = param(&t.url(&login), "next").unwrap();

    // The login form: its session cookie is HttpOnly and SameSite=Lax.
    let page = t
        .http
        .get(t.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&page);
    let r = t
        .http
        .post(t.url("/accounts/login/"))
        .form(&[
            ("username", "alice"),
            ("password", "pw-alice"),
            ("next", next.as_str()),
            ("csrfmiddlewaretoken", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), next);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("latchkey_sessionid="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Consent page lists the scopes; Authorize sends the code back with the state.
    let page = t.http.get(t.url(&next)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Authorize Test app?") && html.contains("<code>groups</code>"),
        "{html}"
    );
    let csrf = csrf_from(&html);
    let r = t
        .http
        .post(t.url("/oauth2/authorize/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read write groups"),
            ("state", "xyz"),
            ("allow", "Authorize"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("xyz"));
    let code = param(&to, "code").unwrap();

    // The seed's curl: secret in the body.
    let (s, tok) = t
        .token(&[
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let keys: Vec<_> = tok.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 5, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 36000);
    assert_eq!(tok["scope"], "read write groups");
    let access = tok["access_token"].as_str().unwrap();
    assert_eq!(t.api("/api/me/", access).await, StatusCode::OK);

    // Refresh with HTTP Basic; the old refresh token dies.
    let old_refresh = tok["refresh_token"].as_str().unwrap();
    let r = t
        .http
        .post(t.url("/oauth2/token/"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old_refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");

    // Secrets at rest: no table holds a token or the client secret in clear.
    for (table, col) in [
        ("access_tokens", "token_hash"),
        ("refresh_tokens", "token_hash"),
        ("applications", "client_secret_hash"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {col} IN ($1, $2, $3)");
        let n: i64 = match &t.server.db {
            latchkey_provider::storage::Db::Sqlite { read: p, .. } => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(access)
                    .bind(old_refresh)
                    .bind(&secret)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
            latchkey_provider::storage::Db::Postgres(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(access)
                    .bind(old_refresh)
                    .bind(&secret)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(n, 0, "{table} stores a secret in clear");
    }
}

async fn cancel_returns_access_denied(b: Backend) {
    let Some(t) = TestApp::spawn(b, "cancel").await else {
        return;
    };
    t.user("bob", "pw").await;
    let (client_id, _) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    t.login("bob", "pw").await;
    let html = t
        .http
        .get(t.url(&authorize_path(&client_id, "&state=s1&scope=read")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let r = t
        .http
        .post(t.url("/oauth2/authorize/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "s1"),
            ("cancel", "Cancel"),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("access_denied"),
        "{to}"
    );
    assert_eq!(param(&to, "state").as_deref(), Some("s1"));

    // Skip authorization: straight back with a code.
    let (skip_id, _) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    let r = t
        .http
        .get(t.url(&authorize_path(&skip_id, "&state=s2")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(param(&location(&r), "code").is_some(), "{}", location(&r));
}

async fn untrusted_client_or_redirect_shows_a_page(b: Backend) {
    let Some(t) = TestApp::spawn(b, "untrusted").await else {
        return;
    };
    t.user("carol", "pw").await;
    let (client_id, _) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    t.login("carol", "pw").await;
    let evil: String = form_urlencoded::byte_serialize(b"https://evil.example/cb").collect();
    for path in [
        authorize_path("nope", ""),
        format!("/oauth2/authorize/?response_type=code&client_id={client_id}&redirect_uri={evil}"),
        format!("{}&redirect_uri=x", authorize_path(&client_id, "")),
        format!(
            "/oauth2/authorize/?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Flogin%2F%3Fx"
        ),
    ] {
        let r = t.http.get(t.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(
            r.headers().get("location").is_none(),
            "{path} must not redirect"
        );
        assert!(
            r.text().await.unwrap().contains("<h1>"),
            "{path} shows a page"
        );
    }
    // With a good client and redirect URI, other errors go back to the client.
    for (extra, error) in [
        ("&response_type=token", "invalid_request"), // duplicate response_type
        ("&scope=admin", "invalid_scope"),
        (
            "&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
    ] {
        let r = t
            .http
            .get(t.url(&authorize_path(&client_id, &format!("&state=st{extra}"))))
            .send()
            .await
            .unwrap();
        if extra.starts_with("&response_type") {
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "a duplicated parameter can't be trusted"
            );
            continue;
        }
        assert_eq!(r.status(), StatusCode::FOUND, "{extra}");
        let to = location(&r);
        assert!(to.starts_with(REDIRECT));
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{to}");
        assert_eq!(param(&to, "state").as_deref(), Some("st"));
    }
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let r = t
        .http
        .get(t.url(&format!(
            "/oauth2/authorize/?response_type=token&client_id={client_id}&redirect_uri={redirect}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("unsupported_response_type")
    );
    // An app of another grant type may not use this endpoint.
    let (pw_app, _) = t
        .app(ClientType::Public, AppGrant::Password, |f| {
            f.redirect_uris = vec![REDIRECT.into()]
        })
        .await;
    let r = t
        .http
        .get(t.url(&authorize_path(&pw_app, "")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("unauthorized_client")
    );
}

pub async fn get_code(t: &TestApp, client_id: &str, extra: &str) -> String {
    let r = t
        .http
        .get(t.url(&authorize_path(client_id, extra)))
        .send()
        .await
        .unwrap();
    param(&location(&r), "code").unwrap_or_else(|| panic!("no code in {}", location(&r)))
}

async fn code_is_single_use_and_replay_revokes(b: Backend) {
    let Some(t) = TestApp::spawn(b, "replay").await else {
        return;
    };
    t.user("dan", "pw").await;
    let (client_id, secret) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    let secret = secret.unwrap();
    t.login("dan", "pw").await;
    let code = get_code(&t, &client_id, "").await;
    let form = [
        ("client_id", client_id.as_str()),
        ("client_secret", &secret),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("grant_type", "authorization_code"),
    ];
    let (s, tok) = t.token(&form).await;
    assert_eq!(s, StatusCode::OK);
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let refresh = tok["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(t.api("/api/me/", &access).await, StatusCode::OK);

    let (s, err) = t.token(&form).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");
    // RFC 6749 §4.1.2: the tokens issued from the replayed code are revoked.
    assert_eq!(t.api("/api/me/", &access).await, StatusCode::UNAUTHORIZED);
    let (s, _) = t
        .token(&[
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Bound to the redirect URI and to the client.
    let code = get_code(&t, &client_id, "").await;
    let (s, err) = t
        .token(&[
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", "http://localhost:3000/other/"),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(
        (s, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (other_id, other_secret) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    let code = get_code(&t, &client_id, "").await;
    let (s, err) = t
        .token(&[
            ("client_id", &other_id),
            ("client_secret", &other_secret.unwrap()),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(
        (s, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn pkce_rules(b: Backend) {
    let Some(t) = TestApp::spawn(b, "pkce").await else {
        return;
    };
    t.user("erin", "pw").await;
    let (public_id, _) = t
        .app(ClientType::Public, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    let (conf_id, secret) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    let secret = secret.unwrap();
    t.login("erin", "pw").await;

    // Public apps must use PKCE.
    let r = t
        .http
        .get(t.url(&authorize_path(&public_id, "")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let exchange =
        |id: String, code: String, verifier: Option<&'static str>, secret: Option<String>| {
            let t = &t;
            async move {
                let mut form = vec![
                    ("client_id", id),
                    ("code", code),
                    ("redirect_uri", REDIRECT.to_owned()),
                    ("grant_type", "authorization_code".to_owned()),
                ];
                if let Some(v) = verifier {
                    form.push(("code_verifier", v.to_owned()));
                }
                if let Some(s) = secret {
                    form.push(("client_secret", s));
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                t.token(&form).await
            }
        };
    let code = get_code(&t, &public_id, &pkce).await;
    let (s, tok) = exchange(public_id.clone(), code, Some(VERIFIER), None).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    // Wrong verifier, missing verifier (RFC 9700 §2.1.1).
    let code = get_code(&t, &public_id, &pkce).await;
    let (s, e) = exchange(
        public_id.clone(),
        code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"),
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let code = get_code(&t, &conf_id, &pkce).await;
    let (s, e) = exchange(conf_id.clone(), code, None, Some(secret.clone())).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A verifier without a challenge is a downgrade.
    let code = get_code(&t, &conf_id, "").await;
    let (s, e) = exchange(conf_id.clone(), code, Some(VERIFIER), Some(secret.clone())).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // Confidential apps may skip PKCE unless they opt in.
    let code = get_code(&t, &conf_id, "").await;
    assert_eq!(
        exchange(conf_id.clone(), code, None, Some(secret)).await.0,
        StatusCode::OK
    );
    let (strict_id, _) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true;
            f.require_pkce = true;
        })
        .await;
    let r = t
        .http
        .get(t.url(&authorize_path(&strict_id, "")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    // Loopback redirect URIs may change port (RFC 8252 §7.3).
    let (native_id, _) = t
        .app(ClientType::Public, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true;
            f.redirect_uris = vec!["http://127.0.0.1/cb".into()];
        })
        .await;
    let r = t.http.get(t.url(&format!("/oauth2/authorize/?response_type=code&client_id={native_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcb{pkce}"))).send().await.unwrap();
    assert!(
        location(&r).starts_with("http://127.0.0.1:49152/cb?code="),
        "{}",
        location(&r)
    );
}

async fn login_form_needs_csrf(b: Backend) {
    let Some(t) = TestApp::spawn(b, "login_csrf").await else {
        return;
    };
    t.user("fay", "pw").await;
    let _ = t.http.get(t.url("/accounts/login/")).send().await.unwrap();
    let r = t
        .http
        .post(t.url("/accounts/login/"))
        .form(&[
            ("username", "fay"),
            ("password", "pw"),
            ("csrfmiddlewaretoken", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t.login_attempt("fay", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("correct username and password")
    );
    // Another site's form post is refused even with a matching token.
    let html = t
        .http
        .get(t.url("/accounts/login/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = t
        .http
        .post(t.url("/accounts/login/"))
        .header("origin", "https://evil.example")
        .form(&[
            ("username", "fay"),
            ("password", "pw"),
            ("csrfmiddlewaretoken", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
