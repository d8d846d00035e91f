//! Operations endpoints: Prometheus `/metrics`, `/readyz` (the database answers),
//! and the middleware that counts requests. Served on the main listener, or on
//! `--metrics-listen` alone when that is given.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AuthServer;
use crate::metrics;

pub fn routes() -> Router<Arc<AuthServer>> {
    Router::new()
        .route("/metrics", get(render))
        .route("/readyz", get(readyz))
}

async fn render(State(server): State<Arc<AuthServer>>) -> Response {
    let body = metrics::render(
        server.db.engine(),
        server.db.pool_use(),
        server.logins.depth(),
    );
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// 200 when the database answers a query, 503 otherwise (`/healthz` only says
/// the process is up).
async fn readyz(State(server): State<Arc<AuthServer>>) -> Response {
    match server.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Counts every response by route template and status; times the token endpoint.
pub async fn count(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let r = next.run(req).await;
    metrics::count_request(&route, r.status().as_u16());
    if route == "/oauth2/token/" {
        metrics::observe_token_latency(started.elapsed());
    }
    r
}
