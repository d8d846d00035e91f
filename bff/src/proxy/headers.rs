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
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// Identity and routing fields that only the BFF (or a trusted proxy) may set.
const SPOOFABLE: [HeaderName; 22] = [
    HeaderName::from_static("forwarded"),
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-server"),
    HeaderName::from_static("x-forwarded-user"),
    HeaderName::from_static("x-forwarded-email"),
    HeaderName::from_static("x-forwarded-access-token"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-client-ip"),
    HeaderName::from_static("true-client-ip"),
    HeaderName::from_static("x-cluster-client-ip"),
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("x-original-host"),
    HeaderName::from_static("x-remote-user"),
    HeaderName::from_static("x-remote-addr"),
    HeaderName::from_static("x-http-method-override"),
    HeaderName::from_static("x-http-method"),
    HeaderName::from_static("x-method-override"),
];

/// Prefixes of the same family (oauth2-proxy's `X-Auth-Request-*`, `X-Remote-*`).
const SPOOFABLE_PREFIXES: [&str; 2] = ["x-auth-request-", "x-remote-"];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Fields named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Where a request came from, as the BFF will tell the upstream.
pub struct Origin<'a> {
    /// The TCP peer (`None` when the server runs without connect info).
    pub peer: Option<IpAddr>,
    pub trusted: &'a TrustedProxies,
}

fn forwarded_values(headers: &HeaderMap, origin: &Origin<'_>) -> [(HeaderName, Option<String>); 3] {
    let Some(peer) = origin.peer else {
        return [
            (HeaderName::from_static("x-forwarded-for"), None),
            (HeaderName::from_static("x-forwarded-proto"), None),
            (HeaderName::from_static("x-forwarded-host"), None),
        ];
    };
    let trusted = origin.trusted.contains(peer);
    let mut chain: Vec<String> = client_ip::forwarded_chain(headers, peer, origin.trusted)
        .iter()
        .map(IpAddr::to_string)
        .collect();
    chain.push(peer.to_string());
    let incoming = |name: &str| {
        trusted
            .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
            .flatten()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 256)
    };
    let proto = incoming("x-forwarded-proto")
        .filter(|p| matches!(p.as_str(), "http" | "https"))
        .unwrap_or_else(|| "http".to_owned());
    let host = incoming("x-forwarded-host").or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
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
    strip_hop_by_hop(headers);
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::HOST);
    headers.remove(csrf_header);
    for name in &SPOOFABLE {
        headers.remove(name);
    }
    let prefixed: Vec<HeaderName> = headers
        .keys()
        .filter(|n| SPOOFABLE_PREFIXES.iter().any(|p| n.as_str().starts_with(p)))
        .cloned()
        .collect();
    for name in prefixed {
        headers.remove(name);
    }
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
    strip_hop_by_hop(headers);
    headers.remove(header::SET_COOKIE);
    headers.remove("clear-site-data");
    if !pass_cors {
        let cors: Vec<HeaderName> = headers
            .keys()
            .filter(|n| n.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
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
