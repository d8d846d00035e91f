//! RFC 9728: protected resource metadata for `/api/`, and the challenges that point to it.

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, json_of};

on_both!(metadata_documents, every_api_challenge_names_the_metadata);

/// Method, path, `Authorization`, expected status and `error=`.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<String>,
    StatusCode,
    Option<&'a str>,
);

async fn metadata_documents(b: Backend) {
    let Some(t) = TestApp::spawn(b, "resource_metadata").await else {
        return;
    };
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource/api/", t.url("/api/")),
        ("/.well-known/oauth-protected-resource", t.base.clone()),
    ] {
        let (s, m) = json_of(t.http.get(t.url(path)).send().await.unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        // §3.3: `resource` is the identifier the well-known URL was made from.
        assert_eq!(m["resource"], resource.as_str(), "{path}");
        assert_eq!(m["authorization_servers"], serde_json::json!([t.base]));
        assert_eq!(
            m["scopes_supported"],
            serde_json::json!(["read", "write", "groups"])
        );
        assert_eq!(m["bearer_methods_supported"], serde_json::json!(["header"]));
        assert_eq!(m["resource_name"], "Latchkey API");
    }
    // The authorization server it names serves RFC 8414 metadata.
    let (s, _) = json_of(
        t.http
            .get(t.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

async fn every_api_challenge_names_the_metadata(b: Backend) {
    let Some(t) = TestApp::spawn(b, "resource_challenges").await else {
        return;
    };
    t.user("alice", "pw").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let (_, tok) = t
        .token(&[
            ("client_id", &cli),
            ("username", "alice"),
            ("password", "pw"),
            ("grant_type", "password"),
            ("scope", "read"),
        ])
        .await;
    let read = tok["access_token"].as_str().unwrap().to_owned();
    let meta = format!(
        "resource_metadata=\"{}\"",
        t.url("/.well-known/oauth-protected-resource/api/")
    );
    let bearer = |v: &str| format!("Bearer {v}");
    let cases: Vec<Case> = vec![
        // RFC 6750 §3.1: no credentials → no error code.
        ("GET", "/api/me/", None, StatusCode::UNAUTHORIZED, None),
        ("GET", "/api/groups/", None, StatusCode::UNAUTHORIZED, None),
        ("POST", "/api/notes/", None, StatusCode::UNAUTHORIZED, None),
        (
            "GET",
            "/api/me/",
            Some(bearer("lka_unknown")),
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
        ),
        (
            "GET",
            "/api/notes/",
            Some("Basic abc".into()),
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
        ),
        (
            "GET",
            "/api/me/",
            Some(bearer(&"x".repeat(600))),
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
        ),
        (
            "GET",
            "/api/groups/",
            Some(bearer(&read)),
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
        ),
    ];
    for (method, path, auth, status, error) in cases {
        let mut req = t
            .http
            .request(method.parse().unwrap(), t.url(path))
            .header("content-type", "application/json")
            .body("{\"text\":\"x\"}");
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
        let h = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(h.starts_with("Bearer realm=\"latchkey\""), "{h}");
        assert!(h.ends_with(&meta), "{h}");
        match error {
            Some(e) => assert!(h.contains(&format!("error=\"{e}\"")), "{h}"),
            None => assert!(!h.contains("error="), "{h}"),
        }
    }
    // A valid token: no challenge.
    let r = t
        .http
        .get(t.url("/api/me/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("www-authenticate").is_none());
}
