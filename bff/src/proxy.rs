//! `ANY /api/*`: forwards to a configured upstream with the session's bearer token
//! (RFC 6750 §2.1), streaming both bodies; the route table is in [`crate::routes`].

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use tower_sessions::Session;

use crate::app::SharedState;
use crate::error::{Error, Result};
use crate::secret::AccessToken;
use crate::{refresh, session};

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

/// The browser's credentials never reach an upstream: its `Cookie` (ours, and the
/// provider's when it shares the host) and any `Authorization` are removed.
fn request_headers(headers: &mut HeaderMap, csrf_header: &str) {
    strip_hop_by_hop(headers);
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::HOST);
    headers.remove(csrf_header);
    // What the previous client (reqwest) sent by default.
    headers
        .entry(header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
}

fn response_headers(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    // Upstream cookies would land on the BFF's origin, next to the session cookie.
    headers.remove(header::SET_COOKIE);
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

    // RFC 9110 §9.2.2: only an idempotent request without a body can be replayed.
    let replayable = parts.method.is_idempotent() && !has_body(&parts.method, &parts.headers);
    let method = parts.method;
    let mut headers = parts.headers;
    request_headers(&mut headers, &state.config.csrf_header);
    // A replayable request keeps what a retry needs; any other streams its body once.
    let (retry, body) = if replayable {
        let retry = (method.clone(), target.clone(), headers.clone());
        (Some(retry), Body::empty())
    } else {
        (None, body)
    };
    let mut upstream = send(&state, method, target, headers, &data.access_token, body).await?;

    if upstream.status() == StatusCode::UNAUTHORIZED
        && let Some((method, target, headers)) = retry
    {
        // The token we believed valid was refused: one forced refresh, one retry, no loop.
        let fresh =
            refresh::ensure_fresh(&state, &session, data.clone(), Some(&data.access_token)).await?;
        upstream = send(
            &state,
            method,
            target,
            headers,
            &fresh.access_token,
            Body::empty(),
        )
        .await?;
    }

    let (mut parts, body) = upstream.into_parts();
    response_headers(&mut parts.headers);
    let mut response = Response::new(body);
    *response.status_mut() = parts.status;
    *response.headers_mut() = parts.headers;
    Ok(response)
}

/// One upstream exchange with the session's access token (RFC 6750 §2.1).
async fn send(
    state: &SharedState,
    method: Method,
    target: Uri,
    mut headers: HeaderMap,
    token: &AccessToken,
    body: Body,
) -> Result<Response> {
    let mut bearer = HeaderValue::try_from(format!("Bearer {}", token.expose()))
        .map_err(|e| Error::BadGateway(e.to_string()))?;
    bearer.set_sensitive(true);
    headers.insert(header::AUTHORIZATION, bearer);
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = target;
    *request.headers_mut() = headers;
    let started = Instant::now();
    let response = state
        .upstream
        .send(request)
        .await
        .map_err(|e| Error::BadGateway(crate::upstream::describe(&e)))?;
    state.metrics.upstream(started.elapsed());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_cookies_from_responses() {
        let mut h = HeaderMap::new();
        h.insert("set-cookie", "a=b".parse().expect("h"));
        h.insert("connection", "close, x-hop".parse().expect("h"));
        h.insert("x-hop", "1".parse().expect("h"));
        h.insert("transfer-encoding", "chunked".parse().expect("h"));
        h.insert("proxy-authenticate", "Basic".parse().expect("h"));
        h.insert("content-type", "text/plain".parse().expect("h"));
        response_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("content-type"));
    }

    #[test]
    fn strips_credentials_and_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "latchkey-bff=x".parse().expect("h"));
        h.insert("authorization", "Bearer evil".parse().expect("h"));
        h.insert("connection", "keep-alive, x-foo".parse().expect("h"));
        h.insert("x-foo", "1".parse().expect("h"));
        h.insert("x-keep", "1".parse().expect("h"));
        h.insert("x-csrf", "1".parse().expect("h"));
        h.insert("host", "bff".parse().expect("h"));
        h.insert("accept", "text/plain".parse().expect("h"));
        request_headers(&mut h, "x-csrf");
        assert_eq!(h.len(), 2);
        assert!(h.contains_key("x-keep"));
        assert_eq!(h["accept"], "text/plain");
    }
}
