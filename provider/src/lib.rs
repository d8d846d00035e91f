//! Latchkey's provider: a django-oauth-toolkit-compatible OAuth2 authorization server.
//!
//! Layout: the domain (`authorize`, `grants/`, `token_request`, `client_auth`,
//! `issue`, `revocation`, `introspection`, `throttle`) knows nothing of axum;
//! `storage` is the database; `http` maps requests and errors; `cli` and
//! `config` read flags and env.

pub mod authorize;
pub mod cli;
pub mod client_auth;
pub mod config;
pub mod error;
pub mod grants;
pub mod hosts;
pub mod http;
pub mod introspection;
pub mod issue;
pub mod management;
pub mod metrics;
pub mod model;
pub mod oidc;
pub mod params;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
pub mod revocation;
pub mod scope;
pub mod sealed;
pub mod secret;
pub mod storage;
pub mod successor;
pub mod throttle;
pub mod token_request;

/// Everything a request needs: the database, the settings, and the process's
/// bounded queue of password verifications.
#[derive(Debug)]
pub struct AuthServer {
    pub db: storage::Db,
    pub settings: config::Settings,
    pub logins: password::LoginQueue,
    /// Signs the CSRF tokens of the provider's forms (shared through the database).
    pub csrf_key: secret::SigningKey,
    /// OpenID Connect: the signing key (shared through the database) and the
    /// back-channel logout sender's wake-up.
    pub oidc: oidc::Oidc,
}

impl AuthServer {
    /// Loads (or, on first start, creates) the shared keys.
    pub async fn start(
        db: storage::Db,
        settings: config::Settings,
    ) -> Result<Self, oidc::keys::KeyError> {
        let t = settings.throttle;
        let csrf_key = secret::SigningKey::new(&db.server_key("csrf").await?);
        let o = settings.oidc;
        oidc::keys::ensure(&db, o.signing_alg, o.keep_retired_seconds()).await?;
        Ok(Self {
            db,
            logins: password::LoginQueue::new(t.max_queued_logins, t.max_queued_logins_per_ip),
            csrf_key,
            oidc: oidc::Oidc::default(),
            settings,
        })
    }
}
