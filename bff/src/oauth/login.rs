//! `GET /auth/login` and `GET /auth/callback`: the authorization code flow with PKCE
//! (RFC 6749 §4.1, RFC 7636) run by this confidential client.
//!
//! With `openid` in the scope, a `nonce` (OIDC Core §3.1.2.1) is sent too, and the ID Token
//! of the token response is validated (OIDC Core §3.1.3.7, `crate::oauth::id_token`) before the
//! session exists; its minimal claims are the user info when userinfo gives none.
//!
//! Pre-login state (`state`, PKCE verifier, nonce, `return_to`) is a sealed record of its
//! own kind ([`crate::session::ticket::Kind::Login`]) under its own random ticket, carried
//! by a separate short-lived `SameSite=Lax` cookie: the callback is a cross-site navigation
//! from the provider, on which a `SameSite=Strict` session cookie would not be sent. Only
//! a login ticket can find (and consume) a login record: a session cookie sent as the
//! login cookie finds nothing and destroys nothing.
//!
//! `GET /auth/login` is rate-limited per client IP (`--login-rate-per-minute`): each call
//! stores a record, and anonymous callers must not be able to fill the store.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use oauth2::{CsrfToken, PkceCodeChallenge, Scope};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use tower_sessions::session::Id;

use crate::error::{Error, Result, found};
use crate::http::client_ip;
use crate::session::{self, SessionData, now};
use crate::state::SharedState;

const LOGIN_TTL_SECONDS: i64 = 600;

#[derive(Serialize, Deserialize)]
struct PreLogin {
    state: String,
    verifier: String,
    return_to: String,
    /// OIDC Core §3.1.2.1: sent when the scope includes `openid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

/// Accepts only same-origin relative paths (no open redirect, RFC 9700 §4.11).
pub fn valid_return_to(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(char::is_control)
        && url::Url::parse("http://bff.invalid")
            .and_then(|base| base.join(path))
            .is_ok_and(|u| u.host_str() == Some("bff.invalid"))
}

fn login_cookie(state: &SharedState, value: String, max_age: i64) -> HeaderValue {
    let cookie = Cookie::build((state.config.login_cookie_name(), value))
        .http_only(true)
        .secure(state.config.cookie_secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie is a valid header value")
}

/// `GET /auth/login?return_to=/path` → 302 to the provider.
pub async fn login(
    State(state): State<SharedState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response> {
    let return_to = query.return_to.unwrap_or_else(|| "/".to_owned());
    if !valid_return_to(&return_to) {
        return Err(Error::BadRequest(
            "return_to must be a relative path on this site",
        ));
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let openid = state.config.scope.split_whitespace().any(|s| s == "openid");
    // 256-bit, single use, bound to this login (OIDC Core §15.5.2).
    let nonce = openid.then(|| CsrfToken::new_random_len(32).secret().clone());
    let mut request = state
        .oauth
        .authorize_url(|| CsrfToken::new_random_len(32)) // 256-bit state
        .add_scopes(
            state
                .config
                .scope
                .split_whitespace()
                .map(|s| Scope::new(s.to_owned())),
        )
        .set_pkce_challenge(challenge);
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    let (url, csrf) = request.url();
    let pre_login = PreLogin {
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        return_to,
        nonce,
    };
    let ticket = state
        .store
        .create_login(
            serde_json::to_value(&pre_login).map_err(|e| Error::Internal(e.to_string()))?,
            time::OffsetDateTime::now_utc() + time::Duration::seconds(LOGIN_TTL_SECONDS),
        )
        .await?;
    let mut response = found(url.as_str());
    let cookie = login_cookie(&state, ticket.to_string(), LOGIN_TTL_SECONDS);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `GET /auth/login` per client IP: over the limit → 429 with `Retry-After`.
pub async fn rate_limit(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(peer) = client_ip::peer(&request) {
        let client = client_ip::client(request.headers(), peer, &state.trusted_proxies);
        if let Err(wait) = state.login_limiter.check(client) {
            state.metrics.login_rate_limited();
            return Error::RateLimited(wait).into_response();
        }
    }
    next.run(request).await
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// RFC 9207 authorization-response issuer (mix-up defence), when the provider sends it.
    iss: Option<String>,
}

/// `GET /auth/callback`: never a 500; failures go back to `/?login_error=…`.
pub async fn callback(
    State(state): State<SharedState>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let mut response = match complete(&state, &session, &headers, query).await {
        Ok(return_to) => found(&return_to),
        Err(Error::Login(code)) => Error::Login(code).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "login failed");
            Error::Login("temporarily_unavailable").into_response()
        }
    };
    // The pre-login cookie is single use: expire it whatever happened.
    let expired = login_cookie(&state, String::new(), 0);
    response.headers_mut().append(header::SET_COOKIE, expired);
    response
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(std::result::Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

async fn complete(
    state: &SharedState,
    session: &Session,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Result<String> {
    let id: Id = read_cookie(headers, state.config.login_cookie_name())
        .and_then(|v| v.parse().ok())
        .ok_or(Error::Login("no_login_in_progress"))?;
    // Single use: consumed before anything else can fail.
    let pre_login: PreLogin = state
        .store
        .take_login(&id)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or(Error::Login("no_login_in_progress"))?;
    // RFC 6749 §10.12: `state` binds the callback to this browser; compare in constant time.
    let given = query.state.unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(pre_login.state.as_bytes())) {
        return Err(Error::Login("state_mismatch"));
    }
    // RFC 9207 §2.4: when present, `iss` must equal the issuer (simple string comparison).
    if let (Some(iss), Some(issuer)) = (&query.iss, &state.endpoints.issuer)
        && iss != issuer
    {
        return Err(Error::Login("issuer_mismatch"));
    }
    if let Some(error) = query.error {
        // RFC 6749 §4.1.2.1 error codes; anything else is reported generically.
        return Err(Error::Login(match error.as_str() {
            "access_denied" => "access_denied",
            "invalid_scope" => "invalid_scope",
            "temporarily_unavailable" => "temporarily_unavailable",
            _ => "authorization_failed",
        }));
    }
    let code = query.code.ok_or(Error::Login("missing_code"))?;
    let tokens =
        crate::oauth::provider::exchange_code(&state.oauth, &state.http, code, pre_login.verifier)
            .await?;
    // OIDC Core §3.1.3.7: an ID Token, when there is one, must validate, or no session.
    let id_claims = match &tokens.id_token {
        Some(id_token) => Some(
            state
                .id_tokens
                .verify(&state.http, id_token, pre_login.nonce.as_deref())
                .await
                .map_err(|err| {
                    tracing::warn!(error = %err, "ID Token refused");
                    Error::Login("invalid_id_token")
                })?,
        ),
        None => {
            if pre_login.nonce.is_some() {
                tracing::warn!("openid requested but the token response has no id_token");
            }
            None
        }
    };
    let (id_claims, sid) = match id_claims {
        Some(verified) => (Some(verified.user), verified.sid),
        None => (None, None),
    };
    let user = crate::oauth::userinfo::resolve(
        &state.http,
        state.endpoints.userinfo.as_ref(),
        &tokens.access_token,
        id_claims,
    )
    .await;
    let sub = match user.get("sub") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let absolute = i64::try_from(state.config.absolute_timeout_seconds).unwrap_or(i64::MAX);
    let data = SessionData {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: tokens.expires_at,
        // RFC 6749 §5.1: scope omitted → as requested.
        scope: tokens.scope.unwrap_or_else(|| state.config.scope.clone()),
        user,
        created_at: now(),
        last_seen: now(),
        ends_at: now().saturating_add(absolute),
        sub,
        sid,
        id_token: crate::oauth::logout::hint_to_keep(state, tokens.id_token),
    };
    // Session fixation: a new id for the authenticated session.
    session.cycle_id().await?;
    session::write(session, &data).await?;
    let ticket = session
        .id()
        .ok_or(Error::Internal("session not saved".into()))?;
    state
        .store
        .index_session(&ticket, &data.owners(), data.ends_at)
        .await?;
    state.metrics.session_created();
    Ok(pre_login.return_to)
}

#[cfg(test)]
mod tests {
    use super::valid_return_to;

    #[test]
    fn return_to_rules() {
        for good in ["/", "/app", "/app/x?y=1#z", "/a/../b"] {
            assert!(valid_return_to(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/x\ny",
            "/\t/evil.example",
            "",
            "http:/evil",
        ] {
            assert!(!valid_return_to(bad), "{bad:?}");
        }
    }
}
