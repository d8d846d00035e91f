//! The HTTP layer: routes, middleware and the server loop. Handlers are thin:
//! parse, call the domain, map the result.

mod admin;
mod api;
mod authorize;
mod errors;
mod extract;
mod hosts;
mod login;
mod metadata;
mod oidc;
mod ops;
mod pages;
mod token;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::AuthServer;

/// Request bodies above this are refused with `invalid_request` (or a 400 page).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The provider's routes; `/metrics` and `/readyz` too unless `with_ops` is false
/// (they are then served on `--metrics-listen`, see [`ops_router`]).
pub fn router(server: Arc<AuthServer>, with_ops: bool) -> Router {
    let headers: [(HeaderName, &str); 5] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on same-origin form
        // posts (the Fetch standard, "serializing a request origin"), which fails the CSRF
        // Origin check. `same-origin` still sends nothing to other sites (Django's default).
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let mut r = Router::new()
        .route(
            "/oauth2/authorize/",
            get(authorize::show).post(authorize::decide),
        )
        .route("/oauth2/token/", post(token::token))
        .route("/oauth2/revoke_token/", post(token::revoke))
        .route("/oauth2/introspect/", post(token::introspect))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/accounts/login/", get(login::show).post(login::submit))
        .route("/accounts/logout/", post(login::logout))
        .route("/api/me/", get(api::me))
        .route("/api/groups/", get(api::groups))
        .route("/api/notes/", get(api::list_notes).post(api::create_note))
        .route("/healthz", get(metadata::healthz))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/", get(login::index))
        .merge(admin::routes())
        .merge(oidc::routes())
        .merge(if with_ops {
            ops::routes()
        } else {
            Router::new()
        })
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({"detail": "Not found."})),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Before any handler; inside the header layers, so a refusal still carries them.
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            hosts::check,
        ));
    for (name, value) in headers {
        r = r.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    // Spans name the method and path only: never the query, which at the authorize
    // endpoint (and in the login page's `next`) carries `state` and the request.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
    });
    r.layer(axum::middleware::from_fn(ops::count))
        .layer(trace)
        .with_state(server)
}

/// `/metrics` and `/readyz` alone, for `--metrics-listen`.
pub fn ops_router(server: Arc<AuthServer>) -> Router {
    ops::routes().with_state(server)
}

/// Serves until `shutdown` resolves, sweeping expired rows in the background.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Arc<AuthServer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_ops(listener, None, server, shutdown).await
}

/// [`serve`], with `/metrics` and `/readyz` on `ops` instead of the main listener
/// when given (`--metrics-listen`).
pub async fn serve_with_ops(
    listener: tokio::net::TcpListener,
    ops: Option<tokio::net::TcpListener>,
    server: Arc<AuthServer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_forever(server.clone()));
    let logouts = tokio::spawn(crate::oidc::backchannel::run(server.clone()));
    let releaser = crate::password::spawn_releaser();
    let ops = ops.map(|l| {
        let app = ops_router(server.clone());
        tokio::spawn(async move { axum::serve(l, app).await })
    });
    let app = router(server, ops.is_none()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    logouts.abort();
    releaser.abort();
    if let Some(ops) = ops {
        ops.abort();
    }
    result
}

/// Deletes expired codes, tokens and sessions in batches of 500 every interval.
async fn sweep_forever(server: Arc<AuthServer>) {
    let secs = server.settings.sweep_interval_seconds;
    if secs == 0 {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(secs));
    loop {
        tick.tick().await;
        loop {
            match server.db.sweep_expired_batch(500).await {
                Ok(0) => break,
                Ok(n) => {
                    crate::metrics::count_sweep(n);
                    tracing::debug!(deleted = n, "swept expired rows")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sweep failed");
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
    }
}
