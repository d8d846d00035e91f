//! `--allowed-hosts` (Django's ALLOWED_HOSTS): another `Host` is refused before any
//! handler, so a DNS-rebinding page cannot drive the provider. Engine-independent.

use reqwest::StatusCode;

use crate::support::{Backend, TestApp};

async fn status_for(t: &TestApp, path: &str, host: &str) -> (StatusCode, String, String) {
    let r = reqwest::Client::new()
        .get(t.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (r.status(), ct, r.text().await.unwrap())
}

#[tokio::test]
async fn another_host_gets_400_before_any_handler() {
    let t = TestApp::spawn(Backend::Sqlite, "hosts").await.unwrap();
    let port = t.base.rsplit(':').next().unwrap().to_owned();
    let (s, ct, body) = status_for(&t, "/accounts/login/", "evil.example").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(body.contains("allowed-hosts"), "{body}");
    assert!(!body.contains("csrfmiddlewaretoken"));
    let (s, ct, body) = status_for(&t, "/api/me/", &format!("evil.example:{port}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(ct.starts_with("application/json"), "{ct}");
    assert!(body.contains("\"invalid_request\""), "{body}");
    // A token request never reaches client authentication.
    let r = reqwest::Client::new()
        .post(t.url("/oauth2/token/"))
        .header("host", "evil.example")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The default list: the issuer (127.0.0.1:<port>), localhost, [::1], any port.
    for ok in [
        format!("127.0.0.1:{port}"),
        "localhost:1234".to_owned(),
        "LOCALHOST".to_owned(),
        "[::1]:8000".to_owned(),
    ] {
        assert_eq!(
            status_for(&t, "/healthz", &ok).await.0,
            StatusCode::OK,
            "{ok}"
        );
    }
}

#[tokio::test]
async fn the_list_is_configurable_and_star_allows_any() {
    let t = TestApp::spawn_with(Backend::Sqlite, "hosts_list", |s| {
        s.allowed_hosts = Some("provider, .example.com".into());
    })
    .await
    .unwrap();
    assert_eq!(
        status_for(&t, "/healthz", "provider:8000").await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_for(&t, "/healthz", "a.example.com").await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_for(&t, "/healthz", "localhost").await.0,
        StatusCode::BAD_REQUEST
    );
    let any = TestApp::spawn_with(Backend::Sqlite, "hosts_any", |s| {
        s.allowed_hosts = Some("*".into());
    })
    .await
    .unwrap();
    assert_eq!(
        status_for(&any, "/healthz", "evil.example").await.0,
        StatusCode::OK
    );
}
