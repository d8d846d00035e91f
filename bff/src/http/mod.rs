//! The HTTP surface: the router, its middleware, the listeners.
//!
//! `/auth/*` and `/api/*` get a session; `/auth/logout` and `/api/*` also the CSRF check.
//! `/auth/backchannel-logout` (the provider's, server to server) gets neither.
//! `/metrics` and `/readyz` are served on `--metrics-listen` when it is set (and then
//! only there), else on the main listener.

pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod fast;
pub mod rate_limit;
pub mod raw;
pub mod serve;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::{Config, SameSite};
use crate::oauth::{backchannel, login, logout};
use crate::state::{AppState, SharedState};
use crate::{metrics, proxy, session};

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<SharedState>) -> Response {
    let store = state.store.ping().await;
    let provider = tokio::time::timeout(
        state.config.store_timeout(),
        state.http.get(state.endpoints.health.clone()).send(),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let status = if store && provider {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({"store": store, "provider": provider})),
    )
        .into_response()
}

/// Counts requests; no-store on auth/API answers; security headers on HTML.
async fn headers(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    state.metrics.request();
    let dynamic =
        request.uri().path().starts_with("/auth/") || request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if dynamic && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        );
    }
    response
}

pub fn router(state: SharedState) -> Router {
    let config = &state.config;
    let sessions = SessionManagerLayer::new(state.store.clone())
        .with_name(config.cookie_name())
        .with_secure(config.cookie_secure)
        .with_http_only(true)
        .with_path("/")
        .with_same_site(match config.cookie_same_site {
            SameSite::Strict => tower_sessions::cookie::SameSite::Strict,
            SameSite::Lax => tower_sessions::cookie::SameSite::Lax,
        })
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(
                i64::try_from(config.idle_timeout_seconds).unwrap_or(i64::MAX),
            ),
        ));
    let protected = Router::new()
        .route("/auth/logout", post(logout::logout))
        .route("/api/{*rest}", any(proxy::forward))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::middleware,
        ));
    let with_session = Router::new()
        .route(
            "/auth/login",
            get(login::login).route_layer(middleware::from_fn_with_state(
                state.clone(),
                login::rate_limit,
            )),
        )
        .route("/auth/callback", get(login::callback))
        .route("/auth/session", get(session::info))
        .merge(protected)
        .layer(sessions)
        // Outside tower-sessions: its own save after the handler answers a bare 500 when
        // the store fails right then (seen by the chaos soak during a Redis restart).
        .layer(middleware::map_response(session_save_failed_is_503))
        // Before tower-sessions reads the cookie: two session cookies are no session.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cookies::drop_duplicate_session_cookies,
        ));
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        // Server to server (the provider): no session, no cookie, so no CSRF check; the
        // handler bounds the body itself.
        .route("/auth/backchannel-logout", post(backchannel::receive))
        .merge(with_session);
    if config.metrics_listen.is_none() {
        app = app.merge(operations());
    }
    if let Some(dir) = &config.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    app.layer(middleware::from_fn_with_state(state.clone(), headers))
        // Span fields: method and path only; the query may carry `code`/`state`.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        // The `/api/*` fast path sits in front of this router, not in it: see `serve::app`.
        .with_state(state)
}

/// The handlers never answer 500 ([`crate::error::Error`] maps every failure to a 4xx or
/// a 503), so a 500 here is tower-sessions failing to save the session after the handler:
/// the store is unavailable, and the client may retry.
async fn session_save_failed_is_503(response: Response) -> Response {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return crate::error::Error::StoreUnavailable("session save failed".into()).into_response();
    }
    response
}

/// `/readyz` and `/metrics`, for the main listener or `--metrics-listen`.
fn operations() -> Router<SharedState> {
    Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::handler))
}

/// Serves the BFF on an already-bound listener until SIGINT/SIGTERM (and the metrics
/// listener when `--metrics-listen` is set). Peers' addresses reach the handlers
/// (`ConnectInfo`): the login rate limit and `X-Forwarded-For` need them.
pub async fn serve(config: Config, listener: TcpListener) -> anyhow::Result<()> {
    let state = AppState::new(config).await?;
    serve_state(state, listener).await
}

pub async fn serve_state(state: SharedState, listener: TcpListener) -> anyhow::Result<()> {
    if let Some(addr) = state.config.metrics_listen {
        let metrics = TcpListener::bind(addr).await?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics and readiness listening");
        let app = operations().with_state(state.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(metrics, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
            {
                tracing::warn!(error = %err, "metrics listener stopped");
            }
        });
    }
    serve_api(state, listener).await
}

/// The main listener only (the other cores' listeners when `--runtime per-core`).
pub async fn serve_api(state: SharedState, listener: TcpListener) -> anyhow::Result<()> {
    serve::serve_until(state, listener, shutdown_signal()).await
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_session_save_is_a_503_with_the_store_error() {
        let mut bare = Response::default();
        *bare.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let mapped = session_save_failed_is_503(bare).await;
        assert_eq!(mapped.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(mapped.into_body(), 1024)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"], "session_store_unavailable");
        let ok = session_save_failed_is_503(Response::default()).await;
        assert_eq!(
            ok.status(),
            StatusCode::OK,
            "anything else passes unchanged"
        );
    }
}
