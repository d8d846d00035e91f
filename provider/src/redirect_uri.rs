//! Redirect URI matching and the redirect built from it.

use url::Url;

/// Exact string comparison against the registered URIs (RFC 9700 §4.1.3), with
/// one exception: for a loopback IP literal over `http` the port may differ,
/// since native apps listen on an ephemeral port (RFC 8252 §7.3). `localhost`
/// gets no such exception (RFC 8252 §8.3 advises against it).
pub fn is_registered(requested: &str, registered: &[String]) -> bool {
    registered
        .iter()
        .any(|r| r == requested || same_loopback_ignoring_port(requested, r))
}

/// Both are `http://` URIs on the same loopback IP literal, byte-equal once the port of
/// the authority is taken out. Compared as text, not as parsed URLs: a parser folds
/// `HTTP://`, `127.1`, `/a/../cb` or `%2e` into the registered URI, and exact matching
/// means none of those may pass (RFC 9700 §4.1.3; only the port may vary, RFC 8252 §7.3).
fn same_loopback_ignoring_port(a: &str, b: &str) -> bool {
    match (without_port(a), without_port(b)) {
        (Some(a), Some(b)) => a == b && is_loopback_literal(a.0),
        _ => false,
    }
}

/// `http://HOST[:PORT]REST` → `(HOST, REST)`; `None` for any other shape.
fn without_port(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i) if authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &authority[..i],
        _ => authority,
    };
    Some((host, tail))
}

fn is_loopback_literal(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Checks an operator-supplied redirect URI: absolute, no fragment (RFC 6749
/// §3.1.2); `https`, or `http` only for loopback hosts, or a private-use scheme
/// with a dot in it for native apps (RFC 8252 §7.1).
pub fn validate_registration(uri: &str) -> Result<(), String> {
    let u = Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI ({e})"))?;
    if u.fragment().is_some() {
        return Err(format!("{uri:?} must not contain a fragment"));
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" => match u.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(format!(
                "{uri:?}: plain http is only allowed for localhost and loopback addresses"
            )),
        },
        "javascript" | "data" | "file" | "vbscript" => Err(format!("{uri:?}: scheme not allowed")),
        s if s.contains('.') => Ok(()),
        _ => Err(format!(
            "{uri:?}: use https, http on loopback, or a private-use scheme such as com.example.app:/cb"
        )),
    }
}

/// `redirect_uri` with `params` appended to its query, keeping the query it
/// already has (RFC 6749 §3.1.2).
pub fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.into()
        }
        // Registered URIs are validated, so this is only reached for legacy rows.
        Err(_) => {
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            format!("{redirect_uri}{sep}{q}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_except_loopback_port() {
        let reg = vec![
            "http://localhost:3000/cb".to_owned(),
            "http://127.0.0.1/native".to_owned(),
        ];
        assert!(is_registered("http://localhost:3000/cb", &reg));
        assert!(!is_registered("http://localhost:3000/cb/", &reg));
        assert!(!is_registered("http://localhost:3001/cb", &reg));
        assert!(!is_registered("HTTP://localhost:3000/cb", &reg));
        assert!(is_registered("http://127.0.0.1:51234/native", &reg));
        assert!(!is_registered("http://127.0.0.1:51234/native/x", &reg));
        assert!(!is_registered("http://127.0.0.2:51234/native", &reg));
    }

    /// Found by the property test (tests/properties.rs): a URL parser folded these
    /// into the registered loopback URI; only the port may differ.
    #[test]
    fn loopback_port_is_the_only_thing_that_may_differ() {
        let reg = vec![
            "http://127.0.0.1/native".to_owned(),
            "http://[::1]:8/cb".to_owned(),
        ];
        for ok in [
            "http://127.0.0.1:1/native",
            "http://127.0.0.1/native",
            "http://[::1]/cb",
            "http://[::1]:65535/cb",
        ] {
            assert!(is_registered(ok, &reg), "{ok}");
        }
        for bad in [
            "HTTP://127.0.0.1:5/native",
            "http://127.1:5/native",
            "http://127.000.000.001:5/native",
            "http://0x7f.0.0.1:5/native",
            "http://127.0.0.1:5/x/../native",
            "http://127.0.0.1:5/%6Eative",
            "http://127.0.0.1:5/native#f",
            "http://u@127.0.0.1:5/native",
            "http://[0:0:0:0:0:0:0:1]:5/cb",
            "http://127.0.0.1:5:6/native",
        ] {
            assert!(!is_registered(bad, &reg), "{bad}");
        }
    }

    #[test]
    fn registration_rules() {
        assert!(validate_registration("https://app.example/cb").is_ok());
        assert!(validate_registration("http://localhost:3000/login/").is_ok());
        assert!(validate_registration("com.example.app:/cb").is_ok());
        assert!(validate_registration("http://app.example/cb").is_err());
        assert!(validate_registration("https://app.example/cb#x").is_err());
        assert!(validate_registration("/relative").is_err());
        assert!(validate_registration("javascript:alert(1)").is_err());
    }

    #[test]
    fn params_are_appended_to_an_existing_query() {
        assert_eq!(
            with_params("https://a.example/cb?x=1", &[("code", "c d")]),
            "https://a.example/cb?x=1&code=c+d"
        );
    }
}
