//! Talking to the authorization server: discovery (RFC 8414), the code exchange
//! (RFC 6749 §4.1.3), refresh (§6), revocation (RFC 7009) and userinfo.

use std::time::Duration;

use anyhow::Context;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeVerifier, RedirectUrl, RequestTokenError, RevocationUrl,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ClientAuth, Config};
use crate::error::{Error, Result};
use crate::oauth::discovery::discover;
use crate::secret::{AccessToken, ClientSecret, IdToken, RefreshToken};

/// The token response's OpenID Connect field (OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}
impl ExtraTokenFields for OidcFields {}

type OidcTokenResponse = StandardTokenResponse<OidcFields, BasicTokenType>;

type BaseClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// Endpoints of the provider, discovered or configured.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    pub revoke: Option<Url>,
    pub userinfo: Option<Url>,
    /// OIDC Discovery §3 `jwks_uri`: the keys that sign ID Tokens.
    pub jwks: Option<Url>,
    /// RP-Initiated Logout 1.0 `end_session_endpoint`, as the browser reaches it.
    pub end_session: Option<Url>,
    /// The issuer ID Tokens must name exactly (OIDC Core §3.1.3.7 step 2): the
    /// metadata's `issuer` (none without discovery: ID Tokens are then refused).
    pub issuer: Option<String>,
    /// What `/readyz` fetches to see whether the provider answers.
    pub health: Url,
}

/// Tokens as the BFF keeps them.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// Unix seconds.
    pub expires_at: i64,
    pub scope: Option<String>,
    /// Validated at login, then dropped (not kept in the session).
    pub id_token: Option<IdToken>,
}

/// Why a refresh failed: `invalid_grant` ends the session, anything else is transient.
#[derive(Debug)]
pub enum RefreshError {
    InvalidGrant,
    Other(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl Endpoints {
    /// Resolves endpoints; retries discovery for up to 30 s so the BFF can start
    /// before the provider (compose).
    pub async fn resolve(http: &reqwest::Client, config: &Config) -> anyhow::Result<Self> {
        let mut endpoints = match &config.issuer {
            Some(issuer) => {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                let (metadata, health) = loop {
                    match discover(http, issuer).await {
                        Ok(found) => break found,
                        Err(err) if tokio::time::Instant::now() < deadline => {
                            tracing::warn!(error = %err, "provider discovery failed; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Err(err) => return Err(err),
                    }
                };
                Endpoints {
                    authorize: metadata.authorization_endpoint,
                    token: metadata.token_endpoint,
                    revoke: metadata.revocation_endpoint,
                    userinfo: metadata.userinfo_endpoint,
                    jwks: metadata.jwks_uri,
                    end_session: metadata.end_session_endpoint,
                    issuer: Some(metadata.issuer),
                    health,
                }
            }
            None => {
                let token = config
                    .token_url
                    .clone()
                    .context("--issuer or --token-url is required")?;
                Endpoints {
                    authorize: config
                        .authorize_url
                        .clone()
                        .context("--issuer or --authorize-url is required")?,
                    health: token.clone(),
                    token,
                    revoke: None,
                    userinfo: None,
                    jwks: None,
                    end_session: None,
                    issuer: None,
                }
            }
        };
        // Explicit flags win over discovery.
        if let Some(url) = &config.authorize_url {
            endpoints.authorize = url.clone();
        }
        if let Some(url) = &config.token_url {
            endpoints.token = url.clone();
        }
        if let Some(url) = &config.revoke_url {
            endpoints.revoke = Some(url.clone());
        }
        if let Some(url) = &config.userinfo_url {
            endpoints.userinfo = Some(url.clone());
        }
        if let Some(url) = &config.jwks_url {
            endpoints.jwks = Some(url.clone());
        }
        if let Some(public) = &config.public_issuer {
            // The browser reaches the provider under another origin (docker compose).
            endpoints.authorize = with_origin(&endpoints.authorize, public)?;
            if let Some(url) = &endpoints.end_session {
                endpoints.end_session = Some(with_origin(url, public)?);
            }
        }
        Ok(endpoints)
    }
}

/// `url` with the scheme, host and port of `origin`.
fn with_origin(url: &Url, origin: &Url) -> anyhow::Result<Url> {
    let mut out = url.clone();
    out.set_scheme(origin.scheme())
        .map_err(|()| anyhow::anyhow!("bad --public-issuer scheme"))?;
    out.set_host(origin.host_str())
        .context("bad --public-issuer host")?;
    out.set_port(origin.port())
        .map_err(|()| anyhow::anyhow!("bad --public-issuer port"))?;
    Ok(out)
}

pub fn oauth_client(
    config: &Config,
    endpoints: &Endpoints,
    secret: &ClientSecret,
) -> anyhow::Result<OAuthClient> {
    Ok(BaseClient::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(secret.expose().to_owned()))
        .set_auth_uri(AuthUrl::from_url(endpoints.authorize.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token.clone()))
        .set_revocation_url_option(endpoints.revoke.clone().map(RevocationUrl::from_url))
        .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()))
        .set_auth_type(match config.client_auth {
            ClientAuth::Basic => AuthType::BasicAuth,
            ClientAuth::Post => AuthType::RequestBody,
        }))
}

/// Bound on every provider call; shorter than the 15 s refresh lock, so a hung provider
/// cannot outlive the lock and let a second refresh start.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(8);

/// Sends one oauth2 request with the shared client (oauth2 5 ships reqwest 0.12 support only).
async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
) -> std::result::Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .timeout(PROVIDER_TIMEOUT)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    builder
        .body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn tokens_from(response: &OidcTokenResponse, previous: Option<&RefreshToken>) -> Tokens {
    let expires_in = response
        .expires_in()
        .map_or(3600, |d| i64::try_from(d.as_secs()).unwrap_or(3600));
    Tokens {
        access_token: AccessToken::new(response.access_token().secret().clone()),
        // RFC 6749 §6: no new refresh token in the response → keep the old one.
        refresh_token: response
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().clone()))
            .or_else(|| previous.cloned()),
        expires_at: now() + expires_in,
        scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        id_token: response.extra_fields().id_token.clone().map(IdToken::new),
    }
}

/// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5), server-side, client secret attached.
pub async fn exchange_code(
    client: &OAuthClient,
    http: &reqwest::Client,
    code: String,
    verifier: String,
) -> Result<Tokens> {
    let h = |req| send(http.clone(), req);
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&h)
        .await
        .map_err(|err| {
            tracing::warn!(error = %describe(&err), "code exchange failed");
            Error::Login("token_exchange_failed")
        })?;
    Ok(tokens_from(&response, None))
}

/// RFC 6749 §6.
pub async fn refresh(
    client: &OAuthClient,
    http: &reqwest::Client,
    refresh_token: &RefreshToken,
) -> std::result::Result<Tokens, RefreshError> {
    let h = |req| send(http.clone(), req);
    let token = oauth2::RefreshToken::new(refresh_token.expose().to_owned());
    match client
        .exchange_refresh_token(&token)
        .request_async(&h)
        .await
    {
        Ok(response) => Ok(tokens_from(&response, Some(refresh_token))),
        Err(RequestTokenError::ServerResponse(resp))
            if *resp.error() == BasicErrorResponseType::InvalidGrant =>
        {
            Err(RefreshError::InvalidGrant)
        }
        Err(err) => Err(RefreshError::Other(describe(&err))),
    }
}

/// RFC 7009 §2.1: revoking the refresh token also revokes its access tokens (§2.2 allows it).
/// Sent by hand: oauth2 5 refuses a non-https revocation URL, which plain-http
/// development needs.
pub async fn revoke(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    config: &Config,
    secret: &ClientSecret,
    token: &RefreshToken,
) {
    let Some(url) = &endpoints.revoke else {
        tracing::debug!("provider has no revocation endpoint");
        return;
    };
    let mut form = vec![
        ("token", token.expose()),
        ("token_type_hint", "refresh_token"),
    ];
    let mut request = http.post(url.clone()).timeout(PROVIDER_TIMEOUT);
    match config.client_auth {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        ClientAuth::Basic => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(&config.client_id), Some(enc(secret.expose())));
        }
        ClientAuth::Post => {
            form.push(("client_id", &config.client_id));
            form.push(("client_secret", secret.expose()));
        }
    }
    match request.form(&form).send().await {
        Ok(response) if response.status().is_success() => {
            tracing::info!("refresh token revoked at the provider");
        }
        Ok(response) => tracing::warn!(status = %response.status(), "token revocation refused"),
        Err(err) => tracing::warn!(error = %err, "token revocation failed"),
    }
}

fn describe<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    err: &RequestTokenError<RE, T>,
) -> String {
    match err {
        RequestTokenError::ServerResponse(resp) => format!("server response: {resp}"),
        RequestTokenError::Request(e) => format!("request: {e}"),
        RequestTokenError::Parse(e, _) => format!("parse: {e}"),
        RequestTokenError::Other(e) => format!("other: {e}"),
    }
}

#[cfg(test)]
mod tests;
