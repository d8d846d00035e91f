//! What crosses the proxy in each direction.
//!
//! Upstream-bound: hop-by-hop fields go (RFC 9110 §7.6.1), and so do the browser's
//! credentials (its `Cookie`, any `Authorization`), the anti-CSRF header, and every header
//! an upstream might trust for identity or routing (`X-Forwarded-*`, `Forwarded`,
//! `X-Real-IP`, `X-Original-URL`, `X-Remote-User`, method overrides, …): a browser must
//! not be able to set them. The BFF then sets its own `X-Forwarded-For/-Proto/-Host`
//! from the connection, extending an incoming chain only when the peer is one of
//! `--trusted-proxies` (RFC 7239 §8.1).
//!
//! Browser-bound: hop-by-hop fields, `Set-Cookie` (it would land on the BFF's origin, next
//! to the session cookie), `Clear-Site-Data` (it could wipe the BFF's own cookies) and,
//! unless `--pass-cors-headers`, every `Access-Control-*` field: the BFF's origin answers
//! no CORS.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::http::client_ip::{self, TrustedProxies};

/// RFC 9110 §7.6.1 hop-by-hop fields (plus the RFC 7230 ones still seen in the wild).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Identity and routing fields that only the BFF (or a trusted proxy) may set.
const SPOOFABLE: [&str; 22] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-access-token",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "x-original-url",
    "x-rewrite-url",
    "x-original-host",
    "x-remote-user",
    "x-remote-addr",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Prefixes of the same family (oauth2-proxy's `X-Auth-Request-*`, `X-Remote-*`).
const SPOOFABLE_PREFIXES: [&str; 2] = ["x-auth-request-", "x-remote-"];

/// The field names listed in `Connection` values: hop-by-hop too (RFC 9110 §7.6.1).
pub fn connection_named<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    values
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn is_hop_by_hop(name: &str, named: &[String]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || named.iter().any(|h| name.eq_ignore_ascii_case(h))
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether a field of the browser's request crosses to the upstream (any letter case):
/// not hop-by-hop, not the browser's credentials (the session cookie, any
/// `Authorization`), not its `Host`, not the anti-CSRF header, not a spoofable identity
/// field.
pub fn crosses_upstream(name: &str, csrf_header: &str, named: &[String]) -> bool {
    !(is_hop_by_hop(name, named)
        || ["cookie", "authorization", "host", csrf_header]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        || SPOOFABLE.iter().any(|n| name.eq_ignore_ascii_case(n))
        || SPOOFABLE_PREFIXES
            .iter()
            .any(|p| starts_with_ignore_case(name, p)))
}

/// Whether a field of the upstream's response reaches the browser (any letter case).
pub fn reaches_browser(name: &str, pass_cors: bool, named: &[String]) -> bool {
    !(is_hop_by_hop(name, named)
        || name.eq_ignore_ascii_case("set-cookie")
        || name.eq_ignore_ascii_case("clear-site-data")
        || (!pass_cors && starts_with_ignore_case(name, "access-control-")))
}

/// Keeps the fields `keep` accepts, in their order, in one pass: a request carries a
/// handful of fields, so this is a few inserts where removing every listed name would
/// hash each of the ~35 names.
fn filter(headers: &mut HeaderMap, extra: usize, keep: impl Fn(&str, &[String]) -> bool) {
    let named = connection_named(
        headers
            .get_all(header::CONNECTION)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let incoming = std::mem::take(headers);
    let mut kept = HeaderMap::with_capacity(incoming.len() + extra);
    let mut current: Option<HeaderName> = None;
    for (name, value) in incoming {
        // `into_iter` names a field once, then yields its further values with `None`.
        if let Some(name) = name {
            current = Some(name);
        }
        let Some(name) = current.as_ref() else {
            continue;
        };
        if keep(name.as_str(), &named) {
            kept.append(name.clone(), value);
        }
    }
    *headers = kept;
}

/// Where a request came from, as the BFF will tell the upstream.
pub struct Origin<'a> {
    /// The TCP peer (`None` when the server runs without connect info).
    pub peer: Option<IpAddr>,
    pub trusted: &'a TrustedProxies,
}

pub fn forwarded_values(
    headers: &HeaderMap,
    origin: &Origin<'_>,
) -> [(HeaderName, Option<String>); 3] {
    let Some(peer) = origin.peer else {
        return [
            (HeaderName::from_static("x-forwarded-for"), None),
            (HeaderName::from_static("x-forwarded-proto"), None),
            (HeaderName::from_static("x-forwarded-host"), None),
        ];
    };
    let trusted = origin.trusted.contains(peer);
    let host = || {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if !trusted {
        // The common case, on every proxied request: the chain starts here.
        return [
            (
                HeaderName::from_static("x-forwarded-for"),
                Some(client_ip::text(peer)),
            ),
            (
                HeaderName::from_static("x-forwarded-proto"),
                Some("http".to_owned()),
            ),
            (HeaderName::from_static("x-forwarded-host"), host()),
        ];
    }
    let mut chain: Vec<String> = client_ip::forwarded_chain(headers, peer, origin.trusted)
        .iter()
        .map(IpAddr::to_string)
        .collect();
    chain.push(client_ip::text(peer));
    // A trusted proxy's own forwarding fields are believed.
    let incoming = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 256)
    };
    let proto = incoming("x-forwarded-proto")
        .filter(|p| matches!(p.as_str(), "http" | "https"))
        .unwrap_or_else(|| "http".to_owned());
    let host = incoming("x-forwarded-host").or_else(host);
    [
        (
            HeaderName::from_static("x-forwarded-for"),
            Some(chain.join(", ")),
        ),
        (HeaderName::from_static("x-forwarded-proto"), Some(proto)),
        (HeaderName::from_static("x-forwarded-host"), host),
    ]
}

pub fn to_upstream(headers: &mut HeaderMap, csrf_header: &str, origin: &Origin<'_>) {
    let forwarded = forwarded_values(headers, origin);
    filter(headers, forwarded.len() + 2, |name, named| {
        crosses_upstream(name, csrf_header, named)
    });
    for (name, value) in forwarded {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    // What the previous client (reqwest) sent by default.
    headers
        .entry(header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
}

pub fn to_browser(headers: &mut HeaderMap, pass_cors: bool) {
    filter(headers, 2, |name, named| {
        reaches_browser(name, pass_cors, named)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn browser_bound_strips_cookies_cors_and_hop_by_hop() {
        let mut h = map(&[
            ("set-cookie", "a=b"),
            ("connection", "close, x-hop"),
            ("x-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("proxy-authenticate", "Basic"),
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("clear-site-data", "\"cookies\""),
            ("content-type", "text/plain"),
        ]);
        to_browser(&mut h, false);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("content-type"));
        let mut h = map(&[("access-control-allow-origin", "https://app.example")]);
        to_browser(&mut h, true);
        assert!(
            h.contains_key("access-control-allow-origin"),
            "deliberate CORS"
        );
    }

    #[test]
    fn upstream_bound_strips_credentials_and_spoofable_fields() {
        let trusted = TrustedProxies::default();
        let origin = Origin {
            peer: Some("203.0.113.7".parse().expect("ip")),
            trusted: &trusted,
        };
        let mut h = map(&[
            ("cookie", "latchkey-bff=x"),
            ("authorization", "Bearer evil"),
            ("connection", "keep-alive, x-foo"),
            ("x-foo", "1"),
            ("x-keep", "1"),
            ("x-csrf", "1"),
            ("host", "bff.example"),
            ("accept", "text/plain"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-host", "admin.internal"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=10.0.0.1"),
            ("x-real-ip", "10.0.0.1"),
            ("x-original-url", "/admin"),
            ("x-rewrite-url", "/admin"),
            ("x-remote-user", "admin"),
            ("x-auth-request-user", "admin"),
            ("x-http-method-override", "DELETE"),
        ]);
        to_upstream(&mut h, "x-csrf", &origin);
        assert_eq!(h["x-forwarded-for"], "203.0.113.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "bff.example");
        assert_eq!(h["accept"], "text/plain");
        assert!(h.contains_key("x-keep"));
        assert_eq!(h.len(), 5, "{h:?}");
    }

    #[test]
    fn repeated_fields_keep_every_value_in_order() {
        let trusted = TrustedProxies::default();
        let origin = Origin {
            peer: None,
            trusted: &trusted,
        };
        let mut h = map(&[
            ("x-multi", "1"),
            ("cookie", "a=1"),
            ("x-multi", "2"),
            ("X-CSRF", "1"),
            ("cookie", "b=2"),
            ("x-multi", "3"),
            ("connection", "x-gone"),
            ("x-gone", "1"),
            ("x-gone", "2"),
        ]);
        to_upstream(&mut h, "X-Csrf", &origin);
        let values: Vec<_> = h.get_all("x-multi").iter().collect();
        assert_eq!(values, ["1", "2", "3"]);
        assert!(
            !h.contains_key("cookie") && !h.contains_key("x-gone"),
            "{h:?}"
        );
        assert!(!h.contains_key("x-csrf"), "the CSRF header in any case");
        assert_eq!(h.len(), 4, "x-multi ×3 and accept: {h:?}");
        let mut h = map(&[
            ("set-cookie", "a=1"),
            ("vary", "a"),
            ("set-cookie", "b=2"),
            ("vary", "b"),
        ]);
        to_browser(&mut h, false);
        assert_eq!(h.get_all("vary").iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn a_trusted_proxy_extends_the_chain() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into()]).expect("cidr");
        let origin = Origin {
            peer: Some("10.0.0.2".parse().expect("ip")),
            trusted: &trusted,
        };
        let mut h = map(&[
            ("x-forwarded-for", "198.51.100.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "app.example"),
            ("host", "bff:3000"),
        ]);
        to_upstream(&mut h, "x-csrf", &origin);
        assert_eq!(h["x-forwarded-for"], "198.51.100.4, 10.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "app.example");
    }
}
