//! Extractors whose rejections are our errors, not axum's plain-text ones.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;

use crate::error::OAuthError;
use crate::params::Params;

/// A form-encoded body parsed strictly (see `params`); every failure is
/// RFC 6749 `invalid_request`.
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // The media type exactly (RFC 9110 §8.3.1: case-insensitive, parameters such
        // as `charset` allowed), not a prefix: `…-urlencodedX` is another type.
        let media_type = ct.split(';').next().unwrap_or("").trim();
        if !ct.is_empty() && !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|_| {
            OAuthError::invalid_request("the request body is unreadable or larger than 16 KiB")
        })?;
        Params::parse(&body)
            .map(Form)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))
    }
}

/// The raw query string, parsed strictly; errors are kept for the handler to
/// decide how to show them.
pub struct Query(pub Result<Params, String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Query(
            Params::parse(q.as_bytes()).map_err(|e| e.to_string()),
        ))
    }
}

/// A form body for the HTML pages: failures are kept for the handler to show as a page.
pub struct PageForm(pub Result<Params, String>);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(PageForm(match Bytes::from_request(req, state).await {
            Ok(body) => Params::parse(&body).map_err(|e| e.to_string()),
            Err(_) => Err("the form is unreadable or larger than 16 KiB".to_owned()),
        }))
    }
}
