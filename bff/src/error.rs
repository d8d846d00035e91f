//! The one error type of the crate, mapped to HTTP in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No (valid) session: API calls get a 401, never a redirect to a login page.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The session ended (refresh token dead, absolute lifetime reached).
    #[error("session expired")]
    SessionExpired,
    /// CSRF defence (custom header / Origin) refused the request.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A server-to-server request the BFF refuses (a bad back-channel logout token):
    /// OAuth-style `invalid_request` (OpenID Back-Channel Logout 1.0 §2.8).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("not found")]
    NotFound,
    /// The session store did not answer in time (or at all).
    #[error("session store unavailable: {0}")]
    StoreUnavailable(String),
    /// The provider did not answer a refresh usably (down, restarting, overloaded): the
    /// session is kept and the browser may retry (`503` + `Retry-After`).
    #[error("provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// The provider or an upstream failed in a way the browser cannot fix.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// A failed login: the browser goes back to the SPA with a readable code.
    #[error("login failed: {0}")]
    Login(&'static str),
    /// Over a rate limit; retry after the duration.
    #[error("rate limited")]
    RateLimited(std::time::Duration),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<tower_sessions::session::Error> for Error {
    fn from(err: tower_sessions::session::Error) -> Self {
        match err {
            // A record we cannot decode is no session (e.g. written by an older version).
            tower_sessions::session::Error::SerdeJson(_) => Error::Unauthenticated,
            tower_sessions::session::Error::Store(err) => Error::StoreUnavailable(err.to_string()),
        }
    }
}

impl From<tower_sessions::session_store::Error> for Error {
    fn from(err: tower_sessions::session_store::Error) -> Self {
        Error::StoreUnavailable(err.to_string())
    }
}

/// `302 Found` (the issue asks for 302; axum's `Redirect::to` is a 303).
pub fn found(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn json_error(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::StoreUnavailable(_)
            | Error::ProviderUnavailable(_)
            | Error::BadGateway(_)
            | Error::Internal(_) => {
                tracing::warn!(error = %self, "request failed");
            }
            _ => tracing::debug!(error = %self, "request refused"),
        }
        match self {
            Error::Unauthenticated => json_error(
                StatusCode::UNAUTHORIZED,
                json!({"error": "unauthenticated"}),
            ),
            Error::SessionExpired => json_error(
                StatusCode::UNAUTHORIZED,
                json!({"error": "session_expired"}),
            ),
            Error::Forbidden(reason) => json_error(
                StatusCode::FORBIDDEN,
                json!({"error": "forbidden", "error_description": reason}),
            ),
            Error::BadRequest(reason) => json_error(
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_request", "error_description": reason}),
            ),
            Error::InvalidRequest(reason) => json_error(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": reason}),
            ),
            Error::NotFound => json_error(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
            Error::StoreUnavailable(_) => json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "session_store_unavailable"}),
            ),
            Error::ProviderUnavailable(_) => {
                let mut response = json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "provider_unavailable"}),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Error::BadGateway(_) => {
                json_error(StatusCode::BAD_GATEWAY, json!({"error": "bad_gateway"}))
            }
            Error::RateLimited(wait) => {
                let mut response = json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": "rate_limited", "error_description": "too many sign-in attempts from this address; retry later"}),
                );
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                response
            }
            Error::Login(code) => {
                let target = format!("/?login_error={code}");
                found(&target)
            }
            // Never a 500 for something the operator can retry: the body stays generic.
            Error::Internal(_) => json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "temporarily_unavailable"}),
            ),
        }
    }
}
