//! CSRF defence for state-changing requests (draft-ietf-oauth-browser-based-apps,
//! BFF section: a custom header plus an Origin check; SameSite alone is not enough).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::SharedState;
use crate::error::{Error, Result};

/// Safe methods (RFC 9110 §9.2.1) pass; everything else needs the header and a good origin.
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    header_name: &str,
    allowed: &[String],
) -> Result<()> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    // A custom header cannot be set cross-origin without a CORS preflight (we answer none).
    if headers.get(header_name).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(Error::Forbidden("missing anti-CSRF header"));
    }
    if let Some(origin) = headers.get("origin") {
        let origin = origin.to_str().unwrap_or_default();
        if !allowed.iter().any(|a| a == origin) {
            return Err(Error::Forbidden("origin not allowed"));
        }
    } else if let Some(site) = headers.get("sec-fetch-site")
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
