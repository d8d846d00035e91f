//! OpenID Connect on top of the OAuth2 server: ID Tokens for the code flow (OIDC
//! Core 1.0 §3.1), signing keys and JWKS, discovery, UserInfo, RP-Initiated Logout
//! 1.0 and Back-Channel Logout 1.0 (sender).

pub mod backchannel;
pub mod claims;
pub mod id_token;
pub mod keys;
pub mod logout;
pub mod prompt;
pub mod registration;

use crate::error::{ErrorCode, OAuthError};

/// The scopes OpenID Connect defines that this server knows (OIDC Core §5.4).
pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const SCOPES: [&str; 3] = [OPENID, PROFILE, EMAIL];

/// The process's OpenID Connect state: the cached signing key, and a wake-up for
/// the back-channel logout sender when this process queued a notification.
#[derive(Debug, Default)]
pub struct Oidc {
    pub keys: keys::KeyCache,
    pub outbox: tokio::sync::Notify,
}

impl From<keys::KeyError> for OAuthError {
    fn from(e: keys::KeyError) -> Self {
        tracing::error!(error = %e, "signing failure");
        OAuthError::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}
