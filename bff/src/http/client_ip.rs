//! Who is on the other end: the peer address, or — only when the peer is one of
//! `--trusted-proxies` — the client its `X-Forwarded-For` names. Browser-supplied
//! forwarding headers are attacker input (RFC 7239 §8.1; oauth2-proxy's advisories
//! GHSA-7x63-xv5r-3p2x, GHSA-5hvv-m4w4-gf6v).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`).
    pub fn parse(specs: &[String]) -> anyhow::Result<Self> {
        let nets = specs
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| anyhow::anyhow!("--trusted-proxies: {s:?} is not an IP or CIDR"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:a.b.c.d` is `a.b.c.d`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// An address as `Display` writes it; IPv4 (every proxied request's `X-Forwarded-For`)
/// without the formatting machinery.
pub fn text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// The TCP peer, when the server was started with connect info.
pub fn peer<B>(request: &Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| canonical(addr.ip()))
}

/// The `X-Forwarded-For` chain, when the peer may set it (RFC 7239 §5.2 order:
/// the rightmost entry is the nearest hop).
pub fn forwarded_chain(headers: &HeaderMap, peer: IpAddr, trusted: &TrustedProxies) -> Vec<IpAddr> {
    if !trusted.contains(peer) {
        return Vec::new();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|entry| entry.trim().parse::<IpAddr>().ok().map(canonical))
        .collect()
}

/// The client: walking back from the peer through trusted proxies only.
pub fn client(headers: &HeaderMap, peer: IpAddr, trusted: &TrustedProxies) -> IpAddr {
    let chain = forwarded_chain(headers, peer, trusted);
    let mut client = peer;
    for hop in chain.iter().rev() {
        if !trusted.contains(client) {
            break;
        }
        client = *hop;
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.100.255.9",
            "255.255.255.255",
            "127.0.0.1",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(text(ip), ip.to_string());
        }
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn only_trusted_peers_forward() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).expect("cidrs");
        let lb: IpAddr = "10.1.2.3".parse().expect("ip");
        let browser: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(client(&headers("198.51.100.1"), browser, &trusted), browser);
        assert_eq!(
            client(&headers("198.51.100.1"), lb, &trusted),
            "198.51.100.1".parse::<IpAddr>().expect("ip")
        );
        // A spoofed leftmost entry behind a trusted chain stops at the first untrusted hop.
        assert_eq!(
            client(&headers("1.1.1.1, 198.51.100.1, 10.9.9.9"), lb, &trusted),
            "198.51.100.1".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(client(&headers("garbage"), lb, &trusted), lb);
        assert!(TrustedProxies::parse(&["nope".into()]).is_err());
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert!(trusted.contains(mapped));
    }
}
