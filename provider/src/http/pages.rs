//! Templates and the small static pages.

use askama::Template;
use axum::http::header;
use axum::response::IntoResponse;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf_token: &'a str,
    pub next: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub csrf_token: &'a str,
    pub app_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<(String, &'static str)>,
    pub hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub csrf_token: &'a str,
    pub username: Option<&'a str>,
}

/// RP-Initiated Logout's confirmation (OIDC RP-Initiated Logout 1.0 §2, §6).
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf_token: &'a str,
    pub app_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage;

/// Renders a template; a template bug degrades to plain text rather than a panic.
pub trait RenderOrPlain {
    fn render_or_plain(&self) -> String;
}

impl<T: Template> RenderOrPlain for T {
    fn render_or_plain(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "template rendering failed");
            "The page could not be rendered.".to_owned()
        })
    }
}

pub fn scope_description(scope: &str) -> &'static str {
    match scope {
        "read" => "Read scope",
        "write" => "Write scope",
        "groups" => "Access to your groups",
        "openid" => "Sign you in (your user id)",
        "profile" => "Your username",
        "email" => "Your email address",
        _ => "Application-defined scope",
    }
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}
