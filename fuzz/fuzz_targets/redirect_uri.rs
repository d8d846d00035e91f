//! Redirect URI matching (RFC 9700 §4.1.3, RFC 8252 §7.3): `registered\nrequested`.
//! Accepted only when byte-equal, or an `http://` loopback literal with another port.
#![no_main]

use latchkey_provider::redirect_uri::{is_registered, validate_registration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (registered, requested) = text.split_once('\n').unwrap_or((text, text));
    let _ = validate_registration(registered);
    if is_registered(requested, &[registered.to_owned()]) && requested != registered {
        let loopback = |s: &str| s.starts_with("http://127.") || s.starts_with("http://[");
        assert!(
            loopback(requested) && loopback(registered),
            "{requested:?} accepted for {registered:?}"
        );
        let strip = |s: &str| {
            let rest = &s["http://".len()..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let host = authority.rsplit_once(':').map_or(authority, |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    authority
                }
            });
            (host.to_owned(), tail.to_owned())
        };
        assert_eq!(
            strip(requested),
            strip(registered),
            "more than the port differs"
        );
    }
});
