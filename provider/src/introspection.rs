//! Token introspection (RFC 7662): what an authenticated client may learn about a token.
//!
//! RFC 7662 §2.1 lets the server decide which protected resources may ask about
//! which tokens, and §4 warns that an open endpoint lets any client harvest other
//! clients' tokens: here only the token's own client and applications an operator
//! marked as resource servers learn anything; everyone else gets `{"active": false}`,
//! exactly as for an unknown token (so the answer does not even say it exists).

use latchkey_shared::IntrospectionResponse;

use crate::AuthServer;
use crate::model::Application;
use crate::secret::{PlainToken, TokenHash};
use crate::storage::{Result, now};

/// `{"active": false}` for anything unknown, expired, rotated or revoked (RFC 7662 §2.2).
/// The hint only orders the search (RFC 7662 §2.1).
pub async fn introspect(
    server: &AuthServer,
    caller: &Application,
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
        if let Some((owner, r)) = found {
            return Ok(if caller.is_resource_server || owner == caller.client_id {
                r
            } else {
                IntrospectionResponse::default()
            });
        }
    }
    Ok(IntrospectionResponse::default())
}

/// The owning client's id and the answer for an allowed caller.
type Found = Option<(String, IntrospectionResponse)>;

async fn access(server: &AuthServer, hash: &TokenHash) -> Result<Found> {
    Ok(server.db.access_token_info(hash).await?.map(|info| {
        let owner = info.client_id.clone();
        let r = IntrospectionResponse {
            active: true,
            scope: Some(info.scope.to_string()),
            client_id: Some(info.client_id),
            username: info.user.as_ref().map(|u| u.username.clone()),
            token_type: Some("Bearer".to_owned()),
            exp: Some(info.expires_at),
            iat: Some(info.created_at),
            sub: info.user.map(|u| u.id),
        };
        (owner, r)
    }))
}

async fn refresh(server: &AuthServer, hash: &TokenHash) -> Result<Found> {
    let db = &server.db;
    let Some(r) = db.refresh_token_by_hash(hash).await? else {
        return Ok(None);
    };
    if r.rotated_at.is_some() || r.revoked_at.is_some() || r.expires_at <= now() {
        return Ok(None);
    }
    let Some(app) = db.application_by_id(&r.application_id).await? else {
        return Ok(None);
    };
    let user = match &r.user_id {
        Some(id) => db.user_by_id(id).await?,
        None => None,
    };
    Ok(Some((
        app.client_id.clone(),
        IntrospectionResponse {
            active: true,
            scope: Some(r.scope.to_string()),
            client_id: Some(app.client_id),
            username: user.map(|u| u.username),
            token_type: Some("refresh_token".to_owned()),
            exp: Some(r.expires_at),
            iat: None,
            sub: r.user_id,
        },
    )))
}
