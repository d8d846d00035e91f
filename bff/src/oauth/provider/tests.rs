//! Unit tests of provider calls and discovery.

use super::*;
use crate::oauth::discovery::{metadata_urls, same_issuer};

#[test]
fn issuer_match_ignores_trailing_slash() {
    assert!(same_issuer("http://a/", "http://a"));
    assert!(!same_issuer("http://a", "http://b"));
}

#[test]
fn public_issuer_rewrites_the_origin_only() {
    let inside = Url::parse("http://provider:8000/oauth2/authorize/?x=1").expect("url");
    let public = Url::parse("https://login.example").expect("url");
    let out = with_origin(&inside, &public).expect("rewrite");
    assert_eq!(out.as_str(), "https://login.example/oauth2/authorize/?x=1");
}

#[test]
fn metadata_urls_for_an_issuer_with_a_path() {
    let with_path = Url::parse("http://127.0.0.1:8000/o").expect("url");
    let urls: Vec<String> = metadata_urls(&with_path)
        .expect("urls")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:8000/o/.well-known/oauth-authorization-server",
            "http://127.0.0.1:8000/.well-known/oauth-authorization-server/o",
            "http://127.0.0.1:8000/o/.well-known/openid-configuration",
        ]
    );
    let bare = Url::parse("http://127.0.0.1:8000/").expect("url");
    assert_eq!(metadata_urls(&bare).expect("urls").len(), 2);
}

/// RFC 6749 §2.3.1: with `client_secret_basic`, the client id and secret are each
/// `application/x-www-form-urlencoded` before being joined and base64-encoded. oauth2 5
/// does this for the token endpoint; `revoke` does it by hand.
#[tokio::test]
async fn client_secret_basic_is_form_urlencoded_before_base64() {
    use std::sync::{Arc, Mutex};

    use base64::Engine as _;
    use clap::Parser as _;

    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                *record.lock().expect("lock") = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                axum::Json(serde_json::json!({
                    "access_token": "at", "token_type": "Bearer", "expires_in": 60,
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (authorize, token) = (
        format!("http://{addr}/authorize"),
        format!("http://{addr}/token"),
    );
    let config = Config::try_parse_from([
        "bff",
        "--client-id",
        "bff:client é",
        "--authorize-url",
        &authorize,
        "--token-url",
        &token,
    ])
    .expect("config");
    let http = reqwest::Client::new();
    let endpoints = Endpoints::resolve(&http, &config).await.expect("endpoints");
    let secret = ClientSecret::new("s3cr+t/ %");
    let client = oauth_client(&config, &endpoints, &secret).expect("client");
    let tokens = exchange_code(&client, &http, "code".into(), "v".repeat(43))
        .await
        .expect("exchange");
    assert_eq!(tokens.access_token.expose(), "at");
    let expected =
        base64::engine::general_purpose::STANDARD.encode("bff%3Aclient+%C3%A9:s3cr%2Bt%2F+%25");
    assert_eq!(
        seen.lock().expect("lock").as_deref(),
        Some(format!("Basic {expected}").as_str())
    );
}
