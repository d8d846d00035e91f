//! Properties of the BFF's parsers of attacker input, on generated cases (proptest,
//! modest case counts):
//! - no `/api/*` path that passes the path rules is forwarded to a target that, after any
//!   number of percent-decodings, backslash/look-alike/overlong folding, `;params`
//!   stripping and dot-segment removal (RFC 3986 §5.2.4), leaves its upstream's base;
//!   plain paths are forwarded unchanged (no false refusals);
//! - opening a sealed session record never panics, round-trips, and refuses any change;
//! - cookie parsing never panics, and when the fast path finds a session ticket the
//!   cookie parser the slow path uses sees exactly that one cookie;
//! - the raw lane's head parsers and chunk relay never panic on any bytes, never claim
//!   more bytes than they were given, take no request that carries body framing, and
//!   relay a chunked body the same whatever the read sizes.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use latchkey_bff::http::raw::{chunks::Chunks, wire};
use latchkey_bff::http::{cookies, fast};
use latchkey_bff::proxy::{path, routes::Routes};
use latchkey_bff::session::ticket::{Keyring, Kind, ServerKey};
use proptest::prelude::*;
use tower_sessions::session::Id;
use url::Url;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn routes() -> Routes {
    Routes::new(
        Some(Url::parse("http://up.example/base").unwrap()),
        &["svc=http://svc.example/svc-base/".to_owned()],
    )
    .unwrap()
}

/// Everything some server might read a byte sequence as: decoded up to 8 times, overlong
/// UTF-8 and look-alike dots folded, backslashes as slashes.
fn every_reading(path: &str) -> String {
    let mut bytes = path.as_bytes().to_vec();
    for _ in 0..8 {
        bytes = percent_encoding::percent_decode(&bytes).collect();
    }
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    for (from, to) in [
        ("\u{FF0E}", "."),
        ("\u{2024}", "."),
        ("\u{FE52}", "."),
        ("\\", "/"),
    ] {
        s = s.replace(from, to);
    }
    // Overlong forms of '.' and '/' (C0 AE, E0 80 AE, C0 AF) were made U+FFFD by the
    // lossy conversion: read each replacement character as a dot, the worst case.
    s.replace('\u{FFFD}', ".")
}

/// RFC 3986 §5.2.4 on segments, with Tomcat's `..;x` read as `..`.
fn normalised_segments(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for segment in path.split('/') {
        let name = segment.split(';').next().unwrap_or_default();
        match name {
            "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(segment.to_owned()),
        }
    }
    out
}

fn stays_under(path: &str, base: &str) -> bool {
    let segments = normalised_segments(&every_reading(path));
    let base: Vec<&str> = base.split('/').collect();
    segments.len() >= base.len() && segments.iter().zip(&base).all(|(a, b)| a == b)
}

fn tricky_path() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "a",
        "b",
        "svc",
        "..",
        ".",
        "/",
        "//",
        "%2e",
        "%2E",
        "%252e",
        "%25",
        "%2f",
        "%2F",
        "%5c",
        "\\",
        ";",
        ";x",
        "%3b",
        "%c0%ae",
        "%c0%af",
        "%e0%80%ae",
        "%u002e",
        "\u{FF0E}",
        "%ef%bc%8e",
        "%e2%80%a4",
        "~",
        "%00",
        "%",
        "%41",
        "%2",
        "x.",
        ".x",
        "...",
        "%20",
        "%252f",
        "%25252e",
    ]);
    prop::collection::vec(tokens, 1..12).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_forwarded_path_escapes_its_upstream_base(rest in tricky_path()) {
        let routes = routes();
        if path::check(&rest).is_err() {
            return Ok(());
        }
        if let Some(target) = routes.target(&rest, None) {
            let base = match target.host() {
                Some("up.example") => "/base",
                Some("svc.example") => "/svc-base",
                other => panic!("unexpected host {other:?}"),
            };
            prop_assert!(
                stays_under(target.path(), base),
                "{:?} → {} escapes {}",
                rest,
                target,
                base
            );
        }
    }

    #[test]
    fn plain_paths_are_forwarded_unchanged(segments in prop::collection::vec("[a-z0-9_-]{1,8}", 0..6)) {
        let rest = segments.join("/");
        prop_assert_eq!(path::check(&rest), Ok(()));
        let target = routes().target(&rest, None).unwrap();
        let expected = if rest == "svc" || rest.starts_with("svc/") {
            format!("http://svc.example/svc-base/{}", rest.trim_start_matches("svc").trim_start_matches('/'))
        } else {
            format!("http://up.example/base/{rest}")
        };
        prop_assert_eq!(target.to_string(), expected);
    }

    #[test]
    fn sealed_records_open_only_unchanged(
        plain in prop::collection::vec(any::<u8>(), 0..300),
        garbage in ".{0,200}",
        flip in any::<prop::sample::Index>(),
        key in any::<[u8; 32]>(),
    ) {
        let ticket = Id::default();
        let server_key = ServerKey::parse(&base64_key(&key)).unwrap();
        for keys in [Keyring::default(), Keyring::new(vec![server_key])] {
            let derived = keys.derive(&ticket, Kind::Session);
            prop_assert!(derived.open(&garbage).is_none());
            let sealed = derived.seal(&plain);
            prop_assert_eq!(derived.open(&sealed), Some(plain.clone()));
            // Any one character changed: refused.
            let mut chars: Vec<char> = sealed.chars().collect();
            let i = flip.index(chars.len());
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let tampered: String = chars.into_iter().collect();
            prop_assert!(derived.open(&tampered).is_none(), "{} opened", tampered);
            // Another kind or another ticket opens nothing.
            prop_assert!(keys.derive(&ticket, Kind::Login).open(&sealed).is_none());
            prop_assert!(keys.derive(&Id::default(), Kind::Session).open(&sealed).is_none());
        }
    }

    #[test]
    fn cookie_parsing_never_panics_and_both_parsers_agree(
        parts in prop::collection::vec(cookie_part(), 0..6),
        headers in 1..3usize,
    ) {
        let name = "latchkey-bff";
        let mut request = Request::builder().uri("/api/x");
        let per = parts.len().div_ceil(headers).max(1);
        for chunk in parts.chunks(per) {
            if let Ok(value) = HeaderValue::from_str(&chunk.join(";")) {
                request = request.header(header::COOKIE, value);
            }
        }
        let request = request.body(Body::empty()).unwrap();
        let count = cookies::count(request.headers(), name);
        if let Some(ticket) = fast::ticket(&request, name) {
            prop_assert_eq!(count, 1, "the fast path found one cookie, the slow path {}", count);
            let value = request
                .headers()
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()))
                .filter_map(Result::ok)
                .find(|c| c.name() == name)
                .map(|c| c.value().to_owned())
                .unwrap();
            prop_assert_eq!(value.parse::<Id>().ok(), Some(ticket));
        }
    }
}

fn base64_key(key: &[u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn cookie_part() -> impl Strategy<Value = String> {
    let id = Id::default().to_string();
    prop_oneof![
        Just(format!("latchkey-bff={id}")),
        Just(format!(" latchkey-bff={id} ")),
        Just(format!("latchkey-bff =\"{id}\"")),
        Just(format!("latchkey-bff=\"{id}\"")),
        Just("latchkey-bff=".to_owned()),
        Just("latchkey-bff".to_owned()),
        Just(format!("latchkey-bff-login={id}")),
        Just(format!("LATCHKEY-BFF={id}")),
        Just(format!("x=1, latchkey-bff={id}")),
        "[ -~]{0,30}",
    ]
}

/// Request heads near the raw lane's edge: real field names in odd spellings.
fn request_head() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("Content-Length: 0".to_owned()),
        Just("content-length:5".to_owned()),
        Just("Transfer-Encoding: chunked".to_owned()),
        Just("TRANSFER-ENCODING : chunked".to_owned()),
        Just("Connection: keep-alive".to_owned()),
        Just("Connection: close".to_owned()),
        Just("Expect: 100-continue".to_owned()),
        Just("Cookie: latchkey-bff=x".to_owned()),
        r"[!-~]{1,12}: [ -~\t]{0,20}",
        r"[\x00-\xff]{0,8}",
    ];
    let line = prop_oneof![
        Just("GET /api/x HTTP/1.1".to_owned()),
        Just("HEAD /api/x?y HTTP/1.1".to_owned()),
        Just("GET /api/x HTTP/1.0".to_owned()),
        "(GET|HEAD|POST|get) /[ -~]{0,20} HTTP/1.[01]",
    ];
    (
        line,
        prop::collection::vec(field, 0..8),
        r"(\r\n\r\n|\r\n|\n\n|)[\x00-\xff]{0,10}",
    )
        .prop_map(|(line, fields, tail)| {
            format!(
                "{line}\r\n{}{tail}",
                fields
                    .iter()
                    .map(|f| format!("{f}\r\n"))
                    .collect::<String>()
            )
            .into_bytes()
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn raw_request_heads_are_taken_only_when_plain(bytes in request_head()) {
        if let wire::Parsed::Complete(head) = wire::parse_request(&bytes) {
            prop_assert!(head.len <= bytes.len());
            prop_assert!(head.uri.path().starts_with("/api/"));
            for name in ["content-length", "transfer-encoding", "expect", "upgrade"] {
                prop_assert!(!head.headers.contains_key(name), "{} taken", name);
            }
            if let Some(c) = head.headers.get("connection") {
                prop_assert!(c.as_bytes().eq_ignore_ascii_case(b"keep-alive"));
            }
        }
    }

    #[test]
    fn raw_parsers_never_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300), head_only: bool, cors: bool) {
        if let wire::Parsed::Complete(head) = wire::parse_request(&bytes) {
            prop_assert!(head.len <= bytes.len());
        }
        if let Ok(Some(response)) = wire::parse_response(&bytes, head_only, cors) {
            prop_assert!(response.len <= bytes.len());
            let text = String::from_utf8_lossy(&response.head).to_ascii_lowercase();
            prop_assert!(!text.contains("\nset-cookie:"), "{}", text);
            prop_assert!(text.ends_with("\r\n\r\n"));
        }
        let mut chunks = Chunks::default();
        let mut out = Vec::new();
        if let Ok(used) = chunks.feed(&bytes, &mut out) {
            prop_assert!(used <= bytes.len());
        }
    }

    #[test]
    fn a_chunked_body_relays_the_same_in_any_pieces(
        data in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..6),
        step in 1usize..17,
    ) {
        let mut body = Vec::new();
        for chunk in &data {
            body.extend_from_slice(format!("{:X};x=y\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\nTrailer: t\r\n\r\n");
        let relay = |step: usize| {
            let mut chunks = Chunks::default();
            let (mut out, mut pending) = (Vec::new(), Vec::new());
            for piece in body.chunks(step) {
                pending.extend_from_slice(piece);
                let used = chunks.feed(&pending, &mut out).unwrap();
                pending.drain(..used);
            }
            assert!(chunks.done() && pending.is_empty());
            out
        };
        let whole = relay(body.len());
        prop_assert_eq!(&relay(step), &whole);
        let mut expected = Vec::new();
        for chunk in &data {
            expected.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            expected.extend_from_slice(chunk);
            expected.extend_from_slice(b"\r\n");
        }
        expected.extend_from_slice(b"0\r\n\r\n");
        prop_assert_eq!(whole, expected);
    }
}
