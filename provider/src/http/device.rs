//! The device authorization grant's endpoints (RFC 8628): the device's
//! `POST /oauth2/device-authorization/` (§3.1) and the user's code entry and
//! consent at `/oauth2/device/` (§3.3). Polling is at the token endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::{found, no_store};
use super::extract::{Form, PageForm, Query};
use super::pages::{RenderOrPlain, scope_description};
use super::web;
use crate::AuthServer;
use crate::client_auth;
use crate::device::{self, EntryError, Pending, user_code};
use crate::error::{OAuthError, PageError};
use crate::model::{AppGrant, User};
use crate::scope::Scopes;

#[derive(Template)]
#[template(path = "device.html")]
struct EntryPage<'a> {
    csrf_token: &'a str,
    username: &'a str,
    user_code: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
struct ConfirmPage<'a> {
    csrf_token: &'a str,
    username: &'a str,
    app_name: &'a str,
    user_code: &'a str,
    scopes: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DonePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// §3.1: client authentication as at the token endpoint; only apps allowed the
/// device grant.
pub async fn authorize(
    State(server): State<Arc<AuthServer>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(params): Form,
) -> Result<Response, OAuthError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let creds = client_auth::credentials(auth, &params)?;
    let app = client_auth::authenticate(&server.db, &creds).await?;
    if app.grant != AppGrant::DeviceCode {
        return Err(OAuthError::unauthorized_client(
            "this application may not use the device authorization grant",
        ));
    }
    let requested = match params.get("scope") {
        None => None,
        Some(s) => Some(Scopes::parse(s).ok_or_else(|| {
            OAuthError::invalid_scope("scope contains characters RFC 6749 §3.3 does not allow")
        })?),
    };
    let r = device::start(&server, &app, requested.as_ref(), peer.ip()).await?;
    Ok(no_store(Json(r).into_response()))
}

/// The code entry form, prefilled from `verification_uri_complete` but never
/// submitted for the user (§5.4: a phisher's link must still need a click, and
/// the confirmation page shows the code to compare with the device).
pub async fn show(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query,
) -> Result<Response, PageError> {
    let Some(user) = web::current_user(&server, &headers).await? else {
        return Ok(to_login(&uri));
    };
    let q = q.unwrap_or_default();
    let prefill = q
        .get("user_code")
        .and_then(device::UserCode::parse)
        .map(|c| c.display())
        .unwrap_or_default();
    Ok(entry_page(&server, &headers, &user, &prefill, None))
}

fn to_login(uri: &axum::http::Uri) -> Response {
    let next = uri
        .path_and_query()
        .map_or(device::VERIFICATION_PATH, |p| p.as_str());
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    found(&format!("/accounts/login/?{q}"))
}

fn entry_page(
    server: &AuthServer,
    headers: &HeaderMap,
    user: &User,
    code: &str,
    error: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    web::form_page(server, headers, status, |csrf| {
        EntryPage {
            csrf_token: csrf,
            username: &user.username,
            user_code: code,
            error,
        }
        .render_or_plain()
    })
}

/// `action=continue` looks the code up and shows the consent page;
/// `action=approve` / `deny` decides. Each step checks the code again (throttled).
pub async fn submit(
    State(server): State<Arc<AuthServer>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))?;
    let user = web::current_user(&server, &headers).await?.ok_or_else(|| {
        PageError::new(
            403,
            "You are not signed in any more. Open the address your device shows again.",
        )
    })?;
    let input = form.get("user_code").unwrap_or("");
    // Shown back on the form when wrong: only what could be a code.
    let echo: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ' ')
        .take(user_code::MAX_INPUT)
        .collect();
    let result = match form.get("action") {
        Some("continue") => device::find(&server, input, peer.ip())
            .await
            .map(|p| confirm_page(&server, &headers, &user, &p)),
        Some(a @ ("approve" | "deny")) => {
            let approve = a == "approve";
            device::decide(&server, &user, input, approve, peer.ip())
                .await
                .map(|p| done_page(&p, approve))
        }
        _ => return Err(PageError::new(400, "The form has no valid action.")),
    };
    match result {
        Ok(r) => Ok(r),
        Err(EntryError::Unknown) => Ok(entry_page(
            &server,
            &headers,
            &user,
            &echo,
            Some(
                "That code is not valid, has expired or was already used. Check the code on your device.",
            ),
        )),
        Err(EntryError::Throttled(t)) => {
            let mut r = PageError::new(
                429,
                format!(
                    "Too many wrong codes. Try again in {} seconds.",
                    t.retry_after
                ),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, t.retry_after.into());
            Ok(r)
        }
        Err(EntryError::Storage(e)) => Err(e.into()),
    }
}

fn app_name(p: &Pending) -> &str {
    if p.app.name.is_empty() {
        &p.app.client_id
    } else {
        &p.app.name
    }
}

fn confirm_page(server: &AuthServer, headers: &HeaderMap, user: &User, p: &Pending) -> Response {
    web::form_page(server, headers, StatusCode::OK, |csrf| {
        ConfirmPage {
            csrf_token: csrf,
            username: &user.username,
            app_name: app_name(p),
            user_code: &p.user_code.display(),
            scopes: p
                .scope
                .iter()
                .map(|s| (s.to_owned(), scope_description(s)))
                .collect(),
        }
        .render_or_plain()
    })
}

fn done_page(p: &Pending, approved: bool) -> Response {
    let (title, message) = if approved {
        (
            "Device connected",
            format!(
                "{} is now authorized. You can return to your device.",
                app_name(p)
            ),
        )
    } else {
        (
            "Request denied",
            format!(
                "{} was not given access. You can close this page.",
                app_name(p)
            ),
        )
    };
    let mut r = axum::response::Html(
        DonePage {
            title,
            message: &message,
        }
        .render_or_plain(),
    )
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}
