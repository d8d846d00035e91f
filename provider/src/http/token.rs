//! Token, revocation and introspection endpoints: thin handlers over the domain.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::errors::no_store;
use super::extract::Form;
use crate::AuthServer;
use crate::client_auth;
use crate::error::{ErrorCode, OAuthError};
use crate::secret::PlainToken;
use crate::token_request::TokenRequest;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

#[tracing::instrument(name = "token", skip_all, fields(grant_type, client_id))]
pub async fn token(
    State(server): State<Arc<AuthServer>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(params): Form,
) -> Result<Response, OAuthError> {
    let request = TokenRequest::parse(&params).inspect_err(|e| {
        crate::metrics::count_grant("unknown", e.code.as_str());
    })?;
    let grant_type = request.grant_type();
    let result = async {
        let creds = client_auth::credentials(authorization(&headers), &params)?;
        let span = tracing::Span::current();
        span.record("grant_type", grant_type);
        span.record("client_id", creds.client_id.as_str());
        crate::grants::exchange(&server, &creds, request, peer.ip()).await
    }
    .await;
    let outcome = result.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
    crate::metrics::count_grant(grant_type, outcome);
    Ok(no_store(Json(result?).into_response()))
}

/// RFC 7009 §2.1.
pub async fn revoke(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Form(params): Form,
) -> Result<Response, OAuthError> {
    let creds = client_auth::credentials(authorization(&headers), &params)?;
    let app = client_auth::authenticate(&server.db, &creds).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    crate::revocation::revoke(
        &server,
        &app,
        &PlainToken::from_client(token),
        params.get("token_type_hint"),
    )
    .await?;
    Ok(no_store(().into_response()))
}

/// RFC 7662 §2.1: only authenticated (confidential) clients may introspect, and
/// learn only about their own tokens unless they are resource servers (§4).
pub async fn introspect(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Form(params): Form,
) -> Result<Response, OAuthError> {
    let creds = client_auth::credentials(authorization(&headers), &params)?;
    let app = client_auth::authenticate(&server.db, &creds).await?;
    if app.is_public() {
        return Err(OAuthError {
            basic_challenge: creds.via_basic,
            ..OAuthError::new(
                ErrorCode::InvalidClient,
                "introspection needs a confidential client",
            )
        });
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let r = crate::introspection::introspect(
        &server,
        &app,
        &PlainToken::from_client(token),
        params.get("token_type_hint"),
    )
    .await?;
    Ok(no_store(Json(r).into_response()))
}
