//! Refresh token rotation, reuse detection, the grace window, revocation,
//! introspection and expiry.

use std::time::Duration;

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both;
use crate::support::{Backend, TestApp, eventually, json_of};

on_both!(
    rotation_and_reuse_detection,
    retry_within_grace_revokes_nothing,
    revoke_and_introspect,
    expiry_and_sweeping
);

async fn password_tokens(t: &TestApp) -> (String, Value) {
    t.user("admin", "admin").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let (s, tok) = t
        .token(&[
            ("client_id", &cli),
            ("username", "admin"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    (cli, tok)
}

async fn refresh(t: &TestApp, cli: &str, rt: &str) -> (StatusCode, Value) {
    t.token(&[
        ("client_id", cli),
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
    ])
    .await
}

async fn rotation_and_reuse_detection(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "reuse", |s| s.refresh_token_grace_period_seconds = 0).await
    else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (s, tok2) = refresh(&t, &cli, rt1).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(tok2["refresh_token"], tok["refresh_token"]);
    // The previous access token was revoked with its refresh token.
    assert_eq!(
        t.api("/api/me/", tok["access_token"].as_str().unwrap())
            .await,
        StatusCode::UNAUTHORIZED
    );
    let rt2 = tok2["refresh_token"].as_str().unwrap();
    let (s, tok3) = refresh(&t, &cli, rt2).await;
    assert_eq!(s, StatusCode::OK);
    // Narrowing the scope is allowed, widening is not (RFC 6749 §6).
    let rt3 = tok3["refresh_token"].as_str().unwrap();
    let (s, e) = t
        .token(&[
            ("client_id", &cli),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt3),
            ("scope", "read admin"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );

    // Reusing rt1 (rotated long ago, grace 0 s) revokes the family: rt3 and its access token die.
    let pass = eventually(Duration::from_secs(5), || async {
        refresh(&t, &cli, rt1).await.0 == StatusCode::BAD_REQUEST
    })
    .await;
    assert!(pass);
    assert_eq!(
        t.api("/api/me/", tok3["access_token"].as_str().unwrap())
            .await,
        StatusCode::UNAUTHORIZED
    );
    let (s, e) = refresh(&t, &cli, rt3).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn retry_within_grace_revokes_nothing(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "grace", |s| s.refresh_token_grace_period_seconds = 60).await
    else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (s, first) = refresh(&t, &cli, rt1).await;
    assert_eq!(s, StatusCode::OK);
    // The response was "lost": the client retries with the same token.
    let (s, retry) = refresh(&t, &cli, rt1).await;
    assert_eq!(s, StatusCode::OK, "{retry}");
    assert_ne!(retry["access_token"], first["access_token"]);
    // Nothing was revoked: both pairs work.
    for pair in [&first, &retry] {
        assert_eq!(
            t.api("/api/me/", pair["access_token"].as_str().unwrap())
                .await,
            StatusCode::OK
        );
    }
    let (s, _) = refresh(&t, &cli, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = refresh(&t, &cli, retry["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    // Another client cannot use (or burn) this client's refresh token.
    let (other, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let (_, tok) = t
        .token(&[
            ("client_id", &cli),
            ("username", "admin"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .await;
    let rt = tok["refresh_token"].as_str().unwrap();
    let (s, e) = refresh(&t, &other, rt).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(refresh(&t, &cli, rt).await.0, StatusCode::OK);
}

async fn revoke_and_introspect(b: Backend) {
    let Some(t) = TestApp::spawn(b, "revoke").await else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let (rs, rs_secret) = t
        .app(
            ClientType::Confidential,
            AppGrant::ClientCredentials,
            |_| {},
        )
        .await;
    let rs_secret = rs_secret.unwrap();
    let access = tok["access_token"].as_str().unwrap();
    let introspect = |token: String| {
        let t = &t;
        let (rs, rs_secret) = (rs.clone(), rs_secret.clone());
        async move {
            let r = t
                .http
                .post(t.url("/oauth2/introspect/"))
                .basic_auth(rs, Some(rs_secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            json_of(r).await
        }
    };
    let (s, info) = introspect(access.to_owned()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["active"], true);
    assert_eq!(info["username"], "admin");
    assert_eq!(info["client_id"], cli.as_str());
    assert_eq!(
        introspect("garbage".into()).await.1,
        serde_json::json!({"active": false})
    );
    // A public client may not introspect.
    let r = t
        .http
        .post(t.url("/oauth2/introspect/"))
        .form(&[("client_id", cli.as_str()), ("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Revoking the refresh token revokes its access token (RFC 7009 §2.1).
    let r = t
        .http
        .post(t.url("/oauth2/revoke_token/"))
        .form(&[
            ("client_id", cli.as_str()),
            ("token", tok["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(t.api("/api/me/", access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(access.to_owned()).await.1["active"], false);
    // Unknown tokens: still 200 (RFC 7009 §2.2).
    let r = t
        .http
        .post(t.url("/oauth2/revoke_token/"))
        .form(&[("client_id", cli.as_str()), ("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Another client's token is left alone.
    let (_, tok) = t
        .token(&[
            ("client_id", &cli),
            ("username", "admin"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .await;
    let a2 = tok["access_token"].as_str().unwrap();
    let r = t
        .http
        .post(t.url("/oauth2/revoke_token/"))
        .basic_auth(&rs, Some(&rs_secret))
        .form(&[("token", a2)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(t.api("/api/me/", a2).await, StatusCode::OK);
}

async fn expiry_and_sweeping(b: Backend) {
    let Some(t) = TestApp::spawn_with(b, "expiry", |s| {
        s.access_token_expire_seconds = 1;
        s.refresh_token_expire_seconds = 1;
    })
    .await
    else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    assert_eq!(tok["expires_in"], 1);
    let access = tok["access_token"].as_str().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            t.api("/api/me/", access).await == StatusCode::UNAUTHORIZED
        })
        .await
    );
    let (s, e) = refresh(&t, &cli, tok["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let swept = t.server.db.sweep_all_expired().await.unwrap();
    assert!(
        swept >= 2,
        "expired access and refresh tokens are deleted ({swept})"
    );
    assert_eq!(t.server.db.sweep_all_expired().await.unwrap(), 0);
}
