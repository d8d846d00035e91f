//! The allowed-hosts gate, in front of every route: a `Host` this server does not
//! answer for gets `400` before any handler runs (see [`crate::hosts`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AuthServer;
use crate::error::PageError;

pub async fn check(State(server): State<Arc<AuthServer>>, req: Request, next: Next) -> Response {
    // RFC 9112 §3.2.2: an absolute-form target (and HTTP/2's :authority) wins over
    // `Host`; RFC 9112 §3.2: a request without any host is a 400.
    let host = match req.uri().authority() {
        Some(a) => Some(a.as_str()),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok()),
    };
    if host.is_some_and(|h| server.settings.allowed_hosts.allows(h)) {
        return next.run(req).await;
    }
    tracing::warn!(
        host = host.unwrap_or(""),
        "request for a host not in --allowed-hosts"
    );
    refuse(req.uri().path())
}

/// A readable page on the browser pages, RFC 6749 §5.2 error JSON everywhere else.
fn refuse(path: &str) -> Response {
    const WHY: &str = "This server does not answer for the host this request was sent to (it is not in --allowed-hosts).";
    let page = path == "/"
        || ["/accounts/", "/admin/", "/oauth2/authorize/"]
            .iter()
            .any(|p| path.starts_with(p));
    if page {
        PageError::new(400, WHY).into_response()
    } else {
        let body = serde_json::json!({"error": "invalid_request", "error_description": WHY});
        (axum::http::StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}
