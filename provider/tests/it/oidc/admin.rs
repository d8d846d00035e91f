//! The admin's application form edits the logout settings, validated like redirect URIs.

use reqwest::StatusCode;

use crate::admin::{ADD, STAFF, app_fields, app_id, get, staff, submit};
use crate::on_both;
use crate::support::{Backend, TestApp};

on_both!(admin_edits_logout_settings);

async fn admin_edits_logout_settings(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_admin").await else {
        return;
    };
    staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    let uris = "http://localhost:3000/cb";
    let mut fields = app_fields("RP", "rp-app", "authorization-code", uris);
    fields.push(("post_logout_redirect_uris", "http://evil.example/bye"));
    fields.push(("backchannel_logout_uri", "javascript:alert(1)"));
    let r = submit(&t, &t.http, ADD, ADD, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("err_post_logout") && html.contains("err_backchannel"),
        "{html}"
    );
    assert!(
        t.server
            .db
            .application_by_client_id("rp-app")
            .await
            .unwrap()
            .is_none()
    );

    let mut fields = app_fields("RP", "rp-app", "authorization-code", uris);
    fields.push((
        "post_logout_redirect_uris",
        "https://rp.example/bye\nhttp://127.0.0.1:8080/bye",
    ));
    fields.push(("backchannel_logout_uri", "https://rp.example/bc"));
    let r = submit(&t, &t.http, ADD, ADD, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = app_id(&t, "rp-app").await;
    let s = t.server.db.logout_settings(&id).await.unwrap();
    assert_eq!(
        s.post_logout_redirect_uris,
        ["https://rp.example/bye", "http://127.0.0.1:8080/bye"]
    );
    assert_eq!(
        s.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/bc")
    );

    // The change form shows them, and clearing them there removes them.
    let change = format!("/admin/oauth2/application/{id}/change/");
    let (_, page) = get(&t, &t.http, &change).await;
    assert!(page.contains("https://rp.example/bc") && page.contains("https://rp.example/bye"));
    let fields = app_fields("RP", "rp-app", "authorization-code", uris);
    let r = submit(&t, &t.http, &change, &change, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s = t.server.db.logout_settings(&id).await.unwrap();
    assert!(s.post_logout_redirect_uris.is_empty() && s.backchannel_logout_uri.is_none());
}
