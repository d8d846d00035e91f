//! The session cookie as tower-sessions will read it.
//!
//! Two cookies of the session's name (a cookie-tossing sibling subdomain, or a
//! stale path-scoped one) make it ambiguous which session a request means: such a request
//! is treated as having no session, so neither is used (nor written).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use cookie::Cookie;

use crate::state::SharedState;

/// How many cookies named `name` the request carries (all `Cookie` headers).
pub fn count(headers: &axum::http::HeaderMap, name: &str) -> usize {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .count()
}

/// The `Cookie` headers without any cookie named `name`.
fn without(headers: &axum::http::HeaderMap, name: &str) -> Option<HeaderValue> {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .filter(|c| c.name() != name)
        .map(|c| c.stripped().to_string())
        .collect();
    (!kept.is_empty())
        .then(|| HeaderValue::from_str(&kept.join("; ")).ok())
        .flatten()
}

pub async fn drop_duplicate_session_cookies(
    State(state): State<SharedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let name = state.config.cookie_name();
    if count(request.headers(), name) > 1 {
        tracing::debug!("two session cookies: treated as no session");
        let rest = without(request.headers(), name);
        let headers = request.headers_mut();
        headers.remove(header::COOKIE);
        if let Some(rest) = rest {
            headers.insert(header::COOKIE, rest);
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_headers_and_strips_only_that_name() {
        let mut h = axum::http::HeaderMap::new();
        h.append(header::COOKIE, "a=1; s=x".parse().expect("h"));
        h.append(header::COOKIE, "s=y".parse().expect("h"));
        assert_eq!(count(&h, "s"), 2);
        assert_eq!(count(&h, "a"), 1);
        assert_eq!(without(&h, "s").expect("rest"), "a=1");
    }
}
