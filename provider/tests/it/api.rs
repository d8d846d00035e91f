//! Bearer-protected API routes (RFC 6750) and metadata (RFC 8414).

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, json_of};

on_both!(bearer_rules, metadata_lists_what_is_supported);

async fn bearer_rules(b: Backend) {
    let Some(t) = TestApp::spawn(b, "bearer").await else {
        return;
    };
    t.user("admin", "admin").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let token = |scope: &'static str| {
        let (t, cli) = (&t, cli.clone());
        async move {
            let (_, tok) = t
                .token(&[
                    ("client_id", &cli),
                    ("username", "admin"),
                    ("password", "admin"),
                    ("grant_type", "password"),
                    ("scope", scope),
                ])
                .await;
            tok["access_token"].as_str().unwrap().to_owned()
        }
    };
    let all = token("read write groups").await;
    let read = token("read").await;

    let r = t
        .http
        .get(t.url("/api/me/"))
        .bearer_auth(&all)
        .send()
        .await
        .unwrap();
    let (s, me) = json_of(r).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["username"], "admin");
    assert_eq!(me["scope"], "read write groups");
    assert_eq!(me["application"]["client_id"], cli.as_str());

    // No credentials: 401 with a bare challenge (RFC 6750 §3.1).
    let r = t.http.get(t.url("/api/me/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()["www-authenticate"],
        format!(
            "Bearer realm=\"latchkey\", resource_metadata=\"{}\"",
            t.url("/.well-known/oauth-protected-resource/api/")
        )
    );
    // Invalid token.
    let r = t
        .http
        .get(t.url("/api/me/"))
        .bearer_auth("lka_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let r = t
        .http
        .get(t.url("/api/me/"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Scopes.
    let r = t
        .http
        .get(t.url("/api/groups/"))
        .bearer_auth(&all)
        .send()
        .await
        .unwrap();
    let (s, g) = json_of(r).await;
    assert_eq!((s, g["groups"][0].as_str()), (StatusCode::OK, Some("devs")));
    let r = t
        .http
        .get(t.url("/api/groups/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );
    assert_eq!(json_of(r).await.1["error"], "insufficient_scope");
    let r = t
        .http
        .post(t.url("/api/notes/"))
        .bearer_auth(&read)
        .json(&serde_json::json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t
        .http
        .post(t.url("/api/notes/"))
        .bearer_auth(&all)
        .json(&serde_json::json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = t
        .http
        .post(t.url("/api/notes/"))
        .bearer_auth(&all)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(r).await,
        (
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_request", "error_description": "the body must be JSON like {\"text\": \"…\"}"})
        )
    );
    let r = t
        .http
        .get(t.url("/api/notes/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    let (s, notes) = json_of(r).await;
    assert_eq!(
        (s, notes["notes"][0]["text"].as_str()),
        (StatusCode::OK, Some("hi"))
    );
}

async fn metadata_lists_what_is_supported(b: Backend) {
    let Some(t) = TestApp::spawn(b, "metadata").await else {
        return;
    };
    let r = t
        .http
        .get(t.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    let m: latchkey_shared::ServerMetadata = r.json().await.unwrap();
    assert_eq!(m.issuer, t.base);
    assert_eq!(m.token_endpoint, t.url("/oauth2/token/"));
    assert_eq!(m.authorization_endpoint, t.url("/oauth2/authorize/"));
    assert_eq!(m.revocation_endpoint, Some(t.url("/oauth2/revoke_token/")));
    assert_eq!(m.introspection_endpoint, Some(t.url("/oauth2/introspect/")));
    assert_eq!(
        m.scopes_supported,
        ["read", "write", "groups", "openid", "profile", "email"]
    );
    assert_eq!(
        m.grant_types_supported,
        [
            "authorization_code",
            "refresh_token",
            "password",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]
    );
    assert_eq!(
        m.device_authorization_endpoint,
        Some(t.url("/oauth2/device-authorization/"))
    );
    assert_eq!(m.code_challenge_methods_supported, ["S256"]);
    assert_eq!(
        t.http.get(t.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
}
