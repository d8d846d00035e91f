//! Setting a password, deactivating, or "sign out everywhere" ends every session
//! and token of the user for good: reactivation brings none back.

use reqwest::StatusCode;

use super::*;
use crate::on_both;
use crate::support::{Backend, REDIRECT, browser};
use latchkey_provider::model::{AppGrant, ClientType};

on_both!(operator_actions_sign_the_user_out_for_good);

/// Everything an attacker holding alice's password would have: a provider web
/// session, an access token and a refresh token.
struct Loot {
    web: reqwest::Client,
    access: String,
    refresh: String,
}

async fn loot(t: &TestApp, cli: &str, pw: &str) -> Loot {
    let web = browser(&t.base);
    assert_eq!(
        login_with(t, &web, "alice", pw).await,
        StatusCode::SEE_OTHER
    );
    let (s, tok) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", cli),
            ("username", "alice"),
            ("password", pw),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    Loot {
        web,
        access: tok["access_token"].as_str().unwrap().to_owned(),
        refresh: tok["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// (web session still authorizes, access token still reads /api/me/, refresh still refreshes)
async fn still_works(t: &TestApp, cli: &str, code_cli: &str, l: &Loot) -> (bool, bool, bool) {
    let q = format!(
        "/oauth2/authorize/?response_type=code&client_id={code_cli}&redirect_uri={REDIRECT}&scope=read"
    );
    let r = l.web.get(t.url(&q)).send().await.unwrap();
    let web = r.status() == StatusCode::OK; // the consent page, not the login redirect
    let api = t.api("/api/me/", &l.access).await == StatusCode::OK;
    let (s, _) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", cli),
            ("refresh_token", &l.refresh),
        ])
        .await;
    (web, api, s == StatusCode::OK)
}

async fn operator_actions_sign_the_user_out_for_good(b: Backend) {
    let Some(t) = TestApp::spawn(b, "signout").await else {
        return;
    };
    staff(&t).await;
    t.login(STAFF.0, STAFF.1).await;
    t.user("alice", "pw-1").await;
    let alice = t
        .server
        .db
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let (code_cli, _) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    let detail = format!("/admin/users/{}/", alice.id);

    // 1. The operator resets the password.
    let l = loot(&t, &cli, "pw-1").await;
    assert_eq!(
        still_works(&t, &cli, &code_cli, &l).await,
        (true, true, true)
    );
    let l = loot(&t, &cli, "pw-1").await;
    let action = format!("{detail}password/");
    let r = submit(
        &t,
        &t.http,
        &detail,
        &action,
        &[("password1", "pw-2"), ("password2", "pw-2")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        still_works(&t, &cli, &code_cli, &l).await,
        (false, false, false)
    );

    // 2. Deactivated, then reactivated: nothing comes back.
    let l = loot(&t, &cli, "pw-2").await;
    let flags = format!("{detail}flags/");
    let r = submit(&t, &t.http, &detail, &flags, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = submit(&t, &t.http, &detail, &flags, &[("is_active", "on")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        still_works(&t, &cli, &code_cli, &l).await,
        (false, false, false)
    );

    // 3. "Sign this user out everywhere".
    let l = loot(&t, &cli, "pw-2").await;
    let r = submit(&t, &t.http, &detail, &format!("{detail}signout/"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        still_works(&t, &cli, &code_cli, &l).await,
        (false, false, false)
    );
    // The operator's own session is untouched.
    assert_eq!(get(&t, &t.http, &detail).await.0, StatusCode::OK);

    // 4. `provider changepassword` does the same.
    let l = loot(&t, &cli, "pw-2").await;
    let out = crate::cli::provider_with_stdin(
        t.database_url(),
        &["changepassword", "alice", "--password-stdin"],
        "pw-3\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        still_works(&t, &cli, &code_cli, &l).await,
        (false, false, false)
    );
    loot(&t, &cli, "pw-3").await;
    // Without --password-stdin it refuses (no password on the command line).
    let out =
        crate::cli::provider_with_stdin(t.database_url(), &["changepassword", "alice"], "x\n");
    assert!(!out.status.success());
}
