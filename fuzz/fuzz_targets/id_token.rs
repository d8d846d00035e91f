//! ID Token validation (OIDC Core §3.1.3.7). First byte even: the input is the token as
//! received (header, kid, algorithm, encoding). Odd: the rest is the claims JSON, signed
//! with the test key, so claim parsing and every claim check are reached. Never a panic;
//! what passes has the expected issuer, audience and nonce.
#![no_main]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_bff::oauth::id_token::{Expected, parse_jwks, validate};
use libfuzzer_sys::fuzz_target;

const EC_PEM: &str = include_str!("../../bff/tests/fixtures/id_token_test_ec.pem");
const JWKS: &str = include_str!("../../bff/tests/fixtures/id_token_test_jwks.json");

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keys = parse_jwks(&serde_json::from_str(JWKS).unwrap());
    let token = if mode % 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else {
            return;
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("test-ec".into());
        let key = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let expected = Expected {
        issuer: "http://127.0.0.1:8000/o",
        client_id: "bff",
        nonce: Some("n-0S6_WzA2Mj"),
    };
    if let Ok(verified) = validate(&token, &keys, &expected, 1_800_000_000) {
        assert!(verified.user.is_object());
        let claims = token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["iss"], "http://127.0.0.1:8000/o");
        assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    }
});
