//! The hosts this server answers for (Django's `ALLOWED_HOSTS`): a request whose
//! `Host` names another host is refused before any handler, so a DNS-rebinding page
//! (`evil.example` resolving to 127.0.0.1) cannot drive the provider from the victim's
//! browser. Ports are ignored, as in Django: a host is allowed on any port.

use std::net::{IpAddr, SocketAddr};

/// `*` (anything), or host names and IP literals; `.example.com` also matches every
/// subdomain of `example.com` (Django's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    any: bool,
    hosts: Vec<String>,
}

impl AllowedHosts {
    /// Parses `--allowed-hosts`: entries separated by spaces or commas, without a
    /// port. `None` when an entry is malformed (a scheme, a path, a port).
    pub fn parse(list: &str) -> Option<Self> {
        let mut out = Self {
            any: false,
            hosts: vec![],
        };
        for entry in list.split([' ', ',']).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.any = true;
                continue;
            }
            let (host, port) = split_port(entry)?;
            if port.is_some() || host.is_empty() || !host.chars().all(host_char) {
                return None;
            }
            out.push(host);
        }
        Some(out)
    }

    /// The default: the issuer's host, the listen address (unless it is the
    /// unspecified 0.0.0.0 / `::`), and the loopback names `localhost`,
    /// `127.0.0.1` and `[::1]` — a rebinding attacker's page cannot send those.
    pub fn default_for(issuer: &str, listen: SocketAddr) -> Self {
        let mut out = Self {
            any: false,
            hosts: vec![],
        };
        if let Some((host, _)) = url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .as_deref()
            .and_then(split_port)
        {
            out.push(host);
        }
        if !listen.ip().is_unspecified() {
            out.push(&host_literal(listen.ip()));
        }
        for h in ["localhost", "127.0.0.1", "[::1]"] {
            out.push(h);
        }
        out
    }

    fn push(&mut self, host: &str) {
        let host = host.to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
    }

    /// Whether a request's `Host` value (`name`, `name:port`, `[v6]:port`) is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        if self.any {
            return true;
        }
        let Some((host, _)) = split_port(host_header) else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts
            .iter()
            .any(|allowed| match allowed.strip_prefix('.') {
                Some(domain) => host == domain || host.ends_with(allowed.as_str()),
                None => host == *allowed,
            })
    }

    /// For the startup log and the README's examples.
    pub fn describe(&self) -> String {
        if self.any {
            "*".to_owned()
        } else {
            self.hosts.join(" ")
        }
    }
}

/// `host[:port]` or `[v6][:port]` → (host, port); `None` when it is not that shape.
fn split_port(value: &str) -> Option<(&str, Option<&str>)> {
    if value.starts_with('[') {
        let end = value.find(']')?;
        let (host, rest) = value.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            r => r
                .strip_prefix(':')
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                .map(|p| (host, Some(p))),
        };
    }
    match value.split_once(':') {
        None => Some((value, None)),
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => Some((h, Some(p))),
        Some(_) => None,
    }
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':')
}

fn host_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn listen(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_list_is_the_issuer_the_listen_address_and_loopback() {
        let a = AllowedHosts::default_for("https://auth.example.com/", listen("10.0.0.5:8000"));
        for ok in [
            "auth.example.com",
            "AUTH.example.com:443",
            "10.0.0.5:8000",
            "localhost:3000",
            "127.0.0.1:41234",
            "[::1]:8000",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "example.com",
            "sub.auth.example.com",
            "",
            ":80",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
        let any = AllowedHosts::default_for("http://localhost:8000", listen("0.0.0.0:8000"));
        assert!(!any.allows("0.0.0.0"));
    }

    #[test]
    fn a_configured_list_takes_star_and_subdomain_entries() {
        assert!(AllowedHosts::parse("*").unwrap().allows("evil.example"));
        let a = AllowedHosts::parse("provider, .example.com").unwrap();
        assert!(a.allows("provider:8000"));
        assert!(a.allows("example.com"));
        assert!(a.allows("a.b.example.com:1"));
        assert!(!a.allows("badexample.com"));
        assert!(!a.allows("localhost"));
        for bad in ["http://x", "x:80", "x/y", "a b:c"] {
            assert!(AllowedHosts::parse(bad).is_none(), "{bad}");
        }
    }
}
