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

fn same_loopback_ignoring_port(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(a), Url::parse(b)) else {
        return false;
    };
    let loopback = |u: &Url| {
        u.scheme() == "http" && matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
                && u.scheme() == "http"
    };
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        && b.fragment().is_none()
        && a.username().is_empty()
        && a.password().is_none()
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
