//! The token endpoint: client authentication, grants per app, errors.

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, json_of};

on_both!(
    password_and_client_credentials,
    client_authentication,
    malformed_requests_get_invalid_request,
    password_grant_is_throttled
);

async fn password_and_client_credentials(b: Backend) {
    let Some(t) = TestApp::spawn(b, "grants").await else {
        return;
    };
    t.user("admin", "admin").await;
    let (cli, secret) = t
        .app(ClientType::Public, AppGrant::Password, |f| {
            f.client_id = "test".into()
        })
        .await;
    assert!(secret.is_none());
    // The seed's CLI curl, verbatim.
    let (s, tok) = t
        .token(&[
            ("client_id", &cli),
            ("username", "admin"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert!(tok["refresh_token"].is_string());
    let (s, e) = t
        .token(&[
            ("client_id", &cli),
            ("username", "admin"),
            ("password", "nope"),
            ("grant_type", "password"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, e) = t
        .token(&[
            ("client_id", &cli),
            ("username", "ghost"),
            ("password", "nope"),
            ("grant_type", "password"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A public app may not use client_credentials (nor any grant that is not its own).
    let (s, e) = t
        .token(&[("client_id", &cli), ("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );

    let (svc, secret) = t
        .app(
            ClientType::Confidential,
            AppGrant::ClientCredentials,
            |_| {},
        )
        .await;
    let secret = secret.unwrap();
    let (s, tok) = t
        .token(&[
            ("client_id", &svc),
            ("client_secret", &secret),
            ("grant_type", "client_credentials"),
            ("scope", "read"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert!(
        tok.get("refresh_token").is_none(),
        "no refresh token for client_credentials: {tok}"
    );
    assert_eq!(tok["scope"], "read");
    let (s, e) = t
        .token(&[
            ("client_id", &svc),
            ("client_secret", &secret),
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let (s, e) = t
        .token(&[
            ("client_id", &svc),
            ("client_secret", &secret),
            ("grant_type", "client_credentials"),
            ("scope", "admin"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    // An app restricted to some scopes gets only those.
    let (narrow, nsecret) = t
        .app(ClientType::Confidential, AppGrant::ClientCredentials, |f| {
            f.allowed_scopes = latchkey_provider::scope::Scopes::parse("read")
        })
        .await;
    let (s, tok) = t
        .token(&[
            ("client_id", &narrow),
            ("client_secret", &nsecret.unwrap()),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!((s, tok["scope"].as_str()), (StatusCode::OK, Some("read")));
}

async fn client_authentication(b: Backend) {
    let Some(t) = TestApp::spawn(b, "client_auth").await else {
        return;
    };
    let (svc, secret) = t.service().await;
    let send = |user: &str, pass: &str| {
        t.http
            .post(t.url("/oauth2/token/"))
            .basic_auth(user, Some(pass))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(send(&svc, &secret).await.unwrap().status(), StatusCode::OK);
    let r = send(&svc, "wrong-secret").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(json_of(r).await.1["error"], "invalid_client");
    // In the body: 401 without a Basic challenge.
    let (s, e) = t
        .token(&[
            ("client_id", &svc),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, e) = t
        .token(&[
            ("client_id", "unknown"),
            ("client_secret", "x"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // Both methods at once (RFC 6749 §2.3.1).
    let r = t
        .http
        .post(t.url("/oauth2/token/"))
        .basic_auth(&svc, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await.1["error"], "invalid_request");
}

async fn malformed_requests_get_invalid_request(b: Backend) {
    let Some(t) = TestApp::spawn(b, "malformed").await else {
        return;
    };
    let (svc, secret) = t
        .app(
            ClientType::Confidential,
            AppGrant::ClientCredentials,
            |_| {},
        )
        .await;
    let secret = secret.unwrap();
    let raw = |body: Vec<u8>, ct: &'static str| {
        t.http
            .post(t.url("/oauth2/token/"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (format!("grant_type=client_credentials&grant_type=password&client_id={svc}&client_secret={secret}").into_bytes(), form, "invalid_request"),
        (format!("client_id={svc}&client_secret={secret}").into_bytes(), form, "invalid_request"),
        (format!("grant_type=implicit&client_id={svc}&client_secret={secret}").into_bytes(), form, "unsupported_grant_type"),
        (format!("grant_type=client_credentials&scope=a\"b&client_id={svc}&client_secret={secret}").into_bytes(), form, "invalid_scope"),
        (b"{\"grant_type\":\"client_credentials\"}".to_vec(), "application/json", "invalid_request"),
        (vec![b'a'; 64 * 1024], form, "invalid_request"),
        (format!("grant_type=client_credentials&client_id={svc}&client_secret={secret}&x={}", "y".repeat(5000)).into_bytes(), form, "invalid_request"),
        (vec![0xff, 0xfe, b'=', 0x80], form, "invalid_request"),
    ];
    for (body, ct, error) in cases {
        let r = raw(body, ct).await.unwrap();
        let (s, e) = json_of(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"], error, "{e}");
    }
    // Unknown paths and methods are not 500s either.
    let r = t.http.get(t.url("/oauth2/token/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn password_grant_is_throttled(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "throttle", |s| s.throttle_max_failures_per_user = 3).await
    else {
        return;
    };
    t.user("admin", "admin").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    for _ in 0..3 {
        let (s, _) = t
            .token(&[
                ("client_id", &cli),
                ("username", "admin"),
                ("password", "bad"),
                ("grant_type", "password"),
            ])
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    // Locked even with the right password, across case variants of the username.
    let r = t
        .http
        .post(t.url("/oauth2/token/"))
        .form(&[
            ("client_id", cli.as_str()),
            ("username", "ADMIN"),
            ("password", "admin"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 300, "{retry}");
    assert!(json_of(r).await.1["error"].is_string());
    // The login form shares the counter.
    let r = t.login_attempt("admin", "admin").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}
