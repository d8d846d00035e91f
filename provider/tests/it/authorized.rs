//! "Your authorized apps": the list, and revoking one application.

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::consent::{allow, ask};
use crate::on_both;
use crate::support::{Backend, TestApp, browser, csrf_from, location};

on_both!(revoking_an_app_ends_its_tokens_and_consent);

async fn page(t: &TestApp, http: &reqwest::Client) -> String {
    let r = http
        .get(t.url("/oauth2/authorized_tokens/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn revoke(t: &TestApp, http: &reqwest::Client, app_id: &str, csrf: &str) -> StatusCode {
    http.post(t.url(&format!("/oauth2/authorized_tokens/{app_id}/delete/")))
        .form(&[("csrfmiddlewaretoken", csrf)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn revoking_an_app_ends_its_tokens_and_consent(b: Backend) {
    let Some(t) = TestApp::spawn(b, "authorized_apps").await else {
        return;
    };
    t.user("alice", "pw").await;
    t.user("bob", "pw").await;
    // Signed out: to the login page, and back here afterwards.
    let r = t
        .http
        .get(t.url("/oauth2/authorized_tokens/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&r),
        "/accounts/login/?next=%2Foauth2%2Fauthorized_tokens%2F"
    );
    t.login("alice", "pw").await;
    assert!(
        page(&t, &t.http)
            .await
            .contains("You have not authorized any application.")
    );

    // A consent to a code app, and password-grant tokens of a CLI app.
    let (web_app, _) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.name = "Web shop".into()
        })
        .await;
    let consent_page = ask(&t, &web_app, "read").await.unwrap();
    allow(&t, &consent_page, &web_app, "read").await;
    let (cli, _) = t
        .app(ClientType::Public, AppGrant::Password, |f| {
            f.name = "Terminal".into()
        })
        .await;
    let (_, tok) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", &cli),
            ("username", "alice"),
            ("password", "pw"),
            ("scope", "read write"),
        ])
        .await;
    let access = tok["access_token"].as_str().unwrap();
    let refresh = tok["refresh_token"].as_str().unwrap();

    let html = page(&t, &t.http).await;
    assert!(
        html.contains("Web shop") && html.contains("Terminal"),
        "{html}"
    );
    assert!(html.contains("2 live tokens"), "{html}");
    let id_of = |client_id: String| {
        let db = t.server.db.clone();
        async move {
            db.application_by_client_id(&client_id)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let (web_id, cli_id) = (id_of(web_app.clone()).await, id_of(cli.clone()).await);
    assert!(html.contains(&format!("/oauth2/authorized_tokens/{cli_id}/delete/")));

    // Bob sees none of it, and his revoking Alice's app changes nothing for her.
    let bob = browser(&t.base);
    let form = bob.get(t.url("/accounts/login/")).send().await.unwrap();
    let csrf = csrf_from(&form.text().await.unwrap());
    bob.post(t.url("/accounts/login/"))
        .form(&[
            ("username", "bob"),
            ("password", "pw"),
            ("next", "/"),
            ("csrfmiddlewaretoken", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let bob_page = page(&t, &bob).await;
    assert!(!bob_page.contains("Terminal"), "{bob_page}");
    // Bob has no app, so no form here: the start page's token.
    let index = bob
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        revoke(&t, &bob, &cli_id, &csrf_from(&index)).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(t.api("/api/me/", access).await, StatusCode::OK);

    // Without the CSRF token: refused.
    let csrf = csrf_from(&html);
    assert_eq!(
        revoke(&t, &t.http, &cli_id, "forged").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.api("/api/me/", access).await, StatusCode::OK);

    // Revoke the CLI: its access token and refresh token die.
    let r = t
        .http
        .post(t.url(&format!("/oauth2/authorized_tokens/{cli_id}/delete/")))
        .form(&[("csrfmiddlewaretoken", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/oauth2/authorized_tokens/?revoked=1");
    assert_eq!(t.api("/api/me/", access).await, StatusCode::UNAUTHORIZED);
    let (s, e) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &cli),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let html = page(&t, &t.http).await;
    assert!(
        !html.contains("Terminal") && html.contains("Web shop"),
        "{html}"
    );

    // Revoke the web app: its consent is forgotten, so the next authorization asks.
    assert!(
        ask(&t, &web_app, "read").await.is_none(),
        "remembered so far"
    );
    assert_eq!(
        revoke(&t, &t.http, &web_id, &csrf).await,
        StatusCode::SEE_OTHER
    );
    assert!(ask(&t, &web_app, "read").await.is_some(), "asked again");
    assert!(
        page(&t, &t.http)
            .await
            .contains("You have not authorized any application.")
    );
}
