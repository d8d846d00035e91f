//! RFC 8414 metadata and the health check.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use latchkey_shared::ServerMetadata;

use crate::AuthServer;

/// RFC 8414 §3: lists exactly what this server supports.
pub async fn metadata(State(server): State<Arc<AuthServer>>) -> Json<ServerMetadata> {
    let base = &server.settings.issuer;
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let client_auth = strings(&["client_secret_basic", "client_secret_post"]);
    Json(ServerMetadata {
        issuer: base.clone(),
        authorization_endpoint: format!("{base}/oauth2/authorize/"),
        token_endpoint: format!("{base}/oauth2/token/"),
        revocation_endpoint: Some(format!("{base}/oauth2/revoke_token/")),
        introspection_endpoint: Some(format!("{base}/oauth2/introspect/")),
        userinfo_endpoint: Some(format!("{base}/api/me/")),
        jwks_uri: None,
        end_session_endpoint: None,
        scopes_supported: server.settings.scopes.iter().map(str::to_owned).collect(),
        response_types_supported: strings(&["code"]),
        grant_types_supported: strings(&[
            "authorization_code",
            "refresh_token",
            "password",
            "client_credentials",
        ]),
        token_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]),
        revocation_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]),
        introspection_endpoint_auth_methods_supported: client_auth,
        code_challenge_methods_supported: strings(&["S256"]),
    })
}

pub async fn healthz() -> &'static str {
    "ok"
}
