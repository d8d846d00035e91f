//! Bearer-protected REST routes under `/api/` (RFC 6750), the resource-server
//! half of the demo: who am I, my groups, and a small write API.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AuthServer;
use crate::error::BearerError;
use crate::model::TokenInfo;
use crate::secret::TokenHash;
use crate::storage::{new_id, now};

/// A request carrying a valid access token (`Authorization: Bearer …`, RFC 6750 §2.1).
pub struct Bearer(pub TokenInfo);

impl FromRequestParts<Arc<AuthServer>> for Bearer {
    type Rejection = BearerError;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Arc<AuthServer>,
    ) -> Result<Self, Self::Rejection> {
        let token = header_token(&parts.headers)?.ok_or(BearerError::Missing)?;
        Ok(Bearer(lookup(server, token).await?))
    }
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if there is one.
pub(super) fn header_token(headers: &axum::http::HeaderMap) -> Result<Option<&str>, BearerError> {
    let Some(h) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    h.to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .map(Some)
        .ok_or(BearerError::InvalidToken("malformed Authorization header"))
}

/// The live access token's record.
pub(super) async fn lookup(server: &AuthServer, token: &str) -> Result<TokenInfo, BearerError> {
    server
        .db
        .access_token_info(&TokenHash::of(token))
        .await?
        .ok_or(BearerError::InvalidToken(
            "the access token is invalid, expired or revoked",
        ))
}

impl Bearer {
    pub(super) fn require(&self, scope: &'static str) -> Result<(), BearerError> {
        if self.0.scope.contains(scope) {
            Ok(())
        } else {
            Err(BearerError::InsufficientScope(scope))
        }
    }
}

/// Who the token stands for. Any valid token; also served as the userinfo endpoint.
pub async fn me(Bearer(t): Bearer) -> Json<Value> {
    Json(json!({
        "sub": t.user.as_ref().map(|u| &u.id),
        "username": t.user.as_ref().map(|u| &u.username),
        "email": t.user.as_ref().map(|u| &u.email),
        "is_staff": t.user.as_ref().is_some_and(|u| u.is_staff),
        "scope": t.scope.to_string(),
        "application": {"client_id": t.client_id, "name": t.application_name},
        "expires_at": t.expires_at,
    }))
}

/// Needs scope `groups`.
pub async fn groups(bearer: Bearer) -> Result<Json<Value>, BearerError> {
    bearer.require("groups")?;
    let groups = bearer.0.user.map(|u| u.groups).unwrap_or_default();
    Ok(Json(json!({ "groups": groups })))
}

/// Needs scope `read`.
pub async fn list_notes(
    State(server): State<Arc<AuthServer>>,
    bearer: Bearer,
) -> Result<Json<Value>, BearerError> {
    bearer.require("read")?;
    let user_id = bearer.0.user.as_ref().map(|u| u.id.clone());
    let notes = server
        .db
        .list_notes(user_id.as_deref(), &bearer.0.client_id)
        .await?;
    Ok(Json(
        json!({ "notes": notes.into_iter().map(|(id, text, at)| json!({"id": id, "text": text, "created_at": at})).collect::<Vec<_>>() }),
    ))
}

pub const MAX_NOTE_LEN: usize = 1000;

/// Needs scope `write`. Body: `{"text": "…"}` (≤ 1000 characters).
pub async fn create_note(
    State(server): State<Arc<AuthServer>>,
    bearer: Bearer,
    body: Bytes,
) -> Result<impl IntoResponse, BearerError> {
    bearer.require("write")?;
    let text = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("text").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| {
            BearerError::BadRequest("the body must be JSON like {\"text\": \"…\"}".into())
        })?;
    if text.trim().is_empty() || text.chars().count() > MAX_NOTE_LEN {
        return Err(BearerError::BadRequest(
            format!("text must be 1 to {MAX_NOTE_LEN} characters").into(),
        ));
    }
    let id = new_id();
    let at = now();
    let user_id = bearer.0.user.as_ref().map(|u| u.id.clone());
    server
        .db
        .insert_note(&id, user_id.as_deref(), &bearer.0.client_id, &text, at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "text": text, "created_at": at})),
    ))
}
