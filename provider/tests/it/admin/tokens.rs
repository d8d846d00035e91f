//! Live tokens: listing without values, revoking one, per user, per app.

use latchkey_provider::storage::active_tokens::{TokenFilter, TokenKind};
use reqwest::StatusCode;

use super::*;
use crate::on_both;
use crate::support::{Backend, location};

on_both!(tokens_admin);

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
