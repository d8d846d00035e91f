//! Back-Channel Logout 1.0: the provider POSTs a signed logout token to each app the
//! user signed into in the session that ended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use latchkey_provider::management;
use reqwest::StatusCode;
use serde_json::Value;

use super::{code, exchange, jwks, rp, verify};
use crate::on_both;
use crate::support::{Backend, TestApp, eventually};

on_both!(
    logout_form_notifies_the_apps_of_the_session,
    sign_out_everywhere_notifies,
    failing_receiver_is_retried_then_given_up,
);

/// A relying party's back-channel endpoint: records each `logout_token`, answers `status`.
pub struct Receiver {
    pub url: String,
    pub tokens: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start(status: u16) -> Self {
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route(
                "/bc",
                axum::routing::post(
                    |State((tokens, status)): State<(Arc<Mutex<Vec<String>>>, u16)>,
                     body: String| async move {
                        let token = form_urlencoded::parse(body.as_bytes())
                            .find(|(k, _)| k == "logout_token")
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        tokens.lock().unwrap().push(token);
                        AxumStatus::from_u16(status).unwrap()
                    },
                ),
            )
            .with_state((tokens.clone(), status));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/bc", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        Self { url, tokens }
    }

    pub fn count(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        assert!(
            eventually(Duration::from_secs(10), || async { self.count() >= n }).await,
            "{} of {n} logout tokens arrived",
            self.count()
        );
        self.tokens.lock().unwrap().clone()
    }
}

async fn outbox_empty(t: &TestApp) {
    assert!(
        eventually(Duration::from_secs(15), || async {
            t.server.db.pending_logouts().await.unwrap() == 0
        })
        .await,
        "the outbox drains"
    );
}

/// Checks a logout token (Back-Channel Logout §2.4) and returns its claims.
fn check_logout_token(
    t: &TestApp,
    set: &jsonwebtoken::jwk::JwkSet,
    token: &str,
    aud: &str,
) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let c = verify(set, token, &t.base, aud);
    assert!(c.get("nonce").is_none(), "never a nonce: {c}");
    assert_eq!(
        c["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 32));
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!(exp > iat && exp - iat <= 120, "short-lived: {c}");
    c
}

async fn logout_form_notifies_the_apps_of_the_session(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_bc").await else {
        return;
    };
    let (rx_a, rx_b, rx_idle) = (
        Receiver::start(200).await,
        Receiver::start(200).await,
        Receiver::start(200).await,
    );
    t.user("alice", "pw-alice").await;
    t.login("alice", "pw-alice").await;
    let (a, a_secret) = rp(&t, Some(rx_a.url.as_str())).await;
    let (bb, _) = rp(&t, Some(rx_b.url.as_str())).await;
    // An app with a back-channel URI the user never signed into in this session.
    let _idle = rp(&t, Some(rx_idle.url.as_str())).await;
    let tok = exchange(&t, &a, &a_secret, &code(&t, &a, "&scope=openid").await).await;
    let _code_b = code(&t, &bb, "&scope=openid").await;
    let set = jwks(&t).await;
    let id = verify(&set, tok["id_token"].as_str().unwrap(), &t.base, &a);

    // The provider's own logout form.
    super::logout_form(&t.http, &t.base).await;
    let tokens = rx_a.wait_for(1).await;
    let c = check_logout_token(&t, &set, &tokens[0], &a);
    assert_eq!(c["sid"], id["sid"]);
    assert_eq!(c["sub"], id["sub"]);
    let tb = rx_b.wait_for(1).await;
    check_logout_token(&t, &set, &tb[0], &bb);
    outbox_empty(&t).await;
    assert_eq!(rx_a.count(), 1, "sent once");
    assert_eq!(
        rx_idle.count(),
        0,
        "an app the user did not sign into hears nothing"
    );
}

async fn sign_out_everywhere_notifies(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_bc_everywhere").await else {
        return;
    };
    let rx = Receiver::start(200).await;
    t.user("alice", "pw-alice").await;
    t.login("alice", "pw-alice").await;
    let (a, _) = rp(&t, Some(rx.url.as_str())).await;
    code(&t, &a, "&scope=openid").await;
    // A second browser, a second session of alice's, also signed into the app.
    let other = super::browser_signed_in(&t.base, "alice", "pw-alice").await;
    let r = other
        .get(t.url(&super::authorize_path(&a, "&scope=openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let user = t
        .server
        .db
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    management::sign_out_everywhere(&t.server.db, &user.id)
        .await
        .unwrap();
    let tokens = rx.wait_for(2).await;
    let set = jwks(&t).await;
    let sids: std::collections::BTreeSet<String> = tokens
        .iter()
        .map(|tk| {
            check_logout_token(&t, &set, tk, &a)["sid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sids.len(), 2, "one token per ended session");
    outbox_empty(&t).await;
    assert_eq!(rx.count(), 2);
}

async fn failing_receiver_is_retried_then_given_up(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_bc_retry").await else {
        return;
    };
    let rx = Receiver::start(500).await;
    t.user("alice", "pw-alice").await;
    t.login("alice", "pw-alice").await;
    let (a, _) = rp(&t, Some(rx.url.as_str())).await;
    code(&t, &a, "&scope=openid").await;
    let user = t
        .server
        .db
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    management::sign_out_everywhere(&t.server.db, &user.id)
        .await
        .unwrap();
    rx.wait_for(3).await;
    outbox_empty(&t).await;
    assert_eq!(rx.count(), 3, "three attempts, then the row is dropped");
}

/// Two `provider serve` processes on one PostgreSQL, both running the sender: each
/// notification is claimed by one of them and sent once. The app is registered with
/// `createapplication --backchannel-logout-uri`.
#[tokio::test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "SKIPPED: LATCHKEY_TEST_POSTGRES_URL was unset when the tests were built"
)]
async fn two_processes_send_each_logout_once() {
    use crate::cli::provider;
    use crate::multiprocess::serve;
    use crate::support::{REDIRECT, ScratchDb, location, param};
    let Some(db) = ScratchDb::new(Backend::Postgres, "oidc_bc_two").await else {
        return;
    };
    let rx = Receiver::start(200).await;
    let user = provider(
        &db.url,
        &["createuser", "--username", "alice", "--password", "pw"],
    );
    assert!(user.status.success(), "{user:?}");
    let app = provider(
        &db.url,
        &[
            "createapplication",
            "--client-id",
            "rp",
            "--redirect-uris",
            REDIRECT,
            "--skip-authorization",
            "--post-logout-redirect-uris",
            "http://localhost:3000/bye http://127.0.0.1:9/bye",
            "--backchannel-logout-uri",
            &rx.url,
            "confidential",
            "authorization-code",
        ],
    );
    assert!(app.status.success(), "{app:?}");
    let bad = provider(
        &db.url,
        &[
            "createapplication",
            "--client-id",
            "rp2",
            "--redirect-uris",
            REDIRECT,
            "--backchannel-logout-uri",
            "http://evil.example/bc",
            "confidential",
            "authorization-code",
        ],
    );
    assert!(!bad.status.success(), "plain http off loopback is refused");
    let ((_a, a), (_b, b)) = tokio::join!(serve(&db.url, &[]), serve(&db.url, &[]));
    let http = super::browser_signed_in(&a, "alice", "pw").await;
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let r = http
        .get(format!("{a}/oauth2/authorize/?response_type=code&client_id=rp&redirect_uri={redirect}&scope=openid"))
        .send()
        .await
        .unwrap();
    assert!(param(&location(&r), "code").is_some());
    super::logout_form(&http, &a).await;
    rx.wait_for(1).await;
    let store = latchkey_provider::storage::Db::connect(&db.url)
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            store.pending_logouts().await.unwrap() == 0
        })
        .await
    );
    // Both processes keep polling; give them a few rounds to (wrongly) send again.
    let polls = eventually(Duration::from_millis(2500), || async { rx.count() > 1 }).await;
    assert!(!polls, "sent {} times", rx.count());
    let _ = b;
    store.close().await;
}
