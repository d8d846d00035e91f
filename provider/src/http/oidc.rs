//! OpenID Connect's endpoints: JWKS, discovery, UserInfo, RP-Initiated Logout.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::api::{Bearer, header_token, lookup};
use super::errors::found;
use super::extract::{PageForm, Query};
use super::pages::{LoggedOutPage, LogoutPage, RenderOrPlain};
use super::{metadata, web};
use crate::AuthServer;
use crate::error::{BearerError, PageError};
use crate::model::TokenInfo;
use crate::oidc::claims::{self, Subject};
use crate::params::Params;

pub fn routes() -> Router<Arc<AuthServer>> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(metadata::openid_configuration),
        )
        .route(
            "/oauth2/.well-known/openid-configuration",
            get(metadata::openid_configuration),
        )
        .route("/oauth2/.well-known/jwks.json", get(jwks))
        .route("/oauth2/userinfo/", get(userinfo_get).post(userinfo_post))
        .route("/oauth2/logout/", get(logout_get).post(logout_post))
}

/// RFC 7517 §5: the published signing keys.
async fn jwks(State(server): State<Arc<AuthServer>>) -> Response {
    match crate::oidc::keys::jwks(&server.db).await {
        Ok(set) => axum::Json(set).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "jwks unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": "temporarily_unavailable"})),
            )
                .into_response()
        }
    }
}

/// OIDC Core §5.3: the claims the token's scope releases; needs `openid`.
fn userinfo(t: &TokenInfo) -> Result<Response, BearerError> {
    let user = t
        .user
        .as_ref()
        .filter(|_| t.scope.contains(crate::oidc::OPENID))
        .ok_or(BearerError::InsufficientScope(crate::oidc::OPENID))?;
    let body = claims::for_scope(
        &Subject {
            id: &user.id,
            username: &user.username,
            email: &user.email,
        },
        &t.scope,
    );
    let mut r = axum::Json(Value::Object(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn userinfo_get(Bearer(t): Bearer) -> Result<Response, BearerError> {
    userinfo(&t)
}

/// POST: the header, or the form body's `access_token` (RFC 6750 §2.2) — not both (§2).
async fn userinfo_post(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BearerError> {
    let in_header = header_token(&headers)?;
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let params = if form_type {
        Params::parse(&body).map_err(|e| BearerError::BadRequest(e.to_string().into()))?
    } else {
        Params::default()
    };
    let token = match (in_header, params.get("access_token")) {
        (Some(_), Some(_)) => {
            return Err(BearerError::BadRequest(
                "the access token must be sent one way only (RFC 6750 §2)".into(),
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(BearerError::Missing),
    };
    if token.len() > 512 {
        return Err(BearerError::InvalidToken("malformed access token"));
    }
    userinfo(&lookup(&server, token).await?)
}

async fn logout_get(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(params): Query,
) -> Result<Response, PageError> {
    let params = params
        .map_err(|e| PageError::new(400, format!("The logout request is malformed: {e}.")))?;
    logout(&server, &headers, &params, false).await
}

/// A POST from the RP (§2: GET or POST) is handled as the GET; one from the
/// confirmation page (`confirm`) must pass the CSRF and Origin checks.
async fn logout_post(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    let confirmed = form.has("confirm");
    if confirmed {
        web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))?;
    }
    logout(&server, &headers, &form, confirmed).await
}

async fn logout(
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    confirmed: bool,
) -> Result<Response, PageError> {
    let req = crate::oidc::logout::validate(server, params).await?;
    let session = web::current_session(server, headers).await?;
    // Without a hint naming the signed-in user, the user confirms (§2: protects
    // against a third party logging the user out).
    if let Some(s) = &session
        && !confirmed
        && !req.identifies(&s.user.id, &s.sid)
    {
        let app_name = req.app.as_ref().map(|a| {
            if a.name.is_empty() {
                a.client_id.as_str()
            } else {
                a.name.as_str()
            }
        });
        return Ok(web::form_page(server, headers, StatusCode::OK, |csrf| {
            LogoutPage {
                csrf_token: csrf,
                app_name,
                username: Some(&s.user.username),
                hidden: req.hidden_fields(),
            }
            .render_or_plain()
        }));
    }
    let mut r = match req.redirect_url() {
        Some(url) => found(&url),
        None => Html(LoggedOutPage.render_or_plain()).into_response(),
    };
    if session.is_some() {
        let cookie = web::end_session(server, headers).await?;
        r.headers_mut().append(header::SET_COOKIE, cookie);
        tracing::info!("signed out by RP-initiated logout");
    } else if let (Some(sid), Some(sub)) = (&req.hint_sid, &req.hint_sub)
        && server.db.end_login_session_by_sid(sid, sub).await?
    {
        // No cookie came (a cross-site POST: the session cookie is SameSite=Lax), but
        // the verified hint names the session: it ends all the same.
        server.oidc.outbox.notify_one();
        tracing::info!("signed out by RP-initiated logout (session named by the hint)");
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
