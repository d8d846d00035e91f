//! Every error family into HTTP, in one place.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use latchkey_shared::{ErrorBody, ErrorCode};

use super::pages::{ErrorPage, RenderOrPlain};
use crate::error::{AuthorizeError, BearerError, OAuthError, PageError};
use crate::redirect_uri;

/// `302 Found`: the redirect RFC 6749 §4.1.2 shows for the authorization endpoint.
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => PageError::new(400, "The redirect URI cannot be used.").into_response(),
    }
}

/// RFC 6749 §5.1/§5.2: token-endpoint responses must not be cached.
pub fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match (self.code, self.retry_after) {
            (_, Some(_)) => StatusCode::TOO_MANY_REQUESTS,
            (ErrorCode::InvalidClient, _) => StatusCode::UNAUTHORIZED,
            (ErrorCode::ServerError, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (ErrorCode::TemporarilyUnavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = ErrorBody {
            error: self.code,
            error_description: Some(self.description.into_owned()),
        };
        let mut r = no_store((status, Json(body)).into_response());
        if self.basic_challenge && self.code == ErrorCode::InvalidClient {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"latchkey\""),
            );
        }
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        match self {
            AuthorizeError::Page { status, message } => {
                PageError { status, message }.into_response()
            }
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                code,
                description,
            } => {
                let mut params = vec![
                    ("error", code.as_str()),
                    ("error_description", &*description),
                ];
                if let Some(s) = &state {
                    params.push(("state", s));
                }
                found(&redirect_uri::with_params(&redirect_uri, &params))
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let title = match status {
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            s if s.is_server_error() => "Temporarily unavailable",
            _ => "Something is wrong with this request",
        };
        let page = ErrorPage {
            title,
            message: &self.message,
        };
        (status, Html(page.render_or_plain())).into_response()
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match self {
            // RFC 6750 §3.1: no credentials → no error code in the challenge.
            BearerError::Missing => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"latchkey\"".to_owned(),
                serde_json::json!({"detail": "Authentication credentials were not provided."}),
            ),
            BearerError::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"{why}\""
                ),
                serde_json::json!({"error": "invalid_token", "error_description": why}),
            ),
            BearerError::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"{scope}\""
                ),
                serde_json::json!({"error": "insufficient_scope", "error_description": format!("this route needs the {scope} scope"), "scope": scope}),
            ),
            BearerError::BadRequest(why) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(serde_json::json!({"error": "invalid_request", "error_description": why})),
                )
                    .into_response();
            }
            BearerError::Storage => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"error": "temporarily_unavailable"})),
                )
                    .into_response();
            }
        };
        let mut r = (status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}
