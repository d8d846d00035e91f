//! CSRF defence on every request to the BFF's API and on logout (RFC 10017, the BCP for
//! browser-based apps: a custom header plus an Origin / `Sec-Fetch-Site` check; SameSite
//! alone is not enough — a `Lax` cookie rides along on cross-site top-level GETs, and
//! sibling subdomains are "same-site").
//!
//! Every method: a foreign `Origin`, or without one a `Sec-Fetch-Site` other than
//! `same-origin`/`none`, is refused. Unsafe methods (RFC 9110 §9.2.1) also need the
//! custom header, which no cross-origin page can set without a CORS preflight (we answer
//! none).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, header};

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{Error, Result};
use crate::state::SharedState;

pub fn check(
    method: &Method,
    headers: &HeaderMap,
    header_name: &str,
    allowed: &[String],
) -> Result<()> {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && headers.get(header_name).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(Error::Forbidden("missing anti-CSRF header"));
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    if let (Some(_), Some(_)) = (origins.next(), origins.next()) {
        return Err(Error::Forbidden("origin not allowed"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !allowed.iter().any(|a| a == origin) {
            return Err(Error::Forbidden("origin not allowed"));
        }
    } else if let Some(site) = headers.get(SEC_FETCH_SITE)
        && !matches!(site.to_str().unwrap_or_default(), "same-origin" | "none")
    {
        return Err(Error::Forbidden("cross-site request"));
    }
    Ok(())
}

pub async fn middleware(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Result<Response> {
    check(
        request.method(),
        request.headers(),
        &state.config.csrf_header,
        &state.allowed_origins,
    )?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().expect("valid header"));
        }
        map
    }

    #[test]
    fn rules() {
        let allowed = vec!["http://localhost:3000".to_owned()];
        let check = |m: Method, h: &[(&'static str, &'static str)]| {
            check(&m, &headers(h), "x-csrf", &allowed).is_ok()
        };
        assert!(check(Method::GET, &[]));
        assert!(check(Method::GET, &[("sec-fetch-site", "same-origin")]));
        assert!(check(Method::GET, &[("sec-fetch-site", "none")]));
        // RFC 10017: every API request, reads included.
        assert!(!check(Method::GET, &[("sec-fetch-site", "cross-site")]));
        assert!(!check(Method::GET, &[("sec-fetch-site", "same-site")]));
        assert!(!check(Method::HEAD, &[("origin", "https://evil.example")]));
        assert!(!check(Method::GET, &[("origin", "null")]));
        assert!(check(Method::GET, &[("origin", "http://localhost:3000")]));
        assert!(!check(Method::POST, &[]));
        assert!(check(Method::POST, &[("x-csrf", "1")]));
        assert!(check(
            Method::DELETE,
            &[("x-csrf", "1"), ("origin", "http://localhost:3000")]
        ));
        assert!(!check(
            Method::POST,
            &[("x-csrf", "1"), ("origin", "https://evil.example")]
        ));
        assert!(!check(
            Method::POST,
            &[("x-csrf", "1"), ("sec-fetch-site", "cross-site")]
        ));
        assert!(check(
            Method::POST,
            &[("x-csrf", "1"), ("sec-fetch-site", "same-origin")]
        ));
    }
}
