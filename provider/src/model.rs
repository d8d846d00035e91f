//! The domain's records: users, applications, and what a token stands for.

use crate::scope::Scopes;
use crate::secret::TokenHash;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub groups: Vec<String>,
    pub created_at: i64,
}

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confidential" => Some(Self::Confidential),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// The device grant's `grant_type` (RFC 8628 §3.4), also django-oauth-toolkit's
/// stored `authorization_grant_type`.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// django-oauth-toolkit's `authorization_grant_type`: the one grant an app may use
/// (plus `refresh_token` for the grants that issue refresh tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppGrant {
    AuthorizationCode,
    Password,
    ClientCredentials,
    /// RFC 8628 (django-oauth-toolkit stores the grant's URN).
    DeviceCode,
}

impl AppGrant {
    /// The stored (and django-oauth-toolkit) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization-code",
            Self::Password => "password",
            Self::ClientCredentials => "client-credentials",
            Self::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization-code" | "authorization_code" => Some(Self::AuthorizationCode),
            "password" => Some(Self::Password),
            "client-credentials" | "client_credentials" => Some(Self::ClientCredentials),
            DEVICE_CODE_GRANT | "device-code" | "device_code" => Some(Self::DeviceCode),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub client_id: String,
    pub client_secret_hash: Option<TokenHash>,
    pub client_type: ClientType,
    pub grant: AppGrant,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub skip_authorization: bool,
    pub require_pkce: bool,
    /// `None`: every scope the server knows.
    pub allowed_scopes: Option<Scopes>,
    pub user_id: Option<String>,
    /// May introspect other applications' tokens (RFC 7662 §4).
    pub is_resource_server: bool,
    pub created_at: i64,
}

impl Application {
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }
}

/// What a valid access token stands for (the result of a bearer lookup).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub token_id: String,
    pub scope: Scopes,
    pub expires_at: i64,
    pub created_at: i64,
    pub client_id: String,
    pub application_name: String,
    pub user: Option<TokenUser>,
}

#[derive(Debug, Clone)]
pub struct TokenUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub groups: Vec<String>,
    pub is_staff: bool,
}
