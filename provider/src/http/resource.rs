//! RFC 9728 protected resource metadata for the bearer-protected `/api/`, and the
//! `resource_metadata` parameter its 401 challenges carry (RFC 9728 §5.1).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

use crate::AuthServer;

/// The resource identifier of `/api/` and (§3.1: the well-known segment goes
/// between the host and the resource's path) where its metadata is.
fn api_resource(server: &AuthServer) -> (String, String) {
    let base = &server.settings.issuer;
    (
        format!("{base}/api/"),
        format!("{base}/.well-known/oauth-protected-resource/api/"),
    )
}

fn document(server: &AuthServer, resource: String) -> Json<Value> {
    Json(json!({
        "resource": resource,
        "authorization_servers": [server.settings.issuer],
        // RFC 9728 §2: the scopes that reach this resource; OpenID Connect's are the
        // authorization server's own (ID Token, UserInfo), not `/api/`'s.
        "scopes_supported": server
            .settings
            .scopes
            .iter()
            .filter(|s| !crate::oidc::SCOPES.contains(s))
            .collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
        "resource_name": "Latchkey API",
    }))
}

/// `/.well-known/oauth-protected-resource/api/`: `resource` is `<issuer>/api/`
/// (§3.3: the identifier the URL was formed from).
pub async fn api_metadata(State(server): State<Arc<AuthServer>>) -> Json<Value> {
    let (resource, _) = api_resource(&server);
    document(&server, resource)
}

/// `/.well-known/oauth-protected-resource`: the host as a resource (`resource`
/// is the issuer), for clients that look only there.
pub async fn host_metadata(State(server): State<Arc<AuthServer>>) -> Json<Value> {
    let issuer = server.settings.issuer.clone();
    document(&server, issuer)
}

/// Adds `resource_metadata="…"` to the Bearer challenge of a 401 or 403
/// (RFC 9728 §5.1), keeping RFC 6750 §3's `error=` as the handler set it.
pub async fn challenge(
    State(server): State<Arc<AuthServer>>,
    req: Request,
    next: Next,
) -> Response {
    let mut r = next.run(req).await;
    if !matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return r;
    }
    let (_, metadata) = api_resource(&server);
    let h = r.headers_mut();
    let old = h
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("Bearer"))
        .map(str::to_owned);
    if let Some(old) = old
        && let Ok(v) = HeaderValue::from_str(&format!("{old}, resource_metadata=\"{metadata}\""))
    {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    r
}
