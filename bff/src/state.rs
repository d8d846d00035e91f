//! What every handler shares: configuration, clients, the store, metrics.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::http::client_ip::TrustedProxies;
use crate::http::rate_limit::RateLimiter;
use crate::metrics::Metrics;
use crate::oauth::id_token::Verifier as IdTokenVerifier;
use crate::oauth::provider::{Endpoints, OAuthClient};
use crate::proxy::routes::Routes;
use crate::proxy::upstream::Upstream;
use crate::secret::ClientSecret;
use crate::session::Store;
use crate::session::memory::Limits;
use crate::session::ticket::{Keyring, ServerKey};

pub struct AppState {
    pub config: Config,
    /// The one HTTP client: pooled, never follows redirects.
    pub http: reqwest::Client,
    /// The client of `/api/*` (see [`crate::proxy::upstream`]).
    pub upstream: Upstream,
    pub oauth: OAuthClient,
    pub client_secret: ClientSecret,
    pub endpoints: Endpoints,
    /// Validates ID Tokens; holds the cached JWKS.
    pub id_tokens: IdTokenVerifier,
    pub store: Store,
    pub metrics: Metrics,
    pub routes: Routes,
    pub allowed_origins: Vec<String>,
    /// Whose `X-Forwarded-*` may be believed (`--trusted-proxies`).
    pub trusted_proxies: TrustedProxies,
    /// `GET /auth/login` per client IP.
    pub login_limiter: RateLimiter,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<SharedState> {
        let http = reqwest::Client::builder()
            // oauth2's advice: no redirects (SSRF); a proxy passes 3xx through anyway.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        let endpoints = Endpoints::resolve(&http, &config).await?;
        let client_secret = config.client_secret()?;
        let oauth = crate::oauth::provider::oauth_client(&config, &endpoints, &client_secret)?;
        let store = match &config.redis_url {
            Some(url) => {
                Store::redis(
                    url,
                    config.store_timeout(),
                    keyring(&config)?,
                    config.near_cache(),
                )
                .await?
            }
            None => {
                // One process: a key of its own unless one is configured.
                let keys = match &config.session_key_file {
                    Some(_) => keyring(&config)?,
                    None => Keyring::new(vec![ServerKey::random()]),
                };
                let limits = Limits {
                    max_sessions: config.memory_max_sessions,
                    max_logins: config.memory_max_logins,
                };
                Store::memory(config.store_timeout(), limits, keys, config.near_cache())
            }
        };
        let routes = Routes::new(config.upstream.clone(), &config.routes)?;
        let upstream = Upstream::new(Duration::from_secs(config.upstream_timeout_seconds))?;
        let id_tokens = IdTokenVerifier::new(
            endpoints.issuer.clone(),
            config.client_id.clone(),
            endpoints.jwks.clone(),
        );
        let trusted_proxies = TrustedProxies::parse(&config.trusted_proxies)?;
        let login_limiter = RateLimiter::per_minute(config.login_rate_per_minute);
        login_limiter.spawn_sweeper();
        Ok(Arc::new(AppState {
            trusted_proxies,
            login_limiter,
            allowed_origins: config.allowed_origins(),
            id_tokens,
            config,
            http,
            upstream,
            oauth,
            client_secret,
            endpoints,
            store,
            metrics: Metrics::default(),
            routes,
        }))
    }
}

/// The server keys of `--session-key-file`, or none (the ticket alone then derives).
fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    match &config.session_key_file {
        Some(path) => Keyring::from_file(path),
        None => Ok(Keyring::default()),
    }
}
