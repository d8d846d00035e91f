//! Each rule of Back-Channel Logout 1.0 §2.6, against tokens signed here with the
//! fixture keys (bff/tests/fixtures).
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::oauth::jwks::parse_jwks;

const RSA_PEM: &str = include_str!("../../../tests/fixtures/id_token_test_rsa.pem");
const EC_PEM: &str = include_str!("../../../tests/fixtures/id_token_test_ec.pem");
const JWKS: &str = include_str!("../../../tests/fixtures/id_token_test_jwks.json");
const ISSUER: &str = "http://127.0.0.1:8000";
const CLIENT: &str = "bff";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn keys() -> Vec<Jwk> {
    parse_jwks(&serde_json::from_str(JWKS).unwrap())
}

fn now() -> i64 {
    crate::session::now()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT, "iat": now(), "exp": now() + 120, "jti": "jti-1",
        "sub": "42", "sid": "op-session-1", "events": {BACKCHANNEL_EVENT: {}},
    })
}

fn header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some("logout+jwt".into());
    header
}

fn sign(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header(Algorithm::RS256, "test-rsa"), claims, &key).unwrap()
}

fn check(token: &str) -> Result<Logout, Invalid> {
    validate(token, &keys(), ISSUER, CLIENT, now())
}

fn refused(claims: &Value, why: &str) {
    let result = check(&sign(claims));
    assert!(
        matches!(result, Err(Invalid::Token(_))),
        "{why}: {result:?}"
    );
}

fn with(key: &str, value: Value) -> Value {
    let mut c = claims();
    c[key] = value;
    c
}

fn without(key: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(key);
    c
}

#[test]
fn a_valid_token_names_what_to_end() {
    let logout = check(&sign(&claims())).unwrap();
    assert_eq!(
        logout,
        Logout {
            sub: Some("42".into()),
            sid: Some("op-session-1".into()),
            jti: "jti-1".into(),
        }
    );
    // sid alone, sub alone; aud as a list containing us; no exp (pre-errata providers).
    assert_eq!(check(&sign(&without("sub"))).unwrap().sub, None);
    assert_eq!(check(&sign(&without("sid"))).unwrap().sid, None);
    check(&sign(&with("aud", json!(["api", CLIENT])))).unwrap();
    check(&sign(&without("exp"))).unwrap();
    // ES256 and an untyped header are fine too.
    let key = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap();
    let mut untyped = header(Algorithm::ES256, "test-ec");
    untyped.typ = None;
    check(&jsonwebtoken::encode(&untyped, &claims(), &key).unwrap()).unwrap();
}

#[test]
fn each_rule_of_section_2_6() {
    refused(
        &with("iss", json!("http://127.0.0.1:8000/o")),
        "iss differs",
    );
    refused(&without("iss"), "no iss");
    refused(&with("aud", json!("another-client")), "aud lacks us");
    refused(&with("aud", json!(["a", "b"])), "aud list lacks us");
    refused(&without("aud"), "no aud");
    refused(&without("iat"), "no iat");
    refused(&with("iat", json!("now")), "iat not a number");
    refused(&with("iat", json!(now() + 120)), "iat in the future");
    refused(&with("iat", json!(now() - 3600)), "iat stale");
    refused(&with("exp", json!(now() - 120)), "expired");
    refused(&without("events"), "no events");
    refused(&with("events", json!({})), "events lacks the member");
    refused(
        &with("events", json!([BACKCHANNEL_EVENT])),
        "events not an object",
    );
    refused(
        &with("events", json!({BACKCHANNEL_EVENT: true})),
        "member not an object",
    );
    refused(
        &with(
            "events",
            json!({"http://schemas.openid.net/event/other": {}}),
        ),
        "another event",
    );
    refused(&with("nonce", json!("n")), "nonce present");
    refused(&with("nonce", Value::Null), "nonce present, even null");
    let mut neither = without("sub");
    neither.as_object_mut().unwrap().remove("sid");
    refused(&neither, "neither sub nor sid");
    refused(&with("sub", json!(42)), "sub not a string");
    refused(&with("sid", json!("")), "empty sid");
    refused(&with("sid", json!("s".repeat(300))), "oversized sid");
    refused(&without("jti"), "no jti");
    refused(&with("jti", json!("a\0b")), "NUL in jti");
    refused(&with("sid", json!("s\nid")), "newline in sid");
    refused(&with("jti", json!({"a": 1})), "jti not a string");
    // Inside the windows: iat a little in the future (clock skew) or minutes old.
    check(&sign(&with("iat", json!(now() + 30)))).unwrap();
    check(&sign(&with("iat", json!(now() - MAX_AGE_SECONDS)))).unwrap();
    assert!(JTI_TTL_SECONDS >= (MAX_AGE_SECONDS + 2 * LEEWAY).cast_unsigned());
}

#[test]
fn signatures_algorithms_and_types() {
    let token = sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    // Tampered payload.
    let forged = b64(&serde_json::to_vec(&with("sub", json!("1"))).unwrap());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert!(matches!(check(&tampered), Err(Invalid::Token(_))));
    // alg none, with or without a signature.
    let none = b64(br#"{"alg":"none","typ":"logout+jwt"}"#);
    assert!(check(&format!("{none}.{}.", parts[1])).is_err());
    assert!(check(&format!("{none}.{}.{}", parts[1], parts[2])).is_err());
    // HS256 "signed" with the public key as the secret (key confusion) and with any secret.
    for secret in [JWKS.as_bytes(), b"client-secret"] {
        let hs = jsonwebtoken::encode(
            &header(Algorithm::HS256, "test-rsa"),
            &claims(),
            &EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap();
        assert!(matches!(check(&hs), Err(Invalid::Token(_))), "HS256");
    }
    // Another key (a fresh EC key, not in the JWKS) under a known kid.
    let other = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = other.to_pkcs8v1().unwrap();
    let wrong = jsonwebtoken::encode(
        &header(Algorithm::ES256, "test-ec"),
        &claims(),
        &EncodingKey::from_ec_der(der.as_ref()),
    )
    .unwrap();
    assert!(matches!(check(&wrong), Err(Invalid::Token(_))), "wrong key");
    // An unknown kid: the caller may refetch the JWKS.
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    let rotated =
        jsonwebtoken::encode(&header(Algorithm::RS256, "rotated"), &claims(), &key).unwrap();
    assert!(matches!(check(&rotated), Err(Invalid::UnknownKey(_))));
    // An ID Token's type, or any other, is refused.
    let mut jwt = header(Algorithm::RS256, "test-rsa");
    jwt.typ = Some("JWT".into());
    let typed = jsonwebtoken::encode(&jwt, &claims(), &key).unwrap();
    assert!(matches!(check(&typed), Err(Invalid::Token(_))), "typ JWT");
    // Garbage and oversized input.
    for junk in ["", "a.b", "a.b.c", "\0.\0.\0", "...."] {
        assert!(check(junk).is_err(), "{junk:?}");
    }
    let long = format!("{}.{}.{}", parts[0], "A".repeat(MAX_TOKEN_BYTES), parts[2]);
    assert!(matches!(check(&long), Err(Invalid::Token(_))));
}
