//! The admin UI driven like a browser: cookie jar, CSRF token scraped from each
//! form. Split like `provider/src/http/admin/`: this file has the helpers and
//! the access rules (staff sessions, CSRF); one file per resource.

mod applications;
mod signout;
mod tokens;
mod users;

use latchkey_provider::management;
use latchkey_provider::password::Password;
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, browser, csrf_from, location};

on_both!(admin_needs_a_staff_session, csrf_is_checked_on_every_post);

pub const STAFF: (&str, &str) = ("boss", "pw-boss");

pub async fn staff(t: &TestApp) -> String {
    management::create_user(
        &t.server.db,
        STAFF.0,
        &Password::new(STAFF.1),
        "",
        true,
        &[],
    )
    .await
    .unwrap()
    .id
}

pub async fn get(t: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(t.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Loads `form_page`, scrapes its CSRF token, and posts `fields` to `action`.
pub async fn submit(
    t: &TestApp,
    c: &reqwest::Client,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (s, html) = get(t, c, form_page).await;
    assert_eq!(s, StatusCode::OK, "{form_page}: {html}");
    let csrf = csrf_from(&html);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrfmiddlewaretoken", &csrf));
    c.post(t.url(action)).form(&form).send().await.unwrap()
}

pub async fn login_with(t: &TestApp, c: &reqwest::Client, user: &str, pw: &str) -> StatusCode {
    let (_, html) = get(t, c, "/accounts/login/").await;
    let csrf = csrf_from(&html);
    c.post(t.url("/accounts/login/"))
        .form(&[
            ("username", user),
            ("password", pw),
            ("next", "/admin/"),
            ("csrfmiddlewaretoken", &csrf),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

pub fn secret_from(html: &str) -> String {
    let at = html.find("id=\"client-secret\"").expect("a secret field");
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..].split('"').next().unwrap().to_owned()
}

pub const ADD: &str = "/admin/oauth2/application/add/";

pub fn app_fields<'a>(
    name: &'a str,
    client_id: &'a str,
    grant: &'a str,
    uris: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("client_id", client_id),
        ("client_type", "confidential"),
        ("authorization_grant_type", grant),
        ("redirect_uris", uris),
        ("allowed_scopes", ""),
        ("user", ""),
    ]
}

pub async fn app_id(t: &TestApp, client_id: &str) -> String {
    t.server
        .db
        .application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn password_grant(t: &TestApp, cid: &str, secret: &str, user: &str) -> (String, String) {
    let (s, tok) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", cid),
            ("client_secret", secret),
            ("username", user),
            ("password", &format!("pw-{user}")),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    (
        tok["access_token"].as_str().unwrap().to_owned(),
        tok["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn admin_needs_a_staff_session(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_access").await else {
        return;
    };
    staff(&t).await;
    t.user("alice", "pw-alice").await;

    // Anonymous: the login page, coming back here afterwards.
    let r = t.http.get(t.url(ADD)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        location(&r),
        "/accounts/login/?next=%2Fadmin%2Foauth2%2Fapplication%2Fadd%2F"
    );
    let r = t
        .http
        .post(t.url("/admin/users/add/"))
        .form(&[("username", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);

    // A staff user's bearer token does not open the admin.
    let (cid, _) = t
        .app(
            latchkey_provider::model::ClientType::Public,
            latchkey_provider::model::AppGrant::Password,
            |_| {},
        )
        .await;
    let (s, tok) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", &cid),
            ("username", STAFF.0),
            ("password", STAFF.1),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = browser(&t.base)
        .get(t.url("/admin/"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FOUND,
        "a bearer token is not a session"
    );

    // Signed in but not staff: 403, for pages and posts alike.
    t.login("alice", "pw-alice").await;
    for path in [
        "/admin/",
        ADD,
        "/admin/users/",
        "/admin/oauth2/accesstoken/",
    ] {
        assert_eq!(
            get(&t, &t.http, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let r = t
        .http
        .post(t.url("/admin/users/add/"))
        .form(&[("username", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Staff: in, and the login form sends them back where they were going.
    let c = browser(&t.base);
    let (_, html) = get(&t, &c, "/accounts/login/?next=/admin/").await;
    let r = c
        .post(t.url("/accounts/login/"))
        .form(&[
            ("username", STAFF.0),
            ("password", STAFF.1),
            ("next", "/admin/"),
            ("csrfmiddlewaretoken", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/admin/");
    let r = c.get(t.url("/admin/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(r.text().await.unwrap().contains("Site administration"));
    // Other pages keep the strict policy.
    let r = c.get(t.url("/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("script-src"), "{csp}");
}

async fn csrf_is_checked_on_every_post(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_csrf").await else {
        return;
    };
    staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    let fields = app_fields("X", "x-app", "password", "");
    // Missing token.
    let r = t.http.post(t.url(ADD)).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Forged token (the cookie holds another one).
    let mut forged = fields.clone();
    let fake = "A".repeat(43);
    forged.push(("csrfmiddlewaretoken", &fake));
    let r = t.http.post(t.url(ADD)).form(&forged).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The right token from another origin.
    let (_, html) = get(&t, &t.http, ADD).await;
    let csrf = csrf_from(&html);
    let mut good = fields.clone();
    good.push(("csrfmiddlewaretoken", &csrf));
    let r = t
        .http
        .post(t.url(ADD))
        .header("origin", "https://evil.example")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.server.db.count_applications("").await.unwrap(), 0);
    // Browsers send their origin on same-origin posts (the referrer policy must
    // not turn it into `null`); the right origin passes.
    assert_eq!(r.headers()["referrer-policy"], "same-origin");
    let r = t
        .http
        .post(t.url(ADD))
        .header("origin", &t.base)
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        t.server
            .db
            .delete_application(&app_id(&t, "x-app").await)
            .await
            .unwrap()
    );
    // Every other state change too.
    let (cid, _) = t
        .app(
            latchkey_provider::model::ClientType::Confidential,
            latchkey_provider::model::AppGrant::Password,
            |_| {},
        )
        .await;
    let id = app_id(&t, &cid).await;
    let boss = t
        .server
        .db
        .user_by_username(STAFF.0)
        .await
        .unwrap()
        .unwrap()
        .id;
    for path in [
        format!("/admin/oauth2/application/{id}/change/"),
        format!("/admin/oauth2/application/{id}/rotate_secret/"),
        format!("/admin/oauth2/application/{id}/delete/"),
        "/admin/users/add/".to_owned(),
        format!("/admin/users/{boss}/password/"),
        format!("/admin/users/{boss}/flags/"),
        format!("/admin/oauth2/accesstoken/{id}/revoke/"),
        format!("/admin/oauth2/refreshtoken/{id}/revoke/"),
        "/admin/oauth2/tokens/revoke/".to_owned(),
    ] {
        let r = t
            .http
            .post(t.url(&path))
            .form(&[("csrfmiddlewaretoken", fake.as_str()), ("application", &id)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(t.server.db.application_by_id(&id).await.unwrap().is_some());
    // With the real token it goes through.
    let r = submit(&t, &t.http, ADD, ADD, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
}
