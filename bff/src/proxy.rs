//! `ANY /api/*`: forwards to a configured upstream with the session's bearer token
//! (RFC 6750 §2.1), streaming both bodies.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::response::Response;
use tower_sessions::Session;
use url::Url;

use crate::app::SharedState;
use crate::error::{Error, Result};
use crate::refresh;
use crate::session;

/// Where `/api/*` may go: a default upstream and `PREFIX=URL` routes. Nothing else.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    default: Option<Url>,
    prefixed: Vec<(String, Url)>,
}

impl Routes {
    pub fn new(default: Option<Url>, specs: &[String]) -> anyhow::Result<Self> {
        let mut prefixed = Vec::new();
        for spec in specs {
            let (prefix, url) = spec
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("route {spec:?} is not PREFIX=URL"))?;
            prefixed.push((prefix.trim_matches('/').to_owned(), Url::parse(url)?));
        }
        // Longest prefix first.
        prefixed.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(Self { default, prefixed })
    }

    /// `rest` is the path after `/api/`. Dot segments are refused so no request can
    /// climb out of an upstream's base path.
    pub fn target(&self, rest: &str, query: Option<&str>) -> Option<Url> {
        let dotty = rest.split('/').any(|segment| {
            let lower = segment.to_ascii_lowercase().replace("%2e", ".");
            lower == "." || lower == ".."
        });
        if dotty || rest.contains('\\') || rest.to_ascii_lowercase().contains("%2f") {
            return None;
        }
        let (base, remainder) = self
            .prefixed
            .iter()
            .find_map(|(prefix, url)| {
                let tail = rest.strip_prefix(prefix.as_str())?;
                (tail.is_empty() || tail.starts_with('/'))
                    .then(|| (url, tail.trim_start_matches('/')))
            })
            .or_else(|| self.default.as_ref().map(|url| (url, rest)))?;
        let mut target = format!("{}/{}", base.as_str().trim_end_matches('/'), remainder);
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        Url::parse(&target).ok()
    }
}

/// RFC 9110 §7.6.1 hop-by-hop fields (plus the RFC 7230 ones still seen in the wild).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

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
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("proxy-authenticate");
}

/// The browser's credentials never reach an upstream: its `Cookie` (ours, and the
/// provider's when it shares the host) and any `Authorization` are removed.
fn request_headers(incoming: &HeaderMap, csrf_header: &str) -> HeaderMap {
    let mut headers = incoming.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::HOST);
    headers.remove(csrf_header);
    headers
}

fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = upstream.clone();
    strip_hop_by_hop(&mut headers);
    // Upstream cookies would land on the BFF's origin, next to the session cookie.
    headers.remove(header::SET_COOKIE);
    headers
}

fn has_body(method: &Method, headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => {
            headers.contains_key(header::TRANSFER_ENCODING)
                || !matches!(
                    *method,
                    Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
                )
        }
    }
}

pub async fn forward(
    State(state): State<SharedState>,
    session: Session,
    request: Request,
) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix("/api")
        .map(|p| p.trim_start_matches('/'))
        .unwrap_or_default();
    let target = state
        .routes
        .target(rest, parts.uri.query())
        .ok_or(Error::NotFound)?;

    let data = session::current(&state, &session).await?;
    let data = refresh::ensure_fresh(&state, &session, data, None).await?;
    session::touch(&state, &session, &data).await?;

    let headers = request_headers(&parts.headers, &state.config.csrf_header);
    // RFC 9110 §9.2.2: only an idempotent request without a body can be replayed.
    let replayable = parts.method.is_idempotent() && !has_body(&parts.method, &parts.headers);
    let send = |token: &str, body: reqwest::Body| {
        state
            .http
            .request(parts.method.clone(), target.clone())
            .headers(headers.clone())
            .bearer_auth(token)
            .timeout(std::time::Duration::from_secs(
                state.config.upstream_timeout_seconds,
            ))
            .body(body)
            .send()
    };
    let streamed = if replayable {
        reqwest::Body::from(Vec::new())
    } else {
        reqwest::Body::wrap_stream(body.into_data_stream())
    };
    let started = Instant::now();
    let mut upstream = send(data.access_token.expose(), streamed)
        .await
        .map_err(|e| Error::BadGateway(e.to_string()))?;
    state.metrics.upstream(started.elapsed());

    if upstream.status() == reqwest::StatusCode::UNAUTHORIZED && replayable {
        // The token we believed valid was refused: one forced refresh, one retry, no loop.
        let fresh =
            refresh::ensure_fresh(&state, &session, data.clone(), Some(&data.access_token)).await?;
        let started = Instant::now();
        upstream = send(fresh.access_token.expose(), reqwest::Body::from(Vec::new()))
            .await
            .map_err(|e| Error::BadGateway(e.to_string()))?;
        state.metrics.upstream(started.elapsed());
    }

    let mut response = Response::builder().status(upstream.status());
    if let Some(headers) = response.headers_mut() {
        *headers = response_headers(upstream.headers());
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let routes = Routes::new(
            Some(Url::parse("http://up/api").expect("url")),
            &["files=http://files:9000/v1".to_owned()],
        )
        .expect("routes");
        let t = |rest, q| routes.target(rest, q).map(|u| u.to_string());
        assert_eq!(t("me/", Some("a=1")), Some("http://up/api/me/?a=1".into()));
        assert_eq!(t("files/x", None), Some("http://files:9000/v1/x".into()));
        assert_eq!(t("filesx", None), Some("http://up/api/filesx".into()));
        assert_eq!(t("../admin", None), None);
        assert_eq!(t("a/%2E%2e/admin", None), None);
        assert_eq!(t("a%2fb", None), None);
    }

    #[test]
    fn strips_credentials_and_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "latchkey-bff=x".parse().expect("h"));
        h.insert("authorization", "Bearer evil".parse().expect("h"));
        h.insert("connection", "keep-alive, x-foo".parse().expect("h"));
        h.insert("x-foo", "1".parse().expect("h"));
        h.insert("x-keep", "1".parse().expect("h"));
        let out = request_headers(&h, "x-csrf");
        assert_eq!(out.len(), 1);
        assert!(out.contains_key("x-keep"));
    }
}
