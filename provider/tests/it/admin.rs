//! The admin UI driven like a browser: cookie jar, CSRF token scraped from each form.

use latchkey_provider::management;
use latchkey_provider::storage::active_tokens::{TokenFilter, TokenKind};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, browser, csrf_from, location, param};

on_both!(
    admin_needs_a_staff_session,
    application_lifecycle,
    edited_redirect_uris_drive_authorize,
    invalid_forms_are_rerendered,
    csrf_is_checked_on_every_post,
    users_admin,
    tokens_admin,
);

const STAFF: (&str, &str) = ("boss", "pw-boss");

async fn staff(t: &TestApp) -> String {
    management::create_user(&t.server.db, STAFF.0, STAFF.1, "", true, &[])
        .await
        .unwrap()
        .id
}

async fn get(t: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(t.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Loads `form_page`, scrapes its CSRF token, and posts `fields` to `action`.
async fn submit(
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

async fn login_with(t: &TestApp, c: &reqwest::Client, user: &str, pw: &str) -> StatusCode {
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

fn secret_from(html: &str) -> String {
    let at = html.find("id=\"client-secret\"").expect("a secret field");
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..].split('"').next().unwrap().to_owned()
}

const ADD: &str = "/admin/oauth2/application/add/";

fn app_fields<'a>(
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

async fn app_id(t: &TestApp, client_id: &str) -> String {
    t.server
        .db
        .application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn password_grant(t: &TestApp, cid: &str, secret: &str, user: &str) -> (String, String) {
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
    let r = browser()
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
    let c = browser();
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

async fn application_lifecycle(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_apps").await else {
        return;
    };
    staff(&t).await;
    t.user("alice", "pw-alice").await;
    t.login(STAFF.0, STAFF.1).await;

    // The add page proposes a generated client id.
    let (s, html) = get(&t, &t.http, ADD).await;
    assert_eq!(s, StatusCode::OK);
    let at = html.find("name=\"client_id\"").unwrap();
    let v = html[at..].find("value=\"").unwrap() + at + 7;
    assert_eq!(html[v..].split('"').next().unwrap().len(), 40);

    // Create a confidential app: the secret is in the POST response only.
    let r = submit(
        &t,
        &t.http,
        ADD,
        ADD,
        &app_fields("Backend", "backend-app", "password", ""),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let secret = secret_from(&html);
    assert!(secret.starts_with("lks_") && secret.len() >= 47, "{secret}");
    let id = app_id(&t, "backend-app").await;

    // Listed (name, client id, type, grant) and never shown again.
    let (_, list) = get(&t, &t.http, "/admin/oauth2/application/?q=BACK").await;
    assert!(
        list.contains("Backend") && list.contains("backend-app") && list.contains("confidential")
    );
    assert!(!list.contains(&secret));
    let (_, none) = get(&t, &t.http, "/admin/oauth2/application/?q=zzz").await;
    assert!(!none.contains("backend-app"));
    let change = format!("/admin/oauth2/application/{id}/change/");
    let (_, page) = get(&t, &t.http, &change).await;
    assert!(!page.contains(&secret));

    // The shown secret works at the token endpoint.
    let (access, refresh) = password_grant(&t, "backend-app", &secret, "alice").await;
    assert_eq!(t.api("/api/me/", &access).await, StatusCode::OK);

    // Rotate: a new secret, once; the old one fails at once.
    let r = submit(
        &t,
        &t.http,
        &change,
        &format!("/admin/oauth2/application/{id}/rotate_secret/"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let new_secret = secret_from(&r.text().await.unwrap());
    assert_ne!(new_secret, secret);
    let (s, e) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", "backend-app"),
            ("client_secret", &secret),
            ("username", "alice"),
            ("password", "pw-alice"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    password_grant(&t, "backend-app", &new_secret, "alice").await;

    // Delete: confirmation first, then the app and every token of it are gone.
    let filter = TokenFilter {
        application_id: id.clone(),
        ..TokenFilter::default()
    };
    assert_eq!(
        t.server
            .db
            .count_active_tokens(TokenKind::Access, &filter)
            .await
            .unwrap(),
        2
    );
    let delete = format!("/admin/oauth2/application/{id}/delete/");
    let (_, confirm) = get(&t, &t.http, &delete).await;
    assert!(confirm.contains("Delete application?") && confirm.contains("2 live access tokens"));
    assert!(
        t.server.db.application_by_id(&id).await.unwrap().is_some(),
        "GET deletes nothing"
    );
    let r = submit(&t, &t.http, &delete, &delete, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/admin/oauth2/application/?done=deleted");
    assert!(t.server.db.application_by_id(&id).await.unwrap().is_none());
    for kind in [TokenKind::Access, TokenKind::Refresh] {
        assert_eq!(
            t.server
                .db
                .count_application_tokens(kind, &id)
                .await
                .unwrap(),
            0
        );
    }
    assert_eq!(t.api("/api/me/", &access).await, StatusCode::UNAUTHORIZED);
    let (s, _) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "backend-app"),
            ("client_secret", &new_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert!(s.is_client_error());
    assert_eq!(get(&t, &t.http, &change).await.0, StatusCode::NOT_FOUND);
}

async fn edited_redirect_uris_drive_authorize(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_redirects").await else {
        return;
    };
    staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    let mut fields = app_fields(
        "Web",
        "web-app",
        "authorization-code",
        "https://old.example/cb",
    );
    fields.push(("skip_authorization", "on"));
    let r = submit(&t, &t.http, ADD, ADD, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = app_id(&t, "web-app").await;
    let authorize = |uri: &str| {
        let uri: String = form_urlencoded::byte_serialize(uri.as_bytes()).collect();
        t.url(&format!(
            "/oauth2/authorize/?response_type=code&client_id=web-app&redirect_uri={uri}"
        ))
    };
    let r = t
        .http
        .get(authorize("https://old.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(location(&r).starts_with("https://old.example/cb?code="));

    let change = format!("/admin/oauth2/application/{id}/change/");
    let (_, page) = get(&t, &t.http, &change).await;
    assert!(page.contains("https://old.example/cb</textarea>"), "{page}");
    let mut fields = app_fields(
        "Web",
        "web-app",
        "authorization-code",
        "https://new.example/cb\r\nhttp://127.0.0.1/native",
    );
    fields.push(("skip_authorization", "on"));
    let r = submit(&t, &t.http, &change, &change, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let r = t
        .http
        .get(authorize("https://old.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let r = t
        .http
        .get(authorize("https://new.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with("https://new.example/cb?"), "{to}");
    assert!(param(&to, "code").is_some());
    let r = t
        .http
        .get(authorize("http://127.0.0.1:4711/native"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FOUND,
        "loopback port may vary (RFC 8252 §7.3)"
    );
}

async fn invalid_forms_are_rerendered(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_invalid").await else {
        return;
    };
    staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    for (uris, why) in [
        ("http://evil.example/cb", "plain http is only allowed"),
        ("https://app.example/cb#frag", "must not contain a fragment"),
        ("/relative/cb", "not an absolute URI"),
        ("javascript:alert(1)", "scheme not allowed"),
        ("", "needs at least one redirect URI"),
    ] {
        let r = submit(
            &t,
            &t.http,
            ADD,
            ADD,
            &app_fields("Kept <name>", "kept-id", "authorization-code", uris),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uris}");
        let html = r.text().await.unwrap();
        assert!(html.contains(why), "{uris}: {html}");
        assert!(html.contains("Please correct the errors below."));
        assert!(
            html.contains("value=\"Kept &#60;name&#62;\"")
                || html.contains("value=\"Kept &lt;name&gt;\""),
            "{html}"
        );
        assert!(html.contains("value=\"kept-id\""));
        assert!(html.contains("aria-invalid=\"true\""));
    }
    // Other fields, each reported next to itself; nothing is saved.
    let r = submit(
        &t,
        &t.http,
        ADD,
        ADD,
        &[
            ("name", "x"),
            ("client_id", "has space"),
            ("client_type", "public"),
            ("authorization_grant_type", "client-credentials"),
            ("allowed_scopes", "read admin"),
            ("user", "ghost"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    for why in [
        "printable ASCII characters",
        "RFC 6749 §4.4",
        "unknown scope &#34;admin&#34;",
        "No user has this username.",
    ] {
        assert!(
            html.contains(why) || html.contains(&why.replace("&#34;", "&quot;")),
            "{why}: {html}"
        );
    }
    assert_eq!(t.server.db.count_applications("").await.unwrap(), 0);
    // A taken client id is a field error too, not a 500.
    let ok = submit(
        &t,
        &t.http,
        ADD,
        ADD,
        &app_fields("A", "dup", "password", ""),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let r = submit(
        &t,
        &t.http,
        ADD,
        ADD,
        &app_fields("B", "dup", "password", ""),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("already exists"));
    // Garbage in paths and queries: pages, not panics.
    for path in [
        "/admin/oauth2/application/?page=-1&q=%25_%5C",
        "/admin/oauth2/application/?page=99999999999999999999",
        "/admin/oauth2/application/nope/change/",
        "/admin/users/nope/",
        "/admin/oauth2/accesstoken/?user=nope",
    ] {
        let s = get(&t, &t.http, path).await.0;
        assert!(
            s == StatusCode::OK || s == StatusCode::NOT_FOUND,
            "{path}: {s}"
        );
    }
    let r = get(&t, &t.http, "/admin/oauth2/application/?q=a&q=b").await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
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

async fn users_admin(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_users").await else {
        return;
    };
    let boss = staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    let add = "/admin/users/add/";
    let r = submit(
        &t,
        &t.http,
        add,
        add,
        &[("username", "dave"), ("password1", "a"), ("password2", "b")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("do not match") && html.contains("value=\"dave\""));
    let r = submit(
        &t,
        &t.http,
        add,
        add,
        &[
            ("username", "dave"),
            ("email", "d@example.com"),
            ("password1", "pw-1"),
            ("password2", "pw-1"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let detail = location(&r);
    let dave = t.server.db.user_by_username("dave").await.unwrap().unwrap();
    assert_eq!(detail, format!("/admin/users/{}/?done=created", dave.id));
    assert!(!dave.is_staff && dave.is_active);
    let (_, list) = get(&t, &t.http, "/admin/users/?q=DAV").await;
    assert!(list.contains("d@example.com") && !list.contains(&format!("/admin/users/{boss}/")));
    let r = submit(
        &t,
        &t.http,
        add,
        add,
        &[("username", "dave"), ("password1", "x"), ("password2", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Dave signs in; not staff yet.
    let d = browser();
    assert_eq!(
        login_with(&t, &d, "dave", "pw-1").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(get(&t, &d, "/admin/").await.0, StatusCode::FORBIDDEN);

    // Set password: the old one stops working.
    let page = format!("/admin/users/{}/", dave.id);
    let pw = format!("/admin/users/{}/password/", dave.id);
    let r = submit(
        &t,
        &t.http,
        &page,
        &pw,
        &[("password1", "pw-2"), ("password2", "pw-2")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        login_with(&t, &browser(), "dave", "pw-1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_with(&t, &browser(), "dave", "pw-2").await,
        StatusCode::SEE_OTHER
    );

    // Grant staff: dave's session opens the admin.
    let flags = format!("/admin/users/{}/flags/", dave.id);
    let r = submit(
        &t,
        &t.http,
        &page,
        &flags,
        &[("is_active", "on"), ("is_staff", "on")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(get(&t, &d, "/admin/").await.0, StatusCode::OK);
    // Remove staff, then deactivate: 403, then signed out altogether.
    submit(&t, &t.http, &page, &flags, &[("is_active", "on")]).await;
    assert_eq!(get(&t, &d, "/admin/").await.0, StatusCode::FORBIDDEN);
    submit(&t, &t.http, &page, &flags, &[]).await;
    assert_eq!(get(&t, &d, "/admin/").await.0, StatusCode::FOUND);
    assert_eq!(
        login_with(&t, &browser(), "dave", "pw-2").await,
        StatusCode::UNAUTHORIZED
    );

    // Operators cannot lock themselves out.
    let mine = format!("/admin/users/{boss}/");
    let r = submit(
        &t,
        &t.http,
        &mine,
        &format!("/admin/users/{boss}/flags/"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("cannot deactivate yourself")
    );
    assert_eq!(get(&t, &t.http, "/admin/").await.0, StatusCode::OK);
}

async fn tokens_admin(b: Backend) {
    let Some(t) = TestApp::spawn(b, "admin_tokens").await else {
        return;
    };
    staff(&t).await;
    t.user("alice", "pw-alice").await;
    t.user("bob", "pw-bob").await;
    let (cid, secret) = t
        .app(
            latchkey_provider::model::ClientType::Confidential,
            latchkey_provider::model::AppGrant::Password,
            |_| {},
        )
        .await;
    let secret = secret.unwrap();
    let app = app_id(&t, &cid).await;
    let (a1, ar1) = password_grant(&t, &cid, &secret, "alice").await;
    let (a2, _) = password_grant(&t, &cid, &secret, "alice").await;
    let (b1, br1) = password_grant(&t, &cid, &secret, "bob").await;
    let alice = t
        .server
        .db
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    t.login(STAFF.0, STAFF.1).await;

    // Listed by user and app, never with the token values.
    let (s, all) = get(&t, &t.http, "/admin/oauth2/accesstoken/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(all.contains("alice") && all.contains("bob") && all.contains("3 live tokens"));
    for v in [&a1, &a2, &b1, &ar1, &br1] {
        assert!(!all.contains(v.as_str()));
    }
    let by_alice = format!("/admin/oauth2/accesstoken/?user={alice}");
    let (_, page) = get(&t, &t.http, &by_alice).await;
    assert!(
        page.contains("2 live tokens") && !page.contains(">bob<"),
        "{page}"
    );
    let (_, page) = get(
        &t,
        &t.http,
        &format!("/admin/oauth2/refreshtoken/?application={app}"),
    )
    .await;
    assert!(page.contains("3 live tokens"), "{page}");

    // Revoke one of alice's access tokens.
    let filter = TokenFilter {
        user_id: alice.clone(),
        ..TokenFilter::default()
    };
    let listed = t
        .server
        .db
        .list_active_tokens(TokenKind::Access, &filter, 10, 0)
        .await
        .unwrap();
    let r = submit(
        &t,
        &t.http,
        &by_alice,
        &format!("/admin/oauth2/accesstoken/{}/revoke/", listed[0].id),
        &[("user", &alice)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        format!("/admin/oauth2/accesstoken/?user={alice}&done=revoked")
    );
    let mut statuses = [t.api("/api/me/", &a1).await, t.api("/api/me/", &a2).await];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);

    // All of alice's: access and refresh tokens; bob's stay.
    let r = submit(
        &t,
        &t.http,
        &by_alice,
        "/admin/oauth2/tokens/revoke/",
        &[("user", &alice)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.api("/api/me/", &a1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.api("/api/me/", &a2).await, StatusCode::UNAUTHORIZED);
    let refresh = |rt: String| {
        let (cid, secret) = (cid.clone(), secret.clone());
        let t = &t;
        async move {
            t.token(&[
                ("grant_type", "refresh_token"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("refresh_token", &rt),
            ])
            .await
            .0
        }
    };
    assert_eq!(refresh(ar1.clone()).await, StatusCode::BAD_REQUEST);
    assert_eq!(t.api("/api/me/", &b1).await, StatusCode::OK);

    // One refresh token: its family's access tokens go with it (RFC 7009 §2.1).
    let bob_refresh = t
        .server
        .db
        .list_active_tokens(TokenKind::Refresh, &TokenFilter::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!(bob_refresh.len(), 1);
    let r = submit(
        &t,
        &t.http,
        "/admin/oauth2/refreshtoken/",
        &format!("/admin/oauth2/refreshtoken/{}/revoke/", bob_refresh[0].id),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.api("/api/me/", &b1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(br1).await, StatusCode::BAD_REQUEST);

    // All of an application's.
    let (a3, _) = password_grant(&t, &cid, &secret, "alice").await;
    let (b3, _) = password_grant(&t, &cid, &secret, "bob").await;
    let by_app = format!("/admin/oauth2/accesstoken/?application={app}");
    let r = submit(
        &t,
        &t.http,
        &by_app,
        "/admin/oauth2/tokens/revoke/",
        &[("application", &app)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.api("/api/me/", &a3).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.api("/api/me/", &b3).await, StatusCode::UNAUTHORIZED);
    // Without a user or an app nothing is revoked.
    let r = submit(
        &t,
        &t.http,
        "/admin/oauth2/accesstoken/",
        "/admin/oauth2/tokens/revoke/",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
