//! `ANY /api/*`: forwards to a configured upstream with the session's bearer token
//! (RFC 6750 §2.1), streaming both bodies. The route table is [`routes`], the path rules
//! [`path`], the header rules [`headers`], the client [`upstream`].

pub mod headers;
pub mod path;
pub mod routes;
pub mod upstream;

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use tower_sessions::Session;

use crate::error::{Error, Result};
use crate::http::client_ip;
use crate::oauth::provider;
use crate::oauth::refresh::Refresher;
use crate::secret::{AccessToken, RefreshToken};
use crate::session;
use crate::state::SharedState;

/// RFC 9110 §9.2.2: only an idempotent request without a body can be replayed.
pub fn replayable(method: &Method, headers: &HeaderMap) -> bool {
    method.is_idempotent() && !has_body(method, headers)
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
    let peer = client_ip::peer(&request);
    let rejected = request
        .extensions()
        .get::<crate::http::fast::RejectedToken>()
        .map(|r| r.0.clone());
    let (parts, body) = request.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix("/api")
        .map(|p| p.trim_start_matches('/'))
        .unwrap_or_default();
    path::check(rest).map_err(Error::BadRequest)?;
    let target = state
        .routes
        .target(rest, parts.uri.query())
        .ok_or(Error::NotFound)?;

    let refresher = Refresher {
        store: &state.store,
        metrics: &state.metrics,
        skew_seconds: state.config.refresh_skew_seconds,
        provider: |token: RefreshToken| {
            let state = state.clone();
            async move { provider::refresh(&state.oauth, &state.http, &token).await }
        },
    };
    let data = session::current(&state.metrics, &session).await?;
    // Handed over by the fast path: the upstream refused this token (one forced refresh).
    let rejected = rejected.filter(|r| *r == data.access_token);
    let data = refresher
        .ensure_fresh(&session, data, rejected.as_ref())
        .await?;
    session::touch(
        &state.store,
        state.config.idle_timeout_seconds,
        &session,
        &data,
    )
    .await?;

    let replayable = replayable(&parts.method, &parts.headers);
    let method = parts.method;
    let mut fields = parts.headers;
    let origin = headers::Origin {
        peer,
        trusted: &state.trusted_proxies,
    };
    headers::to_upstream(&mut fields, &state.config.csrf_header, &origin);
    // A replayable request keeps what a retry needs; any other streams its body once.
    // Handed over by the fast path after a 401: this is already the one retry.
    let (retry, body) = if replayable && rejected.is_none() {
        let retry = (method.clone(), target.clone(), fields.clone());
        (Some(retry), Body::empty())
    } else if replayable {
        (None, Body::empty())
    } else {
        (None, body)
    };
    let mut upstream = send(&state, method, target, fields, &data.access_token, body).await?;

    if upstream.status() == StatusCode::UNAUTHORIZED
        && let Some((method, target, fields)) = retry
    {
        // The token we believed valid was refused: one forced refresh, one retry, no loop.
        let fresh = refresher
            .ensure_fresh(&session, data.clone(), Some(&data.access_token))
            .await?;
        upstream = send(
            &state,
            method,
            target,
            fields,
            &fresh.access_token,
            Body::empty(),
        )
        .await?;
    }

    let (mut parts, body) = upstream.into_parts();
    headers::to_browser(&mut parts.headers, state.config.pass_cors_headers);
    let mut response = Response::new(body);
    *response.status_mut() = parts.status;
    *response.headers_mut() = parts.headers;
    Ok(response)
}

/// One upstream exchange with the session's access token (RFC 6750 §2.1).
pub(crate) async fn send(
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
    let response = upstream::Upstream::per_thread(&state.upstream)
        .send(request)
        .await
        .map_err(|e| Error::BadGateway(upstream::describe(&e)))?;
    state.metrics.upstream(started.elapsed());
    Ok(response)
}
