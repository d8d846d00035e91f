//! `POST /auth/backchannel-logout`: the provider tells the BFF that a user's session at
//! the provider ended (OpenID Back-Channel Logout 1.0 §2.5); the BFF ends the matching
//! sessions on every replica, through the session index ([`crate::session::index`]).
//!
//! Called server to server: no cookie is read, so the browser CSRF rule does not apply
//! (a forged request can only carry a forged token, which the signature check refuses).
//! What an attacker controls here is the body, so it is bounded: a form post
//! (`application/x-www-form-urlencoded`, §2.5) of at most [`MAX_BODY_BYTES`], exactly one
//! `logout_token`, base64url and dots only; the token is checked by
//! [`crate::oauth::logout_token`] against the provider's JWKS, whose refetch on an unknown
//! key id is bounded in time ([`crate::oauth::jwks::Refetch::Bounded`]). Its `jti` is
//! then recorded in the store (once across replicas), and last the sessions end: those of
//! its `sid` when it has one, else every session of its `sub` (§2.7).
//!
//! §2.8: `200` with `Cache-Control: no-store` on success; `400` with
//! `{"error":"invalid_request"}` on a bad token; `503` when the store fails (the `jti` is
//! then forgotten again, so the provider's retry passes).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Result};
use crate::oauth::id_token::Invalid;
use crate::oauth::jwks::Refetch;
use crate::oauth::logout_token::{self, JTI_TTL_SECONDS, Logout};
use crate::session::Owner;
use crate::state::{AppState, SharedState};

/// Longest body read: a logout token is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The one `logout_token` of a form body.
pub fn token_from_form(headers: &HeaderMap, body: &[u8]) -> Result<String> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(Error::InvalidRequest("not a form post"));
    }
    let mut tokens = url::form_urlencoded::parse(body).filter(|(k, _)| k == "logout_token");
    let token = tokens
        .next()
        .ok_or(Error::InvalidRequest("logout_token missing"))?
        .1;
    if tokens.next().is_some() {
        return Err(Error::InvalidRequest("logout_token given more than once"));
    }
    let jws_chars = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if token.is_empty() || !jws_chars || token.len() > logout_token::MAX_TOKEN_BYTES {
        return Err(Error::InvalidRequest("logout_token is not a compact JWS"));
    }
    Ok(token.into_owned())
}

/// Validates the token and records its `jti`.
async fn accept(state: &AppState, token: &str) -> Result<(Logout, String)> {
    let issuer = state
        .id_tokens
        .issuer()
        .ok_or(Error::InvalidRequest("no issuer known: cannot validate"))?
        .to_owned();
    let client_id = state.id_tokens.client_id();
    let now = crate::session::now();
    let checked = state
        .id_tokens
        .keys()
        .check(&state.http, Refetch::Bounded, |keys| {
            logout_token::validate(token, keys, &issuer, client_id, now)
        })
        .await;
    let logout = checked.map_err(|err| {
        match &err {
            Invalid::Jwks(_) | Invalid::NotConfigured(_) => {
                tracing::warn!(error = %err, "logout token not checked");
            }
            _ => tracing::info!(error = %err, "logout token refused"),
        }
        Error::InvalidRequest("invalid logout token")
    })?;
    // §2.6 step 6: once only, on every replica.
    if !state
        .store
        .first_use(&issuer, &logout.jti, JTI_TTL_SECONDS)
        .await?
    {
        tracing::info!("logout token replayed");
        return Err(Error::InvalidRequest("logout token already used"));
    }
    Ok((logout, issuer))
}

/// §2.7: the provider session's sessions, else the user's.
async fn end(state: &AppState, logout: &Logout) -> Result<usize> {
    let owner = match (&logout.sid, &logout.sub) {
        (Some(sid), _) => Owner::ProviderSession(sid),
        (None, Some(sub)) => Owner::Subject(sub),
        (None, None) => return Ok(0), // refused by the validation already
    };
    Ok(state.store.end_sessions(owner).await?)
}

#[tracing::instrument(name = "backchannel_logout", skip_all)]
pub async fn receive(State(state): State<SharedState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| Error::InvalidRequest("body too large or unreadable"))?;
        let token = token_from_form(&headers, &body)?;
        let (logout, issuer) = accept(&state, &token).await?;
        match end(&state, &logout).await {
            Ok(ended) => Ok(ended),
            Err(err) => {
                state.store.forget_use(&issuer, &logout.jti).await;
                Err(err)
            }
        }
    }
    .await;
    match result {
        Ok(ended) => {
            state.metrics.backchannel_logout(ended);
            tracing::info!(sessions = ended, "back-channel logout");
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            if matches!(err, Error::InvalidRequest(_)) {
                state.metrics.backchannel_logout_refused();
            }
            err.into_response()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        headers
    }

    fn reason(result: Result<String>) -> &'static str {
        match result {
            Err(Error::InvalidRequest(reason)) => reason,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn the_form_has_exactly_one_compact_token() {
        assert_eq!(
            token_from_form(&form(), b"logout_token=a.b.c&other=1").unwrap(),
            "a.b.c"
        );
        assert_eq!(
            reason(token_from_form(
                &form(),
                b"logout_token=a.b.c&logout_token=a.b.c"
            )),
            "logout_token given more than once"
        );
        assert_eq!(
            reason(token_from_form(&form(), b"token=a.b.c")),
            "logout_token missing"
        );
        for bad in [
            &b"logout_token="[..],
            b"logout_token=a.b%00.c",
            b"logout_token=a.b c",
            b"logout_token=a.b+c",
            b"logout_token=a.b%2Fc",
        ] {
            assert_eq!(
                reason(token_from_form(&form(), bad)),
                "logout_token is not a compact JWS",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = format!(
            "logout_token={}",
            "a".repeat(logout_token::MAX_TOKEN_BYTES + 1)
        );
        assert!(token_from_form(&form(), huge.as_bytes()).is_err());
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(
            reason(token_from_form(&json, b"logout_token=a.b.c")),
            "not a form post"
        );
        assert_eq!(
            reason(token_from_form(&HeaderMap::new(), b"logout_token=a.b.c")),
            "not a form post"
        );
    }
}
