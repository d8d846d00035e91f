//! The BFF's `/api/*` path rules and route table: `rest[?query]`. What passes must stay
//! under its upstream's base after any number of decodings, backslash/look-alike/overlong
//! folding, `;params` stripping and dot-segment removal (RFC 3986 §5.2.4).
#![no_main]

use latchkey_bff::proxy::{path, routes::Routes};
use libfuzzer_sys::fuzz_target;
use url::Url;

fn every_reading(p: &str) -> String {
    let mut bytes = p.as_bytes().to_vec();
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
    s.replace('\u{FFFD}', ".")
}

fn stays_under(p: &str, base: &str) -> bool {
    let mut out: Vec<&str> = Vec::new();
    let reading = every_reading(p);
    for segment in reading.split('/') {
        match segment.split(';').next().unwrap_or_default() {
            "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(segment),
        }
    }
    let base: Vec<&str> = base.split('/').collect();
    out.len() >= base.len() && out.iter().zip(&base).all(|(a, b)| a == b)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rest, query) = match text.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (text, None),
    };
    let routes = Routes::new(
        Some(Url::parse("http://up.example/base").unwrap()),
        &["svc=http://svc.example/svc-base/".to_owned()],
    )
    .unwrap();
    if path::check(rest).is_err() {
        return;
    }
    if let Some(target) = routes.target(rest, query) {
        let base = match target.host() {
            Some("up.example") => "/base",
            Some("svc.example") => "/svc-base",
            other => panic!("forwarded to another host: {other:?}"),
        };
        assert!(
            stays_under(target.path(), base),
            "{rest:?} → {target} escapes {base}"
        );
    }
});
