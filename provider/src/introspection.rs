//! Token introspection (RFC 7662): what an authenticated client may learn about a token.

use latchkey_shared::IntrospectionResponse;

use crate::AuthServer;
use crate::secret::{PlainToken, TokenHash};
use crate::storage::{Result, now};

/// `{"active": false}` for anything unknown, expired, rotated or revoked (RFC 7662 §2.2).
/// The hint only orders the search (RFC 7662 §2.1).
pub async fn introspect(
    server: &AuthServer,
    token: &PlainToken,
    hint: Option<&str>,
) -> Result<IntrospectionResponse> {
    let hash = token.hash();
    let refresh_first = hint == Some("refresh_token");
    for try_refresh in [refresh_first, !refresh_first] {
        let found = if try_refresh {
            refresh(server, &hash).await?
        } else {
            access(server, &hash).await?
        };
        if let Some(r) = found {
            return Ok(r);
        }
    }
    Ok(IntrospectionResponse::default())
}

async fn access(server: &AuthServer, hash: &TokenHash) -> Result<Option<IntrospectionResponse>> {
    Ok(server
        .db
        .access_token_info(hash)
        .await?
        .map(|info| IntrospectionResponse {
            active: true,
            scope: Some(info.scope.to_string()),
            client_id: Some(info.client_id),
            username: info.user.as_ref().map(|u| u.username.clone()),
            token_type: Some("Bearer".to_owned()),
            exp: Some(info.expires_at),
            iat: Some(info.created_at),
            sub: info.user.map(|u| u.id),
        }))
}

async fn refresh(server: &AuthServer, hash: &TokenHash) -> Result<Option<IntrospectionResponse>> {
    let db = &server.db;
    let Some(r) = db.refresh_token_by_hash(hash).await? else {
        return Ok(None);
    };
    if r.rotated_at.is_some() || r.revoked_at.is_some() || r.expires_at <= now() {
        return Ok(None);
    }
    let app = db.application_by_id(&r.application_id).await?;
    let user = match &r.user_id {
        Some(id) => db.user_by_id(id).await?,
        None => None,
    };
    Ok(Some(IntrospectionResponse {
        active: true,
        scope: Some(r.scope.to_string()),
        client_id: app.map(|a| a.client_id),
        username: user.map(|u| u.username),
        token_type: Some("refresh_token".to_owned()),
        exp: Some(r.expires_at),
        iat: None,
        sub: r.user_id,
    }))
}
