//! Brute-force protection under parallel load: attempts are reserved before any
//! hashing, and the hashing queue is bounded per client IP.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, eventually};

on_both!(
    parallel_guesses_are_counted_before_hashing,
    a_flood_from_one_ip_does_not_delay_another
);

/// These tests measure hashing under load, and every test in this binary shares the
/// process's hashing slots: they take turns with each other (not with the rest).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn password_grant(
    c: &reqwest::Client,
    t: &TestApp,
    cli: &str,
    user: &str,
    pw: &str,
) -> StatusCode {
    c.post(t.url("/oauth2/token/"))
        .form(&[
            ("client_id", cli),
            ("username", user),
            ("password", pw),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn parallel_guesses_are_counted_before_hashing(b: Backend) {
    let _turn = ONE_AT_A_TIME.lock().await;
    // A queue large enough that only the throttle limits the burst.
    let Some(t) = TestApp::spawn_with(b, "parallel_guesses", |s| {
        s.max_queued_logins = Some(1000);
        s.max_queued_logins_per_ip = Some(1000);
    })
    .await
    else {
        return;
    };
    t.user("admin", "admin").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    let mut burst: FuturesUnordered<_> = (0..40)
        .map(|_| password_grant(&t.http, &t, &cli, "admin", "wrong"))
        .collect();
    let (mut verified, mut refused, mut right) = (0, 0, None);
    while let Some(s) = burst.next().await {
        match s {
            StatusCode::BAD_REQUEST => verified += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                // The limit was hit: the right password, sent while the burst is still
                // in flight, must not get a token.
                if right.is_none() {
                    right = Some(password_grant(&t.http, &t, &cli, "admin", "admin").await);
                }
            }
            other => panic!("unexpected {other}"),
        }
    }
    eprintln!("40 parallel wrong passwords: {verified} verified, {refused} refused (limit 10)");
    assert!(
        verified <= 10,
        "{verified} guesses were verified (limit 10)"
    );
    assert_eq!(verified + refused, 40);
    assert_eq!(right, Some(StatusCode::TOO_MANY_REQUESTS));
}

async fn a_flood_from_one_ip_does_not_delay_another(b: Backend) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(t) = TestApp::spawn(b, "flood").await else {
        return;
    };
    t.user("admin", "admin").await;
    let (cli, _) = t.app(ClientType::Public, AppGrant::Password, |_| {}).await;
    // 300 wrong passwords for 300 usernames from 127.0.0.1 …
    let flood = (0..300)
        .map(|i| {
            let (c, url, cli) = (t.http.clone(), t.url("/oauth2/token/"), cli.clone());
            tokio::spawn(async move {
                let form = [
                    ("client_id", cli),
                    ("username", format!("u{i}")),
                    ("password", "wrong".to_owned()),
                    ("grant_type", "password".to_owned()),
                ];
                c.post(url).form(&form).send().await.unwrap().status()
            })
        })
        .collect::<FuturesUnordered<_>>();
    // … under way (its hashes are queued) …
    assert!(
        eventually(Duration::from_secs(10), || async {
            t.server.logins.depth() > 0
        })
        .await
    );
    // … while a login from 127.0.0.2 goes through at once.
    let other = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let started = Instant::now();
    let status = password_grant(&other, &t, &cli, "admin", "admin").await;
    let took = started.elapsed();
    let statuses: Vec<StatusCode> = flood.map(Result::unwrap).collect().await;
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    eprintln!(
        "legitimate login during a 300-request flood: {} ms ({refused} of the flood refused at once)",
        took.as_millis()
    );
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(refused > 0);
}
