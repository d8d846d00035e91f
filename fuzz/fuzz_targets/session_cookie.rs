//! The session cookie and its sealed record: `Cookie` header bytes as the fast path and
//! the slow path (cookie crate) read them, the ticket parsed from them, and a stored
//! value opened with the derived key. Never a panic; the two parsers never disagree
//! when the fast path finds a ticket; nothing but a sealed record opens.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use latchkey_bff::http::{cookies, fast};
use latchkey_bff::session::ticket::{Keyring, Kind};
use libfuzzer_sys::fuzz_target;
use tower_sessions::session::Id;

const NAME: &str = "latchkey-bff";

fuzz_target!(|data: &[u8]| {
    let mut request = Request::builder().uri("/api/x");
    for part in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            request = request.header(header::COOKIE, value);
        }
    }
    let Ok(request) = request.body(Body::empty()) else {
        return;
    };
    let count = cookies::count(request.headers(), NAME);
    if let Some(ticket) = fast::ticket(&request, NAME) {
        assert_eq!(
            count, 1,
            "fast path found one session cookie, the slow path {count}"
        );
        let _ = ticket;
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Id>();
        let derived = Keyring::default().derive(&Id(7), Kind::Session);
        assert!(derived.open(text).is_none(), "an unsealed value opened");
    }
});
