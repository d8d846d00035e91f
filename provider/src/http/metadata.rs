//! RFC 8414 metadata, OpenID Connect Discovery 1.0, and the health check.
//!
//! One document for both: every field is the same in the RFC 8414 document and the
//! OpenID Provider configuration, except `userinfo_endpoint` — `/api/me/` in the
//! RFC 8414 document (what it always was: any token, django-oauth-toolkit's shape,
//! which OAuth2 clients such as the BFF read), `/oauth2/userinfo/` (OIDC Core §5.3,
//! needs `openid`) in the OpenID one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use latchkey_shared::ServerMetadata;

use crate::AuthServer;

fn document(server: &AuthServer, userinfo_path: &str) -> ServerMetadata {
    let base = &server.settings.issuer;
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let client_auth = strings(&["client_secret_basic", "client_secret_post"]);
    ServerMetadata {
        issuer: base.clone(),
        authorization_endpoint: format!("{base}/oauth2/authorize/"),
        token_endpoint: format!("{base}/oauth2/token/"),
        revocation_endpoint: Some(format!("{base}/oauth2/revoke_token/")),
        introspection_endpoint: Some(format!("{base}/oauth2/introspect/")),
        userinfo_endpoint: Some(format!("{base}{userinfo_path}")),
        jwks_uri: Some(format!("{base}/oauth2/.well-known/jwks.json")),
        end_session_endpoint: Some(format!("{base}/oauth2/logout/")),
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
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&crate::oidc::keys::ALGS),
        claims_supported: strings(&crate::oidc::claims::SUPPORTED),
        backchannel_logout_supported: Some(true),
        backchannel_logout_session_supported: Some(true),
    }
}

/// RFC 8414 §3: lists exactly what this server supports.
pub async fn metadata(State(server): State<Arc<AuthServer>>) -> Json<ServerMetadata> {
    Json(document(&server, "/api/me/"))
}

/// OpenID Connect Discovery 1.0 §4 (at the issuer's and at django-oauth-toolkit's path).
pub async fn openid_configuration(State(server): State<Arc<AuthServer>>) -> Json<ServerMetadata> {
    Json(document(&server, "/oauth2/userinfo/"))
}

pub async fn healthz() -> &'static str {
    "ok"
}
