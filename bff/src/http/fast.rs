//! The `/api/*` fast path: a warm session's request goes from the socket to the upstream
//! with only the checks it needs — the CSRF rules, the path rules, the route table, one
//! session cookie, the near cache — and none of the general layers (tower-sessions'
//! record, the JSON round trip, the middleware stack).
//!
//! Anything else falls through to the ordinary route ([`crate::proxy::forward`]), which
//! owns every write: no session or an unknown one (401), a session past its lifetime, an
//! access token to refresh, a sliding-expiry write due, two session cookies, or an
//! upstream 401 to a replayable request (handed over with [`RejectedToken`], so the slow
//! path refreshes once and retries once, as before). Both paths answer the same.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};
use tower_sessions::session::Id;
use tracing::Instrument;

use crate::error::Error;
use crate::http::{client_ip, csrf};
use crate::proxy::{self, headers, path};
use crate::secret::AccessToken;
use crate::session::{SessionData, now};
use crate::state::SharedState;

/// The access token an upstream refused on the fast path (request extension).
#[derive(Clone)]
pub struct RejectedToken(pub AccessToken);

#[derive(Clone)]
pub struct FastApiLayer {
    pub state: SharedState,
}

impl<S> Layer<S> for FastApiLayer {
    type Service = FastApi<S>;

    fn layer(&self, inner: S) -> FastApi<S> {
        FastApi {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct FastApi<S> {
    inner: S,
    state: SharedState,
}

impl<S> Service<Request> for FastApi<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !request.uri().path().starts_with("/api/") {
            return Box::pin(self.inner.call(request));
        }
        // The clone is the one that was made ready (tower's contract).
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        // The slow path's span is `info` (TraceLayer); this one is `debug`, so a warm request
        // formats no span unless asked for (`RUST_LOG=latchkey_bff=debug`).
        let span =
            tracing::debug_span!("api", method = %request.method(), path = %request.uri().path());
        let api = async move { Ok(api(state, inner, request).await) };
        if span.is_disabled() {
            Box::pin(api) // no span to enter and leave on every poll
        } else {
            Box::pin(api.instrument(span))
        }
    }
}

/// Exactly one session cookie, parsed as a ticket. Public for the property tests and the
/// fuzz targets (it reads attacker input), not an API.
#[doc(hidden)]
pub fn ticket(request: &Request, name: &str) -> Option<Id> {
    ticket_in(request.headers(), name)
}

/// [`ticket`] on the fields alone.
pub(crate) fn ticket_in(headers: &HeaderMap, name: &str) -> Option<Id> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            // Names and values trimmed as the cookie crate (the slow path) trims them, so
            // both count the same cookies: `s =x; s=y` is two (found by the property test).
            if k.trim() == name {
                if found.is_some() {
                    return None; // two: ambiguous, the slow path refuses it
                }
                found = Some(v.trim());
            }
        }
    }
    found.and_then(|v| v.parse().ok())
}

/// Whether this session needs the slow path's writes (refresh, sliding expiry, end).
fn needs_slow_path(state: &SharedState, data: &SessionData) -> bool {
    let t = now();
    let skew = i64::try_from(state.config.refresh_skew_seconds).unwrap_or(0);
    let touch = i64::try_from(state.config.idle_timeout_seconds / 4)
        .unwrap_or(i64::MAX)
        .max(1);
    t >= data.ends_at || data.expires_at - skew <= t || t - data.last_seen >= touch
}

/// What the fast path may do with an `/api/*` request, decided without writing anything.
pub(crate) enum Plan {
    /// Forward to `target` with this session's access token.
    Forward { target: Uri, data: Arc<SessionData> },
    /// Answer at once: a CSRF, path or route refusal, or the store failing.
    Answer(Response),
    /// Leave it to the ordinary route (no session, or one with a write due).
    Slow,
}

/// The fast path's checks, in the slow path's order: CSRF, path rules, route table, one
/// session cookie, a warm session that needs no write. Shared by the hyper lane
/// ([`FastApi`]) and the raw lane ([`super::raw`]).
pub(crate) async fn plan(
    state: &SharedState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Plan {
    let config = &state.config;
    if let Err(err) = csrf::check(method, headers, &config.csrf_header, &state.allowed_origins) {
        return Plan::Answer(err.into_response());
    }
    let rest = uri.path()["/api/".len()..].trim_start_matches('/');
    if let Err(reason) = path::check(rest) {
        return Plan::Answer(Error::BadRequest(reason).into_response());
    }
    let Some(target) = state.routes.target(rest, uri.query()) else {
        return Plan::Answer(Error::NotFound.into_response());
    };
    let Some(ticket) = ticket_in(headers, config.cookie_name()) else {
        return Plan::Slow;
    };
    match state.store.session_data(&ticket).await {
        Ok(Some(data)) if !needs_slow_path(state, &data) => Plan::Forward { target, data },
        Ok(_) => Plan::Slow,
        Err(err) => Plan::Answer(Error::from(err).into_response()),
    }
}

/// The headers the general middleware adds to every `/api/*` answer.
pub(crate) fn finish(mut response: Response) -> Response {
    finish_headers(response.headers_mut());
    response
}

pub(crate) fn finish_headers(h: &mut HeaderMap) {
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

async fn slow<S>(mut inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

async fn api<S>(state: SharedState, inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    if request.extensions().get::<RejectedToken>().is_some() {
        // Handed over by the raw lane after an upstream 401: straight to the refresh.
        return slow(inner, request).await;
    }
    let config = &state.config;
    let (target, data) =
        match plan(&state, request.method(), request.uri(), request.headers()).await {
            Plan::Forward { target, data } => (target, data),
            Plan::Answer(response) => {
                state.metrics.request();
                return finish(response);
            }
            Plan::Slow => return slow(inner, request).await,
        };
    state.metrics.request();
    let peer = client_ip::peer(&request);
    let (parts, body) = request.into_parts();
    let replayable = proxy::replayable(&parts.method, &parts.headers);
    let original = replayable.then(|| {
        (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
        )
    });
    let mut fields = parts.headers;
    let origin = headers::Origin {
        peer,
        trusted: &state.trusted_proxies,
    };
    headers::to_upstream(&mut fields, &config.csrf_header, &origin);
    let body = if replayable { Body::empty() } else { body };
    let upstream = match proxy::send(
        &state,
        parts.method,
        target,
        fields,
        &data.access_token,
        body,
    )
    .await
    {
        Ok(upstream) => upstream,
        Err(err) => return finish(err.into_response()),
    };
    if upstream.status() == StatusCode::UNAUTHORIZED
        && let Some((method, uri, fields)) = original
    {
        let mut retry = Request::new(Body::empty());
        *retry.method_mut() = method;
        *retry.uri_mut() = uri;
        *retry.headers_mut() = fields;
        if let Some(peer) = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        {
            retry.extensions_mut().insert(*peer);
        }
        retry
            .extensions_mut()
            .insert(RejectedToken(data.access_token.clone()));
        return slow(inner, retry).await;
    }
    let (mut parts, body) = upstream.into_parts();
    headers::to_browser(&mut parts.headers, config.pass_cors_headers);
    finish(Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cookie_exactly() {
        let id = Id::default();
        let with = |values: &[String]| {
            let mut request = Request::new(Body::empty());
            for v in values {
                request
                    .headers_mut()
                    .append(header::COOKIE, v.parse().expect("header"));
            }
            ticket(&request, "s")
        };
        assert_eq!(with(&[format!("a=1; s={id}")]), Some(id));
        assert_eq!(with(&[format!("s={id}; s={id}")]), None);
        assert_eq!(with(&[format!("s={id}"), format!("s={id}")]), None);
        assert_eq!(with(&["s=garbage".to_owned()]), None);
        // Regression (bff/tests/properties.rs): whitespace around the name is the same
        // cookie to the cookie crate, so the slow path sees two and refuses both.
        assert_eq!(with(&[format!("s =\"{id}\"; s={id}")]), None);
        assert_eq!(with(&[format!(" s = {id} ")]), Some(id));
        assert_eq!(with(&[]), None);
    }
}
