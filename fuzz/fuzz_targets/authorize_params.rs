//! The authorization request's query (RFC 6749 §4.1.1, RFC 7636 §4.3): strict parameter
//! parsing and the checks that need no database — scope, PKCE challenge, redirect URI
//! against a registered set, the error redirect built from it. Never a panic.
#![no_main]

use latchkey_provider::params::Params;
use latchkey_provider::redirect_uri::{is_registered, validate_registration, with_params};
use latchkey_provider::{pkce, scope::Scopes};
use libfuzzer_sys::fuzz_target;

const REGISTERED: [&str; 3] = [
    "http://localhost:3000/auth/callback",
    "http://127.0.0.1/native",
    "com.example.app:/cb",
];

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    let registered: Vec<String> = REGISTERED.iter().map(|s| (*s).to_owned()).collect();
    if let Some(scope) = params.get("scope") {
        let _ = Scopes::parse(scope);
    }
    if let Some(challenge) = params.get("code_challenge") {
        let _ = pkce::is_valid_challenge(challenge);
        if let Some(verifier) = params.get("code_verifier") {
            let _ = pkce::is_valid_verifier(verifier);
            let _ = pkce::verify_s256(verifier, challenge);
        }
    }
    if let Some(uri) = params.get("redirect_uri") {
        let _ = validate_registration(uri);
        if is_registered(uri, &registered) {
            let state = params.get("state").unwrap_or_default();
            let target = with_params(uri, &[("error", "invalid_scope"), ("state", state)]);
            assert!(!target.is_empty());
        }
    }
});
