//! ID Token validation against tokens signed in the test with the fixture keys.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const RSA_PEM: &str = include_str!("../../../tests/fixtures/id_token_test_rsa.pem");
const EC_PEM: &str = include_str!("../../../tests/fixtures/id_token_test_ec.pem");
const JWKS: &str = include_str!("../../../tests/fixtures/id_token_test_jwks.json");
const ISSUER: &str = "http://127.0.0.1:8000/o";
const CLIENT: &str = "bff";
const NONCE: &str = "n-0S6_WzA2Mj";

fn keys() -> Vec<Jwk> {
    parse_jwks(&serde_json::from_str(JWKS).unwrap())
}

fn now() -> i64 {
    crate::session::now()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "42", "aud": CLIENT, "exp": now() + 300, "iat": now(),
        "nonce": NONCE, "preferred_username": "alice", "email": "alice@example.test",
        "groups": ["admins"], "at_hash": "x",
    })
}

fn sign_rs(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn sign_es(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-ec".into());
    let key = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn check(token: &str) -> Result<Value, Invalid> {
    let expected = Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: Some(NONCE),
    };
    validate(token, &keys(), &expected, now()).map(|v| v.user)
}

fn refused(claims: &Value, why: &str) {
    let result = check(&sign_rs(claims, Some("test-rsa")));
    assert!(
        matches!(result, Err(Invalid::Token(_))),
        "{why}: {result:?}"
    );
}

#[test]
fn valid_rs256_and_es256_tokens_give_minimal_claims() {
    let user = check(&sign_rs(&claims(), Some("test-rsa"))).unwrap();
    assert_eq!(
        user,
        json!({"sub": "42", "preferred_username": "alice", "email": "alice@example.test"})
    );
    assert_eq!(check(&sign_es(&claims())).unwrap()["sub"], "42");
}

#[test]
fn sid_is_kept_apart_from_the_user_claims() {
    let mut c = claims();
    c["sid"] = json!("op-session-1");
    let expected = Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: Some(NONCE),
    };
    let verified = validate(&sign_rs(&c, Some("test-rsa")), &keys(), &expected, now()).unwrap();
    assert_eq!(verified.sid.as_deref(), Some("op-session-1"));
    assert!(verified.user.get("sid").is_none(), "{:?}", verified.user);
    c["sid"] = json!("x".repeat(300));
    let verified = validate(&sign_rs(&c, Some("test-rsa")), &keys(), &expected, now()).unwrap();
    assert_eq!(verified.sid, None, "an oversized sid is not kept");
}

#[test]
fn each_rule_of_oidc_core_3_1_3_7() {
    let with = |key: &str, value: Value| {
        let mut c = claims();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    refused(&with("iss", json!("http://127.0.0.1:8000")), "iss differs");
    refused(&with("aud", json!("another-client")), "aud lacks us");
    refused(&with("aud", json!([CLIENT, "api"])), "several aud, no azp");
    refused(
        &with("azp", json!("another-client")),
        "azp is another client",
    );
    refused(&with("exp", json!(now() - 120)), "expired");
    refused(&without("exp"), "no exp");
    refused(&with("iat", json!(now() + 600)), "iat in the future");
    refused(&with("iat", json!(now() - 3600)), "iat too old");
    refused(&with("nonce", json!("another")), "nonce mismatch");
    refused(&without("nonce"), "nonce missing");
    refused(&without("sub"), "no sub");
    // Several audiences with azp = us is fine (step 4–5).
    let mut c = with("aud", json!([CLIENT, "api"]));
    c["azp"] = json!(CLIENT);
    check(&sign_rs(&c, Some("test-rsa"))).unwrap();
}

#[test]
fn signatures_keys_and_algorithms() {
    // Tampered payload: the signature no longer matches.
    let token = sign_rs(&claims(), Some("test-rsa"));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut c = claims();
        c["sub"] = json!("1");
        engine.encode(serde_json::to_vec(&c).unwrap())
    };
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert!(matches!(check(&tampered), Err(Invalid::Token(_))));
    // Signed by the EC key but naming the RSA key id.
    let es = sign_es(&claims());
    let es_parts: Vec<&str> = es.split('.').collect();
    let header = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"RS256","kid":"test-rsa","typ":"JWT"}"#)
    };
    let mixed = format!("{header}.{}.{}", es_parts[1], es_parts[2]);
    assert!(matches!(check(&mixed), Err(Invalid::Token(_))));
    // HS256 with any secret and `none` are refused outright.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"client-secret").unwrap(),
    )
    .unwrap();
    assert!(matches!(check(&hs), Err(Invalid::Token(_))));
    let none = format!("eyJhbGciOiJub25lIn0.{}.", parts[1]);
    assert!(check(&none).is_err());
    // Unknown kid → UnknownKey (the caller refetches the JWKS once).
    let unknown = sign_rs(&claims(), Some("rotated"));
    assert!(matches!(check(&unknown), Err(Invalid::UnknownKey(_))));
    // No kid: the only RSA key is unambiguous.
    check(&sign_rs(&claims(), None)).unwrap();
}

#[tokio::test]
async fn jwks_is_cached_and_refetched_once_on_unknown_kid() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::Json(serde_json::from_str::<Value>(JWKS).unwrap()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let jwks = Url::parse(&format!("http://{addr}/jwks")).unwrap();
    let verifier = Verifier::new(Some(ISSUER.into()), CLIENT.into(), Some(jwks));
    let http = reqwest::Client::new();
    let good = IdToken::new(sign_rs(&claims(), Some("test-rsa")));
    verifier.verify(&http, &good, Some(NONCE)).await.unwrap();
    verifier.verify(&http, &good, Some(NONCE)).await.unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "cached after the first fetch"
    );
    let unknown = IdToken::new(sign_rs(&claims(), Some("rotated")));
    let result = verifier.verify(&http, &unknown, Some(NONCE)).await;
    assert!(matches!(result, Err(Invalid::UnknownKey(_))), "{result:?}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "one refetch per unknown kid"
    );
    // Wrong nonce with a known key: no fetch at all.
    assert!(verifier.verify(&http, &good, Some("x")).await.is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
