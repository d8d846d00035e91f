//! Applications: create, show the secret once, rotate, edit, delete; invalid forms.

use latchkey_provider::storage::active_tokens::{TokenFilter, TokenKind};
use reqwest::StatusCode;

use super::*;
use crate::on_both;
use crate::support::{Backend, location, param};

on_both!(
    application_lifecycle,
    edited_redirect_uris_drive_authorize,
    invalid_forms_are_rerendered,
);

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

    // Switching the type: public drops the secret; confidential again shows a new one, once.
    let mut public = fields.clone();
    public.retain(|(k, _)| *k != "client_type");
    public.push(("client_type", "public"));
    let r = submit(&t, &t.http, &change, &change, &public).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let app = t.server.db.application_by_id(&id).await.unwrap().unwrap();
    assert!(app.is_public() && app.client_secret_hash.is_none());
    let (_, page) = get(&t, &t.http, &change).await;
    assert!(page.contains("Public applications have no client secret."));
    let r = submit(&t, &t.http, &change, &change, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let secret = secret_from(&r.text().await.unwrap());
    let app = t.server.db.application_by_id(&id).await.unwrap().unwrap();
    assert!(!app.is_public());
    assert!(
        app.client_secret_hash
            .unwrap()
            .matches(&latchkey_provider::secret::TokenHash::of(&secret))
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
