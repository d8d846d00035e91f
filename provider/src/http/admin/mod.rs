//! The operator's admin (`/admin/…`, django-oauth-toolkit's paths): server-rendered
//! pages for applications, users and tokens.
//!
//! Access: a login *session* (the `latchkey_sessionid` cookie) of an active
//! staff user. Bearer tokens are never looked at here, so an API token cannot
//! open the admin. Anonymous visitors go to the login page with `next`;
//! signed-in non-staff users get 403. Every state change is a POST carrying the
//! CSRF token. Responses are `Cache-Control: no-store` (they show operator data
//! and, once, client secrets).

mod applications;
mod forms;
mod tokens;
mod users;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use super::errors::found;
use super::pages::RenderOrPlain;
use super::web;
use crate::AuthServer;
use crate::error::PageError;
use crate::model::User;
use crate::params::Params;

/// Rows per page on every admin list.
pub const PAGE_SIZE: i64 = 25;

/// The admin pages may load their one same-origin script (the copy button).
const ADMIN_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                         frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes() -> Router<Arc<AuthServer>> {
    Router::new()
        .route("/admin/", get(index))
        .route("/admin/oauth2/application/", get(applications::list))
        .route(
            "/admin/oauth2/application/add/",
            get(applications::add_form).post(applications::add),
        )
        .route(
            "/admin/oauth2/application/{id}/change/",
            get(applications::change_form).post(applications::change),
        )
        .route(
            "/admin/oauth2/application/{id}/rotate_secret/",
            post(applications::rotate_secret),
        )
        .route(
            "/admin/oauth2/application/{id}/delete/",
            get(applications::delete_form).post(applications::delete),
        )
        .route("/admin/users/", get(users::list))
        .route("/admin/users/add/", get(users::add_form).post(users::add))
        .route("/admin/users/{id}/", get(users::detail))
        .route("/admin/users/{id}/password/", post(users::set_password))
        .route("/admin/users/{id}/flags/", post(users::set_flags))
        .route("/admin/users/{id}/signout/", post(users::sign_out))
        .route("/admin/oauth2/accesstoken/", get(tokens::list_access))
        .route(
            "/admin/oauth2/accesstoken/{id}/revoke/",
            post(tokens::revoke_access),
        )
        .route("/admin/oauth2/refreshtoken/", get(tokens::list_refresh))
        .route(
            "/admin/oauth2/refreshtoken/{id}/revoke/",
            post(tokens::revoke_refresh),
        )
        .route("/admin/oauth2/tokens/revoke/", post(tokens::revoke_all))
        .route("/static/admin.js", get(script))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(ADMIN_CSP),
        ))
}

/// The signed-in staff user: the guard every admin handler takes.
pub struct Staff(pub User);

impl FromRequestParts<Arc<AuthServer>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Arc<AuthServer>,
    ) -> Result<Self, Self::Rejection> {
        let user = web::current_user(server, &parts.headers)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        match user {
            Some(u) if u.is_staff => Ok(Staff(u)),
            Some(_) => Err(PageError::new(
                403,
                "This account is not a staff account: the admin is for operators only.",
            )
            .into_response()),
            None => {
                let next = parts.uri.path_and_query().map_or("/admin/", |p| p.as_str());
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", next)
                    .finish();
                Err(found(&format!("/accounts/login/?{q}")))
            }
        }
    }
}

/// Renders an admin page with its CSRF token, setting the cookie if the browser has none.
fn page<T: Template>(
    server: &AuthServer,
    headers: &HeaderMap,
    status: StatusCode,
    build: impl FnOnce(String) -> T,
) -> Response {
    web::form_page(server, headers, status, |csrf| {
        build(csrf.to_owned()).render_or_plain()
    })
}

/// A parsed form after the CSRF check: the first thing every POST handler does.
fn checked_form(
    server: &AuthServer,
    headers: &HeaderMap,
    form: Result<Params, String>,
) -> Result<Params, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    web::check_csrf(server, headers, form.get(web::CSRF_FIELD))?;
    Ok(form)
}

fn query(q: Result<Params, String>) -> Result<Params, PageError> {
    q.map_err(|e| PageError::new(400, format!("The query string is malformed: {e}.")))
}

fn not_found(what: &str) -> PageError {
    PageError::new(404, format!("No such {what}. It may have been deleted."))
}

/// Pagination over `total` rows: `?page=N` (1-based; anything unparsable is page 1,
/// anything past the end is the last page).
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// The other query parameters to keep in the page links (already encoded).
    pub keep: String,
}

impl Pager {
    fn new(q: &Params, total: i64, keep: &[(&str, &str)]) -> Self {
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        let keep = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(keep.iter().filter(|(_, v)| !v.is_empty()))
            .finish();
        Self {
            page,
            pages,
            total,
            keep,
        }
    }

    fn offset(&self) -> i64 {
        (self.page - 1) * PAGE_SIZE
    }

    pub fn link(&self, page: &i64) -> String {
        if self.keep.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{}&page={page}", self.keep)
        }
    }
}

/// `YYYY-MM-DD HH:MM` UTC from unix seconds (no calendar crate needed).
pub fn fmt_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The fixed messages a redirect after a successful POST may ask for (`?done=`).
fn notice(q: &Params) -> Option<&'static str> {
    Some(match q.get("done")? {
        "saved" => "The changes were saved.",
        "deleted" => "The application was deleted and its tokens revoked.",
        "created" => "The user was created.",
        "password" => "The password was changed; the user is signed out everywhere.",
        "signedout" => {
            "The user is signed out everywhere: every token and login session was revoked."
        }
        "flags" => "The user's status was updated.",
        "revoked" => "The tokens were revoked.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    csrf_token: String,
    staff_name: String,
    applications: i64,
    users: i64,
}

async fn index(
    Staff(me): Staff,
    axum::extract::State(server): axum::extract::State<Arc<AuthServer>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let applications = server.db.count_applications("").await?;
    let users = server.db.count_users("").await?;
    Ok(page(&server, &headers, StatusCode::OK, |csrf_token| {
        IndexPage {
            csrf_token,
            staff_name: me.username,
            applications,
            users,
        }
    }))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/admin.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_unix_time() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(fmt_time(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn pager_clamps_and_keeps_the_query() {
        let q = Params::parse(b"page=9").unwrap_or_default();
        let p = Pager::new(&q, 30, &[("q", "a b"), ("user", "")]);
        assert_eq!((p.page, p.pages, p.offset()), (2, 2, 25));
        assert_eq!(p.link(&1), "?q=a+b&page=1");
        let q = Params::parse(b"page=-3x").unwrap_or_default();
        assert_eq!(Pager::new(&q, 0, &[]).page, 1);
    }
}
