//! `POST /auth/backchannel-logout` over HTTP, two BFF replicas on one real Redis: a good
//! logout token ends the user's session on both replicas (near caches included), its
//! replay is refused on the other replica, and forged or malformed ones end nothing.
//!
//! The tokens are made here: the BFFs take their JWKS from a test server holding the
//! fixture keys (`--jwks-url`), so each claim rule is reached past a valid signature.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Bff, BffOptions, CLIENT_ID, Provider, serve};
use crate::sessions::{login_with_cookie, session_status};
use crate::{loud, redis, unix_now};

const RSA_PEM: &str = include_str!("../../../bff/tests/fixtures/id_token_test_rsa.pem");
const JWKS: &str = include_str!("../../../bff/tests/fixtures/id_token_test_jwks.json");
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some("logout+jwt".into());
    header
}

fn sign_with(kid: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header(Algorithm::RS256, kid), claims, &key).unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with("test-rsa", claims)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Posts a raw body with a content type; returns the status and the JSON body.
async fn post(bff: &Bff, content_type: &str, body: Vec<u8>) -> (StatusCode, Value, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/backchannel-logout", bff.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, cache)
}

async fn post_token(bff: &Bff, token: &str) -> (StatusCode, Value, String) {
    let body = format!("logout_token={token}").into_bytes();
    post(bff, "application/x-www-form-urlencoded", body).await
}

/// A JWKS server with the fixture keys; counts its requests.
async fn jwks_server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/jwks",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { ([("content-type", "application/json")], JWKS) }
        }),
    );
    (format!("{}/jwks", serve(router).await), hits)
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in metrics"))
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_tokens_end_sessions_on_every_replica_once_and_forgeries_nothing() {
    let Some(url) = redis::url(
        3,
        "logout_tokens_end_sessions_on_every_replica_once_and_forgeries_nothing",
    ) else {
        return;
    };
    redis::flush(&url).await;
    let provider = Provider::start(3600).await;
    let (jwks, jwks_hits) = jwks_server().await;
    let options = BffOptions {
        redis_url: Some(url.clone()),
        // Long enough that only Redis client tracking can drop replica A's cached copy.
        extra_args: vec![
            "--jwks-url".into(),
            jwks,
            "--session-cache-seconds".into(),
            "600".into(),
        ],
        ..BffOptions::default()
    };
    let a = Bff::start(&provider, options.clone()).await;
    let b = Bff::start(&provider, options).await;
    let (_client, cookie) = login_with_cookie(&a).await;
    // Warm both near caches.
    assert_eq!(session_status(&a, &cookie).await, StatusCode::OK);
    assert_eq!(session_status(&b, &cookie).await, StatusCode::OK);
    let session: Value = reqwest::Client::new()
        .get(format!("{}/auth/session", a.url))
        .header("cookie", format!("latchkey-bff={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sub = match &session["user"]["sub"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("sub: {other}"),
    };
    let issuer: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        provider.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let issuer = issuer["issuer"].as_str().unwrap().to_owned();
    let good = |jti: &str| {
        json!({
            "iss": issuer, "aud": CLIENT_ID, "iat": unix_now(), "exp": unix_now() + 120,
            "jti": jti, "sub": sub, "events": {EVENT: {}},
        })
    };
    let with = |key: &str, value: Value| {
        let mut c = good(&format!("forged-{key}"));
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good(&format!("forged-no-{key}"));
        c.as_object_mut().unwrap().remove(key);
        c
    };

    // Forgeries and malformed bodies: 400 invalid_request, the session lives on.
    let valid_parts = sign(&good("parts"));
    let parts: Vec<&str> = valid_parts.split('.').collect();
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"logout+jwt"}"#),
        parts[1]
    );
    let hs_public = jsonwebtoken::encode(
        &header(Algorithm::HS256, "test-rsa"),
        &good("hs"),
        &EncodingKey::from_secret(JWKS.as_bytes()).unwrap(),
    )
    .unwrap();
    let other_key = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let other_der = other_key.to_pkcs8v1().unwrap();
    let wrong_key = jsonwebtoken::encode(
        &header(Algorithm::ES256, "test-ec"),
        &good("wrong-key"),
        &EncodingKey::from_ec_der(other_der.as_ref()),
    )
    .unwrap();
    let mut nested = good("nested");
    nested["events"] = json!({EVENT: true});
    let neither = without("sub");
    let tokens: Vec<(&str, String)> = vec![
        ("wrong key", wrong_key),
        ("alg none", none),
        ("HS256 with the public JWKS as secret", hs_public),
        ("missing events", sign(&without("events"))),
        ("events member not an object", sign(&nested)),
        ("nonce present", sign(&with("nonce", json!("n")))),
        ("wrong aud", sign(&with("aud", json!("another-app")))),
        (
            "wrong iss",
            sign(&with("iss", json!("https://evil.example"))),
        ),
        ("stale iat", sign(&with("iat", json!(unix_now() - 3600)))),
        (
            "iat in the future",
            sign(&with("iat", json!(unix_now() + 3600))),
        ),
        ("expired", sign(&with("exp", json!(unix_now() - 600)))),
        ("no jti", sign(&without("jti"))),
        ("neither sub nor sid", sign(&neither)),
        (
            "tampered",
            format!("{}.{}.{}", parts[0], b64(b"{}"), parts[2]),
        ),
    ];
    for (what, token) in &tokens {
        let (status, body, _) = post_token(&b, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["error"], "invalid_request", "{what}: {body}");
    }
    let good_token = sign(&good("the-real-one"));
    let form = "application/x-www-form-urlencoded";
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "duplicate field",
            form,
            format!("logout_token={good_token}&logout_token={good_token}").into_bytes(),
        ),
        (
            "huge body",
            form,
            format!("logout_token={good_token}&pad={}", "x".repeat(64 * 1024)).into_bytes(),
        ),
        (
            "NUL in the token",
            form,
            format!("logout_token={}%00", good_token).into_bytes(),
        ),
        (
            "JSON, not a form",
            "application/json",
            json!({"logout_token": good_token}).to_string().into_bytes(),
        ),
        ("no token", form, b"token=x".to_vec()),
        ("empty body", form, Vec::new()),
    ];
    for (what, content_type, body) in bodies {
        let (status, answer, _) = post(&b, content_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{what}: {answer}");
    }
    // A burst of well-signed tokens naming unknown key ids: at most one JWKS refetch.
    let fetches_before = jwks_hits.load(Ordering::SeqCst);
    let burst = (0..40).map(|n| {
        let token = sign_with(&format!("rotated-{n}"), &good(&format!("burst-{n}")));
        let b = &b;
        async move { post_token(b, &token).await.0 }
    });
    for status in futures_util::future::join_all(burst).await {
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let refetches = jwks_hits.load(Ordering::SeqCst) - fetches_before;
    assert!(
        refetches <= 1,
        "{refetches} JWKS fetches for 40 unknown key ids"
    );
    assert_eq!(
        session_status(&a, &cookie).await,
        StatusCode::OK,
        "no forgery ended it"
    );
    assert_eq!(session_status(&b, &cookie).await, StatusCode::OK);
    let metrics = b.metrics().await;
    assert_eq!(metric(&metrics, "bff_backchannel_logouts_total"), 0);
    assert!(metric(&metrics, "bff_backchannel_logout_refused_total") >= 60);

    // The real one, posted to replica B: 200 no-store, and replica A (whose near cache
    // holds the session) stops answering for it.
    let (status, _, cache) = post_token(&b, &good_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cache, "no-store");
    let posted = Instant::now();
    let deadline = posted + Duration::from_secs(1);
    loop {
        if session_status(&a, &cookie).await == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica A still answers after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    loud(&format!(
        "back-channel logout at replica B seen by replica A after {:?}",
        posted.elapsed()
    ));
    assert_eq!(session_status(&b, &cookie).await, StatusCode::UNAUTHORIZED);
    let metrics = b.metrics().await;
    assert_eq!(metric(&metrics, "bff_backchannel_logouts_total"), 1);
    assert_eq!(
        metric(&metrics, "bff_backchannel_logout_sessions_ended_total"),
        1
    );
    // Replayed at the other replica: refused (the jti is in Redis, not in B's memory).
    let (status, body, _) = post_token(&a, &good_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "replay: {body}");
    assert_eq!(body["error_description"], "logout token already used");
    let jtis = redis::keys(&url)
        .await
        .into_iter()
        .filter(|k| k.starts_with("latchkey-bff:jti:"))
        .count();
    assert_eq!(jtis, 1, "only the accepted token's jti is remembered");
    let ttl = redis::integer(
        &url,
        &[
            "TTL",
            &redis::keys(&url)
                .await
                .into_iter()
                .find(|k| k.starts_with("latchkey-bff:jti:"))
                .unwrap(),
        ],
    )
    .await;
    assert!((300..=420).contains(&ttl), "jti TTL {ttl}");
}
