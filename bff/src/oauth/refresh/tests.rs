//! Single-flight refresh on the real in-memory store; the provider call is a counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tower_sessions::Session;
use tower_sessions::session::Id;

use super::Refresher;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::oauth::provider::{RefreshError, Tokens};
use crate::secret::{AccessToken, RefreshToken};
use crate::session::memory::Limits;
use crate::session::ticket::Keyring;
use crate::session::{self, SessionData, Store, now};

fn store() -> Store {
    Store::memory(
        Duration::from_secs(1),
        Limits {
            max_sessions: 10,
            max_logins: 10,
        },
        Keyring::default(),
        crate::session::cache::NearCache::new(10, Duration::from_secs(60)),
    )
}

fn data(expires_in: i64) -> SessionData {
    SessionData {
        access_token: AccessToken::new("lka_old"),
        refresh_token: Some(RefreshToken::new("lkr_old")),
        expires_at: now() + expires_in,
        scope: "read".into(),
        user: serde_json::json!({"sub": "1"}),
        created_at: now(),
        last_seen: now(),
        ends_at: now() + 3600,
        sub: Some("1".into()),
        sid: None,
        id_token: None,
    }
}

/// A session in the store; returns its ticket.
async fn logged_in(store: &Store, data: &SessionData) -> Id {
    let session = Session::new(None, Arc::new(store.clone()), None);
    session::write(&session, data).await.expect("write");
    session.id().expect("saved")
}

fn handle(store: &Store, id: Id) -> Session {
    Session::new(Some(id), Arc::new(store.clone()), None)
}

fn new_tokens(n: usize) -> Tokens {
    Tokens {
        access_token: AccessToken::new(format!("lka_new{n}")),
        refresh_token: Some(RefreshToken::new(format!("lkr_new{n}"))),
        expires_at: now() + 3600,
        scope: None,
        id_token: None,
    }
}

#[tokio::test]
async fn twenty_concurrent_requests_refresh_once() {
    let store = store();
    let metrics = Metrics::default();
    let id = logged_in(&store, &data(0)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let refresher = Refresher {
        store: &store,
        metrics: &metrics,
        skew_seconds: 30,
        provider: |token: RefreshToken| {
            let calls = calls.clone();
            async move {
                assert_eq!(token.expose(), "lkr_old");
                let n = calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(new_tokens(n))
            }
        },
    };
    let metrics = &metrics;
    let requests = (0..20).map(|_| {
        let session = handle(&store, id);
        let refresher = &refresher;
        async move {
            let current = session::current(metrics, &session).await.expect("current");
            refresher.ensure_fresh(&session, current, None).await
        }
    });
    let results = futures_util::future::join_all(requests).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "single flight");
    for result in results {
        assert_eq!(result.expect("fresh").access_token.expose(), "lka_new0");
    }
    let stored = session::reload(&store, &id)
        .await
        .expect("reload")
        .expect("kept");
    assert_eq!(stored.refresh_token.expect("rt").expose(), "lkr_new0");
}

#[tokio::test]
async fn invalid_grant_ends_the_session() {
    let store = store();
    let metrics = Metrics::default();
    let id = logged_in(&store, &data(0)).await;
    let refresher = Refresher {
        store: &store,
        metrics: &metrics,
        skew_seconds: 30,
        provider: |_| async { Err(RefreshError::InvalidGrant) },
    };
    let session = handle(&store, id);
    let current = session::current(&metrics, &session).await.expect("current");
    let result = refresher.ensure_fresh(&session, current, None).await;
    assert!(matches!(result, Err(Error::SessionExpired)), "{result:?}");
    assert!(
        session::reload(&store, &id)
            .await
            .expect("reload")
            .is_none()
    );
}

#[tokio::test]
async fn a_failing_provider_keeps_a_still_valid_token() {
    let store = store();
    let metrics = Metrics::default();
    let id = logged_in(&store, &data(10)).await; // inside the 30 s skew, still valid
    let refresher = Refresher {
        store: &store,
        metrics: &metrics,
        skew_seconds: 30,
        provider: |_| async { Err(RefreshError::Other("down".into())) },
    };
    let session = handle(&store, id);
    let current = session::current(&metrics, &session).await.expect("current");
    let kept = refresher
        .ensure_fresh(&session, current.clone(), None)
        .await;
    assert_eq!(kept.expect("kept").access_token.expose(), "lka_old");
    // Once the upstream refused that token, the same failure is a 503 (retry later; the
    // session stays): the chaos soak saw 502s while the provider's database restarted.
    let refused = refresher
        .ensure_fresh(&session, current, Some(&AccessToken::new("lka_old")))
        .await;
    assert!(
        matches!(refused, Err(Error::ProviderUnavailable(_))),
        "{refused:?}"
    );
    let response = axum::response::IntoResponse::into_response(refused.expect_err("refused"));
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn fresh_tokens_need_no_provider_call() {
    let store = store();
    let metrics = Metrics::default();
    let id = logged_in(&store, &data(3600)).await;
    let calls = AtomicUsize::new(0);
    let refresher = Refresher {
        store: &store,
        metrics: &metrics,
        skew_seconds: 30,
        provider: |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(new_tokens(9)) }
        },
    };
    let session = handle(&store, id);
    let current = session::current(&metrics, &session).await.expect("current");
    let same = refresher
        .ensure_fresh(&session, current, None)
        .await
        .expect("ok");
    assert_eq!(same.access_token.expose(), "lka_old");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
