//! Storage under concurrent writes: every grant lands, and SQLite's WAL is
//! checkpointed (it restarts instead of growing with every commit).

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, eventually};

on_both!(
    concurrent_grants_all_land_and_the_wal_stays_small,
    clients_hanging_up_mid_grant_leave_no_open_transaction,
    the_application_list_names_owners_in_one_lookup
);

const REQUESTS: usize = 1200;

fn client_credentials<'a>(id: &'a str, secret: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ]
}
const CONCURRENCY: usize = 16;

async fn concurrent_grants_all_land_and_the_wal_stays_small(b: Backend) {
    let Some(t) = TestApp::spawn(b, "storage").await else {
        return;
    };
    let (id, secret) = t.service().await;
    let form = client_credentials(&id, &secret);
    let mut tokens = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS / CONCURRENCY {
        let batch = (0..CONCURRENCY).map(|_| t.token(&form));
        for (status, body) in futures_util::future::join_all(batch).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            tokens.push(body["access_token"].as_str().unwrap().to_owned());
        }
    }
    let distinct: HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), REQUESTS);
    // Committed and visible to the readers: the first, a middle and the last one work.
    for token in [&tokens[0], &tokens[REQUESTS / 2], &tokens[REQUESTS - 1]] {
        assert_eq!(t.api("/api/me/", token).await, StatusCode::OK);
    }
    if let Some(path) = t.database_url().strip_prefix("sqlite://") {
        // Without checkpoints the WAL would hold every commit: > 20 MiB here.
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        assert!(wal < 12 << 20, "WAL is {wal} bytes after {REQUESTS} grants");
    }
}

/// Clients that give up mid-request (their futures are dropped inside the grant)
/// must not leave a pooled connection inside an open transaction: later writes on
/// it would never commit (a token issued, then unknown to every other connection).
async fn clients_hanging_up_mid_grant_leave_no_open_transaction(b: Backend) {
    let Some(t) = TestApp::spawn(b, "hangup").await else {
        return;
    };
    let (id, secret) = t.service().await;
    let form = client_credentials(&id, &secret);
    for timeout_us in (200..3200).step_by(100) {
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_micros(timeout_us))
            .build()
            .unwrap();
        let batch =
            (0..CONCURRENCY).map(|_| impatient.post(t.url("/oauth2/token/")).form(&form).send());
        futures_util::future::join_all(batch).await;
    }
    if let Some(url) = t.database_url().strip_prefix("postgres") {
        let pool = sqlx::PgPool::connect(&format!("postgres{url}"))
            .await
            .unwrap();
        let clean = eventually(Duration::from_secs(10), || async {
            let (open,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            open == 0
        })
        .await;
        assert!(clean, "a pooled connection stayed inside a transaction");
    }
    // Every later grant commits: its token works on whichever connection checks it.
    for _ in 0..2 * CONCURRENCY {
        let (status, body) = t.token(&form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(t.api("/api/me/", token).await, StatusCode::OK);
    }
}

/// The admin's application list: each row's owner, from one batched lookup
/// (`management::list_applications`), shared owners and ownerless apps included.
async fn the_application_list_names_owners_in_one_lookup(b: Backend) {
    use latchkey_provider::management;
    use latchkey_provider::model::{AppGrant, ClientType};
    let Some(t) = TestApp::spawn(b, "owners").await else {
        return;
    };
    t.user("olga", "pw").await;
    t.user("piet", "pw").await;
    let id_of = |name: &str| {
        let db = t.server.db.clone();
        let name = name.to_owned();
        async move { db.user_by_username(&name).await.unwrap().unwrap().id }
    };
    let (olga, piet) = (id_of("olga").await, id_of("piet").await);
    for owner in [Some(&olga), Some(&olga), Some(&piet), None] {
        t.app(ClientType::Public, AppGrant::Password, |f| {
            f.name = format!("app of {}", owner.map_or("nobody", |_| "someone"));
            f.user_id = owner.cloned();
        })
        .await;
    }
    let listed = management::list_applications(&t.server.db, "", 25, 0)
        .await
        .unwrap();
    let mut owners: Vec<&str> = listed.iter().map(|l| l.owner.as_str()).collect();
    owners.sort_unstable();
    assert_eq!(owners, ["", "olga", "olga", "piet"]);
    for l in &listed {
        assert_eq!(
            l.app.user_id.is_none(),
            l.owner.is_empty(),
            "{}",
            l.app.name
        );
    }
}
