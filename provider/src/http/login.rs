//! The provider's own login page (`/accounts/login/`, as Django names it).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::extract::{PageForm, Query};
use super::pages::{IndexPage, LoginPage, RenderOrPlain};
use super::web;
use crate::AuthServer;
use crate::error::PageError;
use crate::password::Password;
use crate::throttle::{self, LoginError};

fn login_page(
    server: &AuthServer,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    web::form_page(server, headers, StatusCode::OK, |csrf| {
        LoginPage {
            csrf_token: csrf,
            next,
            username,
            error,
        }
        .render_or_plain()
    })
}

pub async fn show(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(q): Query,
) -> Response {
    let q = q.unwrap_or_default();
    // OIDC Core §3.1.2.1 login_hint: the authorization endpoint passes it on.
    let hint = q.get("login_hint").unwrap_or("");
    login_page(&server, &headers, web::safe_next(q.get("next")), hint, None)
}

pub async fn submit(
    State(server): State<Arc<AuthServer>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))?;
    let next = web::safe_next(form.get("next"));
    let username = form.get("username").unwrap_or("");
    let password = Password::new(form.get("password").unwrap_or(""));
    if username.is_empty() || password.expose().is_empty() {
        return Ok(login_page(
            &server,
            &headers,
            next,
            username,
            Some("Enter a username and a password."),
        ));
    }
    let ticket = match throttle::queue_ticket(&server, peer.ip()) {
        Ok(t) => t,
        Err(t) => return Ok(throttled_page(&t)),
    };
    match throttle::authenticate_user(&server, ticket, username, &password, peer.ip()).await {
        Ok(Some(user)) => {
            let cookie = web::start_session(&server, &headers, &user).await?;
            let mut r = Redirect::to(next).into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(r)
        }
        Ok(None) => {
            let mut r = login_page(
                &server,
                &headers,
                next,
                username,
                Some("Please enter a correct username and password."),
            );
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(r)
        }
        Err(LoginError::Throttled(t)) => Ok(throttled_page(&t)),
        Err(LoginError::Storage(e)) => Err(e.into()),
    }
}

fn throttled_page(t: &throttle::Throttled) -> Response {
    let mut r = PageError::new(
        429,
        format!(
            "Too many sign-in attempts. Try again in {} seconds.",
            t.retry_after
        ),
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, t.retry_after.into());
    r
}

pub async fn logout(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))?;
    let cookie = web::end_session(&server, &headers).await?;
    let mut r = Redirect::to("/accounts/login/").into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(r)
}

pub async fn index(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let user = web::current_user(&server, &headers).await?;
    let username = user.as_ref().map(|u| u.username.as_str());
    Ok(web::form_page(&server, &headers, StatusCode::OK, |csrf| {
        IndexPage {
            csrf_token: csrf,
            username,
        }
        .render_or_plain()
    }))
}
