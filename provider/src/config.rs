//! Server settings, with django-oauth-toolkit's names where it has one.
//!
//! Every flag of `provider serve` is also read from an env var (`PROVIDER_*`):
//! `PROVIDER_LISTEN`, `PROVIDER_ISSUER`, `PROVIDER_METRICS_LISTEN`, `PROVIDER_SCOPES`,
//! `PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS`, `PROVIDER_AUTHORIZATION_CODE_EXPIRE_SECONDS`,
//! `PROVIDER_REFRESH_TOKEN_EXPIRE_SECONDS`, `PROVIDER_REFRESH_TOKEN_GRACE_PERIOD_SECONDS`,
//! `PROVIDER_LOGIN_SESSION_SECONDS`, `PROVIDER_COOKIE_SECURE`,
//! `PROVIDER_THROTTLE_MAX_FAILURES_PER_USER`, `PROVIDER_THROTTLE_MAX_FAILURES_PER_IP`,
//! `PROVIDER_THROTTLE_WINDOW_SECONDS`, `PROVIDER_MAX_QUEUED_LOGINS`,
//! `PROVIDER_MAX_QUEUED_LOGINS_PER_IP`, `PROVIDER_SWEEP_INTERVAL_SECONDS`,
//! `PROVIDER_ALLOWED_HOSTS`, `PROVIDER_SIGNING_ALG`, `PROVIDER_ID_TOKEN_EXPIRE_SECONDS`.

use std::net::SocketAddr;

use clap::Args;

use crate::hosts::AllowedHosts;
use crate::scope::Scopes;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "PROVIDER_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Public base URL of this server (RFC 8414 issuer). Default: http://<listen address>.
    #[arg(long, env = "PROVIDER_ISSUER")]
    pub issuer: Option<String>,
    /// Serve `/metrics` and `/readyz` on this address only (default: on --listen).
    #[arg(long, env = "PROVIDER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Every scope the server knows, space-separated. Apps get all of them unless restricted.
    /// `openid profile email` are OpenID Connect's: granted only when asked for.
    #[arg(
        long,
        env = "PROVIDER_SCOPES",
        default_value = "read write groups openid profile email"
    )]
    pub scopes: String,
    /// Access token lifetime (django-oauth-toolkit ACCESS_TOKEN_EXPIRE_SECONDS).
    #[arg(
        long,
        env = "PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS",
        default_value_t = 36_000
    )]
    pub access_token_expire_seconds: i64,
    /// Authorization code lifetime (AUTHORIZATION_CODE_EXPIRE_SECONDS).
    #[arg(
        long,
        env = "PROVIDER_AUTHORIZATION_CODE_EXPIRE_SECONDS",
        default_value_t = 60
    )]
    pub authorization_code_expire_seconds: i64,
    /// Refresh token lifetime (REFRESH_TOKEN_EXPIRE_SECONDS), 14 days by default.
    #[arg(
        long,
        env = "PROVIDER_REFRESH_TOKEN_EXPIRE_SECONDS",
        default_value_t = 1_209_600
    )]
    pub refresh_token_expire_seconds: i64,
    /// Window in which an exact retry of a just-rotated refresh token is not treated as reuse.
    #[arg(
        long,
        env = "PROVIDER_REFRESH_TOKEN_GRACE_PERIOD_SECONDS",
        default_value_t = 10
    )]
    pub refresh_token_grace_period_seconds: i64,
    /// Lifetime of a login to the provider's own pages.
    #[arg(
        long,
        env = "PROVIDER_LOGIN_SESSION_SECONDS",
        default_value_t = 1_209_600
    )]
    pub login_session_seconds: i64,
    /// Mark the provider's cookies `Secure` (turn on behind HTTPS).
    #[arg(long, env = "PROVIDER_COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
    /// Failed logins per username in a window before 429.
    #[arg(
        long,
        env = "PROVIDER_THROTTLE_MAX_FAILURES_PER_USER",
        default_value_t = 10
    )]
    pub throttle_max_failures_per_user: i64,
    /// Failed logins per client IP in a window before 429.
    #[arg(
        long,
        env = "PROVIDER_THROTTLE_MAX_FAILURES_PER_IP",
        default_value_t = 50
    )]
    pub throttle_max_failures_per_ip: i64,
    #[arg(long, env = "PROVIDER_THROTTLE_WINDOW_SECONDS", default_value_t = 300)]
    pub throttle_window_seconds: i64,
    /// Logins waiting for or running a password hash, at most (over it: 429 at once).
    /// Default: 16 per hashing slot (one slot per two cores).
    #[arg(long, env = "PROVIDER_MAX_QUEUED_LOGINS")]
    pub max_queued_logins: Option<usize>,
    /// The same bound for one client IP. Default: 2 per hashing slot.
    #[arg(long, env = "PROVIDER_MAX_QUEUED_LOGINS_PER_IP")]
    pub max_queued_logins_per_ip: Option<usize>,
    /// How often expired codes, tokens and sessions are swept (0 = never).
    #[arg(long, env = "PROVIDER_SWEEP_INTERVAL_SECONDS", default_value_t = 60)]
    pub sweep_interval_seconds: u64,
    /// Hosts this server answers for (Django's ALLOWED_HOSTS), separated by spaces or
    /// commas, ports ignored; `.example.com` includes subdomains, `*` allows any.
    /// Default: the issuer's host, the listen address, localhost, 127.0.0.1 and [::1].
    #[arg(long, env = "PROVIDER_ALLOWED_HOSTS")]
    pub allowed_hosts: Option<String>,
    #[command(flatten)]
    pub oidc: OidcArgs,
}

/// OpenID Connect settings (also read by `provider rotatekeys`).
#[derive(Debug, Clone, Copy, Args)]
pub struct OidcArgs {
    /// Algorithm of the signing key made at first start (a running key of the other
    /// algorithm is rotated out).
    #[arg(
        long,
        env = "PROVIDER_SIGNING_ALG",
        value_enum,
        default_value = "RS256"
    )]
    pub signing_alg: crate::oidc::keys::SigningAlg,
    /// ID Token lifetime (django-oauth-toolkit's ID_TOKEN_EXPIRE_SECONDS).
    #[arg(
        long,
        env = "PROVIDER_ID_TOKEN_EXPIRE_SECONDS",
        default_value_t = 36_000
    )]
    pub id_token_expire_seconds: i64,
}

impl OidcArgs {
    /// How long a retired signing key stays published: its last ID Token's life
    /// (logout tokens live minutes).
    pub fn keep_retired_seconds(&self) -> i64 {
        self.id_token_expire_seconds
            .max(crate::oidc::backchannel::TOKEN_SECONDS)
    }
}

/// Settings the domain reads, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub scopes: Scopes,
    pub access_token_expire_seconds: i64,
    pub authorization_code_expire_seconds: i64,
    pub refresh_token_expire_seconds: i64,
    pub refresh_token_grace_period_seconds: i64,
    pub login_session_seconds: i64,
    pub cookie_secure: bool,
    pub throttle: ThrottleSettings,
    pub sweep_interval_seconds: u64,
    pub allowed_hosts: AllowedHosts,
    pub oidc: OidcArgs,
}

#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    pub max_failures_per_user: i64,
    pub max_failures_per_ip: i64,
    pub window_seconds: i64,
    pub max_queued_logins: usize,
    pub max_queued_logins_per_ip: usize,
}

impl SettingsArgs {
    /// `listen` is the address actually bound (it joins the default allowed hosts).
    pub fn resolve(&self, issuer: String, listen: SocketAddr) -> anyhow::Result<Settings> {
        let scopes = Scopes::parse(&self.scopes)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("--scopes must be a space-separated list of scope names")
            })?;
        for (name, v) in [
            (
                "--access-token-expire-seconds",
                self.access_token_expire_seconds,
            ),
            (
                "--authorization-code-expire-seconds",
                self.authorization_code_expire_seconds,
            ),
            (
                "--refresh-token-expire-seconds",
                self.refresh_token_expire_seconds,
            ),
            ("--login-session-seconds", self.login_session_seconds),
            ("--throttle-window-seconds", self.throttle_window_seconds),
            (
                "--id-token-expire-seconds",
                self.oidc.id_token_expire_seconds,
            ),
        ] {
            anyhow::ensure!(v > 0, "{name} must be positive");
        }
        let allowed_hosts = match &self.allowed_hosts {
            Some(list) => AllowedHosts::parse(list).ok_or_else(|| {
                anyhow::anyhow!(
                    "--allowed-hosts takes host names or IPs without scheme or port (or *)"
                )
            })?,
            None => AllowedHosts::default_for(&issuer, listen),
        };
        Ok(Settings {
            allowed_hosts,
            issuer: issuer.trim_end_matches('/').to_owned(),
            scopes,
            access_token_expire_seconds: self.access_token_expire_seconds,
            authorization_code_expire_seconds: self.authorization_code_expire_seconds,
            refresh_token_expire_seconds: self.refresh_token_expire_seconds,
            refresh_token_grace_period_seconds: self.refresh_token_grace_period_seconds.max(0),
            login_session_seconds: self.login_session_seconds,
            cookie_secure: self.cookie_secure,
            throttle: ThrottleSettings {
                max_failures_per_user: self.throttle_max_failures_per_user,
                max_failures_per_ip: self.throttle_max_failures_per_ip,
                window_seconds: self.throttle_window_seconds,
                max_queued_logins: self
                    .max_queued_logins
                    .unwrap_or(16 * crate::password::concurrent_hashes())
                    .max(1),
                max_queued_logins_per_ip: self
                    .max_queued_logins_per_ip
                    .unwrap_or(2 * crate::password::concurrent_hashes())
                    .max(1),
            },
            sweep_interval_seconds: self.sweep_interval_seconds,
            oidc: self.oidc,
        })
    }
}
