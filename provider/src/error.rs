//! The provider's error families, one per RFC error vocabulary. Each is mapped
//! to an HTTP response in exactly one place: `http::errors`.

use std::borrow::Cow;

pub use latchkey_shared::ErrorCode;

use crate::storage::StorageError;

/// Token, revocation and introspection endpoint errors (RFC 6749 §5.2).
#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// The client authenticated with HTTP Basic: `invalid_client` answers with a
    /// `WWW-Authenticate: Basic` challenge (RFC 6749 §5.2).
    pub basic_challenge: bool,
    /// Seconds to wait (throttling → 429 + `Retry-After`).
    pub retry_after: Option<i64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }

    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }

    pub fn throttled(retry_after: i64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "too many failed attempts; retry later",
            )
        }
    }
}

impl From<StorageError> for OAuthError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

impl From<crate::throttle::Throttled> for OAuthError {
    fn from(t: crate::throttle::Throttled) -> Self {
        Self::throttled(t.retry_after)
    }
}

/// Authorization endpoint errors (RFC 6749 §4.1.2.1).
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect.
    Page {
        status: u16,
        message: Cow<'static, str>,
    },
    /// The redirect URI is valid: send the error back to the client.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        code: ErrorCode,
        description: Cow<'static, str>,
    },
}

impl AuthorizeError {
    pub fn page(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Page {
            status: 400,
            message: message.into(),
        }
    }
}

impl From<StorageError> for AuthorizeError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::Page {
            status: 503,
            message: "The server could not complete the request. Try again.".into(),
        }
    }
}

/// Protected-resource errors (RFC 6750 §3).
#[derive(Debug)]
pub enum BearerError {
    /// No credentials at all: 401 with a bare challenge (RFC 6750 §3.1).
    Missing,
    /// Unknown, expired or revoked token, or a malformed header.
    InvalidToken(&'static str),
    /// The token lacks the scope the route needs (403).
    InsufficientScope(&'static str),
    Storage,
    /// A bad request body on an API route.
    BadRequest(Cow<'static, str>),
}

impl From<StorageError> for BearerError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::Storage
    }
}

/// Errors of the provider's HTML pages (login, consent): shown as a readable page.
#[derive(Debug)]
pub struct PageError {
    pub status: u16,
    pub message: Cow<'static, str>,
}

impl PageError {
    pub fn new(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<StorageError> for PageError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::new(503, "The server could not complete the request. Try again.")
    }
}
