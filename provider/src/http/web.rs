//! Browser-facing plumbing for the provider's own pages: the login session
//! cookie, and Django-style double-submit CSRF protection (a `csrftoken`
//! cookie and a `csrfmiddlewaretoken` form field, compared in constant time,
//! plus a required same-origin `Origin` or `Referer`) — stateless, so it works
//! across provider processes.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::AuthServer;
use crate::error::PageError;
use crate::model::User;
use crate::secret::{PlainToken, TokenHash, ct_eq, prefix};
use crate::storage::{Result, now};

pub const SESSION_COOKIE: &str = "latchkey_sessionid";
pub const CSRF_COOKIE: &str = "csrftoken";
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn build_cookie(name: &'static str, value: String, secure: bool, max_age: i64) -> HeaderValue {
    let c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token to put in a form, and the `Set-Cookie` to send when the
/// browser has none yet.
pub fn csrf_token(server: &AuthServer, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, CSRF_COOKIE).filter(|v| server.csrf_key.issued(v)) {
        Some(v) => (v.to_owned(), None),
        None => {
            let t = server.csrf_key.issue();
            let c = build_cookie(
                CSRF_COOKIE,
                t.clone(),
                server.settings.cookie_secure,
                365 * 86_400,
            );
            (t, Some(c))
        }
    }
}

/// Renders a page holding a form: `render` gets the CSRF token, and the
/// cookie is set when the browser has none yet.
pub fn form_page(
    server: &AuthServer,
    headers: &HeaderMap,
    status: axum::http::StatusCode,
    render: impl FnOnce(&str) -> String,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let (csrf, set_cookie) = csrf_token(server, headers);
    let mut r = (status, axum::response::Html(render(&csrf))).into_response();
    if let Some(c) = set_cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    // A page with a CSRF token (login, consent, admin) is never cached or stored.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Refuses a form post whose token this server did not issue or does not match
/// the cookie, or that comes from another origin than the one it was sent to.
pub fn check_csrf(
    server: &AuthServer,
    headers: &HeaderMap,
    submitted: Option<&str>,
) -> std::result::Result<(), PageError> {
    let forbidden = || {
        PageError::new(
            403,
            "The form expired or did not come from this site (CSRF check failed). Go back, reload the page and try again.",
        )
    };
    let cookie = cookie_value(headers, CSRF_COOKIE).ok_or_else(forbidden)?;
    let submitted = submitted.ok_or_else(forbidden)?;
    // Double submit of a token the server signed: an attacker who can plant a
    // cookie (a sibling subdomain) cannot make up a pair that verifies.
    if !server.csrf_key.issued(cookie) || !ct_eq(cookie, submitted) {
        return Err(forbidden());
    }
    if !same_origin(server, headers) {
        return Err(forbidden());
    }
    Ok(())
}

/// Where the post came from must be this site, and must be known: `Origin`, or when
/// a browser sends none, the origin (scheme, host, port) of `Referer` (the referrer
/// policy is `same-origin`, so same-origin posts carry it). Neither, `Origin: null`
/// or an unparsable value → refused (Django does this for HTTPS; here for both
/// schemes). "This site" is the issuer's origin, or `scheme://Host` with the
/// issuer's scheme; the scheme counts (`http://h` is not `https://h`, RFC 6454 §4).
fn same_origin(server: &AuthServer, headers: &HeaderMap) -> bool {
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let origin_of = |s: &str| {
        url::Url::parse(s)
            .ok()
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
            .map(|o| o.ascii_serialization())
    };
    let from = match header_str(header::ORIGIN) {
        Some(o) => origin_of(o),
        None => header_str(header::REFERER).and_then(origin_of),
    };
    let Some(from) = from else {
        return false;
    };
    let issuer = &server.settings.issuer;
    let scheme = if issuer.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let via_host = header_str(header::HOST)
        .filter(|h| !h.is_empty())
        .and_then(|h| origin_of(&format!("{scheme}://{h}")));
    origin_of(issuer).as_deref() == Some(from.as_str()) || via_host.as_deref() == Some(&*from)
}

/// The logged-in user of the provider's pages, if any.
pub async fn current_user(server: &AuthServer, headers: &HeaderMap) -> Result<Option<User>> {
    match cookie_value(headers, SESSION_COOKIE) {
        Some(v) if !v.is_empty() && v.len() <= 64 => {
            server.db.web_session_user(&TokenHash::of(v)).await
        }
        _ => Ok(None),
    }
}

/// The login session behind the cookie (user, `sid`, `auth_time`), if any.
pub async fn current_session(
    server: &AuthServer,
    headers: &HeaderMap,
) -> Result<Option<crate::authorize::Session>> {
    let Some(v) = cookie_value(headers, SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 64)
    else {
        return Ok(None);
    };
    let hash = TokenHash::of(v);
    let Some(s) = server.db.login_session(&hash).await? else {
        return Ok(None);
    };
    Ok(server
        .db
        .user_by_id(&s.user_id)
        .await?
        .map(|user| crate::authorize::Session {
            user,
            sid: s.sid(&hash),
            auth_time: s.auth_time(),
        }))
}

/// Starts a login session with a new id (never reusing one the browser sent:
/// no session fixation) and returns its `Set-Cookie`.
pub async fn start_session(
    server: &AuthServer,
    headers: &HeaderMap,
    user: &User,
) -> Result<HeaderValue> {
    if let Some(old) = cookie_value(headers, SESSION_COOKIE) {
        server.db.delete_web_session(&TokenHash::of(old)).await?;
        server.oidc.outbox.notify_one();
    }
    let id = PlainToken::generate(prefix::SESSION);
    let ttl = server.settings.login_session_seconds;
    server
        .db
        .create_web_session(&id.hash(), &user.id, now() + ttl)
        .await?;
    Ok(build_cookie(
        SESSION_COOKIE,
        id.expose().to_owned(),
        server.settings.cookie_secure,
        ttl,
    ))
}

/// Ends the login session (its back-channel logout notifications are queued and the
/// sender woken) and returns the `Set-Cookie` that clears it.
pub async fn end_session(server: &AuthServer, headers: &HeaderMap) -> Result<HeaderValue> {
    if let Some(old) = cookie_value(headers, SESSION_COOKIE) {
        server.db.delete_web_session(&TokenHash::of(old)).await?;
        server.oidc.outbox.notify_one();
    }
    Ok(build_cookie(
        SESSION_COOKIE,
        String::new(),
        server.settings.cookie_secure,
        0,
    ))
}

/// `next` only ever points back into this site: a path, not `//host` or `/\host`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}
