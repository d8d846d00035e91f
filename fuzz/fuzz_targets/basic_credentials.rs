//! HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617): the `Authorization` header
//! value, with and without body parameters. Never a panic, never a NUL in what passes.
#![no_main]

use latchkey_provider::client_auth::credentials;
use latchkey_provider::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let none = Params::default();
    let body = Params::parse(b"client_id=bff&grant_type=refresh_token").unwrap_or_default();
    for params in [&none, &body] {
        if let Ok(creds) = credentials(Some(header), params) {
            assert!(!creds.client_id.contains('\0'));
            assert!(
                creds
                    .secret
                    .as_ref()
                    .is_none_or(|s| !s.expose().contains('\0'))
            );
        }
    }
});
