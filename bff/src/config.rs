//! Command-line / environment configuration.
//!
//! Every flag is also a `BFF_*` environment variable; `REDIS_URL` is accepted for
//! `--redis-url`. See `bff/README.md` for the table.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use url::Url;

use crate::secret::ClientSecret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuth {
    /// HTTP Basic (RFC 6749 §2.3.1, `client_secret_basic`).
    Basic,
    /// Credentials in the form body (`client_secret_post`).
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    PerCore,
    Multi,
}

/// What serves HTTP/1.1 on `--listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The raw lane for warm `GET`/`HEAD /api/*` requests, hyper for everything else.
    Raw,
    /// hyper for every request.
    Hyper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SameSite {
    Strict,
    Lax,
}

#[derive(Debug, Clone, Parser)]
#[command(name = "bff", about = "Latchkey backend-for-frontend token proxy")]
pub struct Config {
    /// Address to bind; port 0 picks a free port (printed on stdout).
    #[arg(long, env = "BFF_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Provider base URL; endpoints are discovered (RFC 8414 / OpenID Discovery).
    #[arg(long, env = "BFF_ISSUER")]
    pub issuer: Option<Url>,
    /// The provider URL as the browser sees it, when it differs (docker compose).
    #[arg(long, env = "BFF_PUBLIC_ISSUER")]
    pub public_issuer: Option<Url>,
    #[arg(long, env = "BFF_AUTHORIZE_URL")]
    pub authorize_url: Option<Url>,
    #[arg(long, env = "BFF_TOKEN_URL")]
    pub token_url: Option<Url>,
    #[arg(long, env = "BFF_REVOKE_URL")]
    pub revoke_url: Option<Url>,
    #[arg(long, env = "BFF_USERINFO_URL")]
    pub userinfo_url: Option<Url>,
    /// The provider's JWK Set (OIDC Discovery `jwks_uri`), overriding the discovered one.
    #[arg(long, env = "BFF_JWKS_URL")]
    pub jwks_url: Option<Url>,
    #[arg(long, env = "BFF_CLIENT_ID")]
    pub client_id: String,
    #[arg(long, env = "BFF_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<ClientSecret>,
    #[arg(long, env = "BFF_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    #[arg(long, env = "BFF_CLIENT_AUTH", value_enum, default_value = "basic")]
    pub client_auth: ClientAuth,
    #[arg(
        long,
        env = "BFF_REDIRECT_URI",
        default_value = "http://localhost:3000/auth/callback"
    )]
    pub redirect_uri: Url,
    #[arg(long, env = "BFF_SCOPE", default_value = "read write groups")]
    pub scope: String,
    /// Target of `/api/*`: `/api/x?y` → `UPSTREAM/x?y`.
    #[arg(long, env = "BFF_UPSTREAM")]
    pub upstream: Option<Url>,
    /// Extra routes `PREFIX=URL`: `/api/PREFIX/x` → `URL/x` (repeatable).
    #[arg(long = "route", env = "BFF_ROUTES", value_delimiter = ',')]
    pub routes: Vec<String>,
    /// Redis for sessions (in memory when unset); `REDIS_URL` is read when this is unset.
    #[arg(long, env = "BFF_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    #[arg(long, env = "BFF_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// `false` for plain-http development: the cookie then loses its `__Host-` prefix.
    #[arg(long, env = "BFF_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
    #[arg(
        long,
        env = "BFF_COOKIE_SAME_SITE",
        value_enum,
        default_value = "strict"
    )]
    pub cookie_same_site: SameSite,
    #[arg(long, env = "BFF_IDLE_TIMEOUT_SECONDS", default_value_t = 1800)]
    pub idle_timeout_seconds: u64,
    #[arg(long, env = "BFF_ABSOLUTE_TIMEOUT_SECONDS", default_value_t = 43200)]
    pub absolute_timeout_seconds: u64,
    #[arg(long, env = "BFF_REFRESH_SKEW_SECONDS", default_value_t = 30)]
    pub refresh_skew_seconds: u64,
    /// Bound on every session-store operation; past it the request gets a 503.
    #[arg(long, env = "BFF_REDIS_TIMEOUT_MS", default_value_t = 2000)]
    pub redis_timeout_ms: u64,
    /// Extra origins allowed on state-changing requests (the redirect URI's origin always is).
    #[arg(long, env = "BFF_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Name of the anti-CSRF request header (value must be `1`).
    #[arg(long, env = "BFF_CSRF_HEADER", default_value = "x-csrf")]
    pub csrf_header: String,
    /// Upstream request timeout (whole exchange, streaming included).
    #[arg(long, env = "BFF_UPSTREAM_TIMEOUT_SECONDS", default_value_t = 300)]
    pub upstream_timeout_seconds: u64,
    /// Server keys mixed into every session's derived keys: one base64 32-byte key per
    /// line (`openssl rand -base64 32`); the first seals, all open (rotation). Shared by
    /// all replicas. Without it, the cookie's secret alone derives them.
    #[arg(long, env = "BFF_SESSION_KEY_FILE")]
    pub session_key_file: Option<PathBuf>,
    /// In-memory store: most sessions held; past it new sign-ins get a 503.
    #[arg(long, env = "BFF_MEMORY_MAX_SESSIONS", default_value_t = 100_000)]
    pub memory_max_sessions: usize,
    /// In-memory store: most pre-login records held; past it the oldest go first.
    #[arg(long, env = "BFF_MEMORY_MAX_LOGINS", default_value_t = 10_000)]
    pub memory_max_logins: usize,
    /// `GET /auth/login` per client IP per minute (0: no limit); over it: 429.
    #[arg(long, env = "BFF_LOGIN_RATE_PER_MINUTE", default_value_t = 30)]
    pub login_rate_per_minute: u32,
    /// Proxies whose `X-Forwarded-For/-Proto/-Host` are believed (CIDRs or addresses,
    /// comma-separated). Everyone else's are dropped.
    #[arg(long, env = "BFF_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Pass upstream `Access-Control-*` headers to the browser (a deliberate CORS set-up);
    /// by default they are dropped.
    #[arg(long, env = "BFF_PASS_CORS_HEADERS", default_value_t = false, action = clap::ArgAction::Set)]
    pub pass_cors_headers: bool,
    /// Near cache: decoded sessions are kept this long at most (0: no cache). Other
    /// replicas' changes reach it sooner, through Redis client tracking.
    #[arg(long, env = "BFF_SESSION_CACHE_SECONDS", default_value_t = 10)]
    pub session_cache_seconds: u64,
    /// Near cache: most sessions kept (≈ 0.5 KiB each; 4,096 keeps the BFF under 30 MiB
    /// with 100,000 sessions in Redis).
    #[arg(long, env = "BFF_SESSION_CACHE_CAPACITY", default_value_t = 4096)]
    pub session_cache_capacity: usize,
    /// `per-core`: one single-threaded runtime per core, each with its own
    /// `SO_REUSEPORT` listener; `multi`: one multi-thread runtime.
    #[arg(long, env = "BFF_RUNTIME", value_enum, default_value = "per-core")]
    pub runtime: Runtime,
    /// `raw`: a warm session's plain `GET`/`HEAD /api/*` is proxied without hyper (its
    /// heads parsed with httparse; everything else, and the connection from then on, goes
    /// to hyper); `hyper`: hyper serves every request.
    #[arg(long, env = "BFF_ENGINE", value_enum, default_value = "raw")]
    pub engine: Engine,
    /// The raw lane closes a connection whose request head is not complete this many
    /// seconds after its first byte (slowloris); an idle keep-alive connection is not
    /// limited. (Connections hyper serves have no such limit yet.)
    #[arg(long, env = "BFF_HEAD_TIMEOUT_SECONDS", default_value_t = 30)]
    pub head_timeout_seconds: u64,
    /// At `/auth/logout`, also end the provider's session: the browser is sent to the
    /// provider's `end_session_endpoint` (OpenID RP-Initiated Logout 1.0) when discovery
    /// found one and the session has an ID Token (scope `openid`).
    #[arg(long, env = "BFF_PROVIDER_LOGOUT", default_value_t = true, action = clap::ArgAction::Set)]
    pub provider_logout: bool,
    /// Where the provider sends the browser after its logout; must be registered there
    /// (`createapplication --post-logout-redirect-uris`). Default: the redirect URI's
    /// origin with path `/`.
    #[arg(long, env = "BFF_POST_LOGOUT_REDIRECT_URI")]
    pub post_logout_redirect_uri: Option<Url>,
    /// Serve `/metrics` and `/readyz` on this address only (not on `--listen`).
    #[arg(long, env = "BFF_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

impl Config {
    /// Parses flags, falling back to `REDIS_URL` as the issue asks.
    pub fn from_env_and_args() -> Self {
        let mut config = Config::parse();
        if config.redis_url.is_none() {
            config.redis_url = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty());
        }
        config
    }

    pub fn client_secret(&self) -> anyhow::Result<ClientSecret> {
        match (&self.client_secret, &self.client_secret_file) {
            (Some(secret), _) => Ok(secret.clone()),
            (None, Some(path)) => {
                let secret = std::fs::read_to_string(path)?;
                Ok(ClientSecret::new(secret.trim().to_owned()))
            }
            (None, None) => anyhow::bail!("--client-secret or --client-secret-file is required"),
        }
    }

    pub fn cookie_name(&self) -> &'static str {
        // RFC 6265bis §4.1.3.2: `__Host-` needs Secure, Path=/ and no Domain.
        if self.cookie_secure {
            "__Host-latchkey-bff"
        } else {
            "latchkey-bff"
        }
    }

    pub fn login_cookie_name(&self) -> &'static str {
        if self.cookie_secure {
            "__Host-latchkey-bff-login"
        } else {
            "latchkey-bff-login"
        }
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    pub fn near_cache(&self) -> crate::session::cache::NearCache {
        crate::session::cache::NearCache::new(
            self.session_cache_capacity,
            Duration::from_secs(self.session_cache_seconds),
        )
    }

    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    /// `--post-logout-redirect-uri`, or the redirect URI's origin with path `/`.
    pub fn post_logout_redirect_uri(&self) -> Url {
        self.post_logout_redirect_uri.clone().unwrap_or_else(|| {
            let mut url = self.redirect_uri.clone();
            url.set_path("/");
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    }

    /// Origins allowed on state-changing requests: the redirect URI's plus `--allowed-origins`.
    pub fn allowed_origins(&self) -> Vec<String> {
        let mut origins = vec![self.redirect_uri.origin().ascii_serialization()];
        origins.extend(
            self.allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty()),
        );
        origins
    }
}
