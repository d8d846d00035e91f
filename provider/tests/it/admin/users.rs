//! Users: add, set password, activate/deactivate, staff.

use reqwest::StatusCode;

use super::*;
use crate::on_both;
use crate::support::{Backend, browser, location};

on_both!(users_admin);

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
    let d = browser(&t.base);
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
        login_with(&t, &browser(&t.base), "dave", "pw-1").await,
        StatusCode::UNAUTHORIZED
    );
    // The reset signed dave out (admin/signout.rs has the rest); he signs in again.
    assert_eq!(get(&t, &d, "/admin/").await.0, StatusCode::FOUND);
    assert_eq!(
        login_with(&t, &d, "dave", "pw-2").await,
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
        login_with(&t, &browser(&t.base), "dave", "pw-2").await,
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
