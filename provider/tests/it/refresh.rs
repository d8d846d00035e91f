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
    retry_within_grace_returns_the_same_pair,
    grace_zero_means_no_window,
    refresh_rechecks_the_application,
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

async fn retry_within_grace_returns_the_same_pair(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "grace", |s| s.refresh_token_grace_period_seconds = 60).await
    else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (s, first) = refresh(&t, &cli, rt1).await;
    assert_eq!(s, StatusCode::OK);
    // The response was "lost": the client retries with the same token, five times
    // (two of them at once). Every retry gets the same pair: the family never forks.
    let (a, b2) = tokio::join!(refresh(&t, &cli, rt1), refresh(&t, &cli, rt1));
    let mut retries = vec![a, b2];
    for _ in 0..3 {
        retries.push(refresh(&t, &cli, rt1).await);
    }
    for (s, retry) in &retries {
        assert_eq!(*s, StatusCode::OK, "{retry}");
        assert_eq!(retry["access_token"], first["access_token"]);
        assert_eq!(retry["refresh_token"], first["refresh_token"]);
        assert_eq!(retry["scope"], first["scope"]);
    }
    // Nothing was revoked: the pair works, and rotates once.
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(t.api("/api/me/", at).await, StatusCode::OK);
    let rt2 = first["refresh_token"].as_str().unwrap();
    let (s, second) = refresh(&t, &cli, rt2).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        refresh(&t, &cli, rt2).await.1["refresh_token"],
        second["refresh_token"]
    );
    // At rest, the rotated row holds neither token of its successor pair in clear.
    let hash = latchkey_provider::secret::PlainToken::from_client(rt1).hash();
    let row = t
        .server
        .db
        .refresh_token_by_hash(&hash)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.successor.expect("a sealed successor");
    assert!(!sealed.contains(rt2) && !sealed.contains(at));
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

/// `--refresh-token-grace-period-seconds 0`: no window at all, not even within
/// the same second.
async fn grace_zero_means_no_window(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "grace0", |s| s.refresh_token_grace_period_seconds = 0).await
    else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (s, first) = refresh(&t, &cli, rt1).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = refresh(&t, &cli, rt1).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // … and that reuse revoked the family.
    let (s, _) = refresh(&t, &cli, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// A refresh sees the application as it is now: narrowed scopes, another grant,
/// another client type.
async fn refresh_rechecks_the_application(b: Backend) {
    use latchkey_provider::management;
    let Some(t) = TestApp::spawn(b, "recheck").await else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    assert_eq!(tok["scope"], "read write groups");
    let db = &t.server.db;
    let app = db.application_by_client_id(&cli).await.unwrap().unwrap();
    let mut fields = latchkey_provider::storage::AppFields {
        client_id: app.client_id.clone(),
        client_type: app.client_type,
        grant: app.grant,
        name: app.name.clone(),
        redirect_uris: app.redirect_uris.clone(),
        skip_authorization: app.skip_authorization,
        require_pkce: app.require_pkce,
        allowed_scopes: latchkey_provider::scope::Scopes::parse("read"),
        user_id: None,
        is_resource_server: false,
    };
    management::update_application(db, &app, &fields)
        .await
        .unwrap();
    let (s, tok) = refresh(&t, &cli, tok["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "read");
    // The grant is no longer allowed: refused.
    fields.grant = AppGrant::ClientCredentials;
    fields.client_type = ClientType::Confidential;
    let app2 = db.application_by_client_id(&cli).await.unwrap().unwrap();
    management::update_application(db, &app2, &fields)
        .await
        .unwrap();
    let (s, e) = refresh(&t, &cli, tok["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    // A confidential password app switched to public: its refresh tokens are revoked.
    let (conf, secret) = t
        .app(ClientType::Confidential, AppGrant::Password, |_| {})
        .await;
    let (s, tok) = t
        .token(&[
            ("client_id", &conf),
            ("client_secret", secret.as_deref().unwrap()),
            ("username", "admin"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    let app3 = db.application_by_client_id(&conf).await.unwrap().unwrap();
    fields.client_id = conf.clone();
    fields.grant = AppGrant::Password;
    fields.client_type = ClientType::Public;
    management::update_application(db, &app3, &fields)
        .await
        .unwrap();
    let (s, e) = refresh(&t, &conf, tok["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        t.api("/api/me/", tok["access_token"].as_str().unwrap())
            .await,
        StatusCode::UNAUTHORIZED
    );
}

async fn revoke_and_introspect(b: Backend) {
    let Some(t) = TestApp::spawn(b, "revoke").await else {
        return;
    };
    let (cli, tok) = password_tokens(&t).await;
    let (rs, rs_secret) = t
        .app(ClientType::Confidential, AppGrant::ClientCredentials, |f| {
            f.is_resource_server = true
        })
        .await;
    let rs_secret = rs_secret.unwrap();
    let access = tok["access_token"].as_str().unwrap();
    // Any other confidential client learns nothing (RFC 7662 §2.1, §4) …
    let (svc, svc_secret) = t.service().await;
    for token in [access, tok["refresh_token"].as_str().unwrap()] {
        let r = t
            .http
            .post(t.url("/oauth2/introspect/"))
            .basic_auth(&svc, Some(&svc_secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(r).await.1, serde_json::json!({"active": false}));
    }
    // … except about its own tokens.
    let (_, own) = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &svc),
            ("client_secret", &svc_secret),
        ])
        .await;
    let r = t
        .http
        .post(t.url("/oauth2/introspect/"))
        .basic_auth(&svc, Some(&svc_secret))
        .form(&[("token", own["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    let (_, info) = json_of(r).await;
    assert_eq!(
        (info["active"].clone(), info["client_id"].clone()),
        (true.into(), svc.clone().into())
    );
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
