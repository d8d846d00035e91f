//! `/metrics` (Prometheus text) and `/readyz`, on the main listener or on their own.

use std::sync::Arc;

use latchkey_provider::AuthServer;
use latchkey_provider::storage::Db;
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, ScratchDb, TestApp, default_settings};

on_both!(metrics_and_readiness, metrics_on_their_own_listener);

async fn metrics_and_readiness(b: Backend) {
    let Some(t) = TestApp::spawn(b, "metrics").await else {
        return;
    };
    let (id, secret) = t.service().await;
    let (s, _) = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .token(&[("grant_type", "client_credentials"), ("client_id", "nope")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = r.text().await.unwrap();
    for line in [
        "latchkey_http_requests_total{route=\"/oauth2/token/\",status=\"200\"}",
        "latchkey_grants_total{grant_type=\"client_credentials\",outcome=\"ok\"}",
        "latchkey_grants_total{grant_type=\"client_credentials\",outcome=\"invalid_client\"}",
        "latchkey_token_request_duration_seconds_bucket{le=\"+Inf\"}",
        "latchkey_argon2_queue_depth ",
        "latchkey_sweeper_deleted_rows_total ",
        "latchkey_db_pool_connections{engine=",
        "# TYPE latchkey_logins_throttled_total counter",
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    let r = t.http.get(t.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn metrics_on_their_own_listener(b: Backend) {
    let Some(scratch) = ScratchDb::new(b, "metrics_listen").await else {
        return;
    };
    let db = Db::connect(&scratch.url).await.unwrap();
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (main_url, ops_url) = (
        format!("http://{}", main.local_addr().unwrap()),
        format!("http://{}", ops.local_addr().unwrap()),
    );
    let settings = default_settings()
        .resolve(main_url.clone(), main.local_addr().unwrap())
        .unwrap();
    let server = Arc::new(AuthServer::start(db.clone(), settings).await.unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(latchkey_provider::http::serve_with_ops(
        main,
        Some(ops),
        server,
        async {
            let _ = stopped.await;
        },
    ));
    let c = reqwest::Client::new();
    let get = |u: String| {
        let c = c.clone();
        async move { c.get(u).send().await.unwrap().status() }
    };
    assert_eq!(get(format!("{ops_url}/metrics")).await, StatusCode::OK);
    assert_eq!(get(format!("{ops_url}/readyz")).await, StatusCode::OK);
    assert_eq!(
        get(format!("{main_url}/metrics")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(format!("{main_url}/healthz")).await, StatusCode::OK);
    // The database goes away: not ready.
    db.close().await;
    assert_eq!(
        get(format!("{ops_url}/readyz")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let _ = stop.send(());
}
