//! Several `provider serve` processes on one PostgreSQL act as one server.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cli::provider;
use crate::support::{Backend, REDIRECT, ScratchDb, browser, csrf_from, location, param};

/// Starts `provider serve` on a random port; returns the child and its base URL.
pub async fn serve(db: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("PROVIDER_DATABASE_URL", db)
        .env("PROVIDER_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start provider");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("provider printed its address in time")
        .expect("read stdout")
        .expect("a line");
    let base = line
        .strip_prefix("provider listening on ")
        .expect("the listening line")
        .to_owned();
    (child, base)
}

#[tokio::test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "SKIPPED: LATCHKEY_TEST_POSTGRES_URL was unset when the tests were built"
)]
async fn two_processes_share_logins_codes_and_throttling() {
    let Some(db) = ScratchDb::new(Backend::Postgres, "two_processes").await else {
        return;
    };
    assert!(
        provider(
            &db.url,
            &["createuser", "--username", "admin", "--password", "admin"]
        )
        .status
        .success()
    );
    assert!(
        provider(
            &db.url,
            &[
                "createapplication",
                "--client-id",
                "test",
                "public",
                "password"
            ]
        )
        .status
        .success()
    );
    let out = provider(
        &db.url,
        &[
            "createapplication",
            "--client-id",
            "web",
            "--client-secret",
            "a-long-enough-secret-of-32-chars!",
            "--redirect-uris",
            REDIRECT,
            "--skip-authorization",
            "confidential",
            "authorization-code",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let throttle = ["--throttle-max-failures-per-user", "4"];
    let (_a, a) = serve(&db.url, &throttle).await;
    let (_b, b) = serve(&db.url, &throttle).await;

    // Log in on A; the session cookie works on B (same host, cookies ignore ports).
    let http = browser(&a);
    let html = http
        .get(format!("{a}/accounts/login/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = http
        .post(format!("{a}/accounts/login/"))
        .form(&[
            ("username", "admin"),
            ("password", "admin"),
            ("next", "/"),
            ("csrfmiddlewaretoken", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let r = http
        .get(format!(
            "{b}/oauth2/authorize/?response_type=code&client_id=web&redirect_uri={redirect}"
        ))
        .send()
        .await
        .unwrap();
    let code = param(&location(&r), "code").expect("B issued a code for A's login");

    // The code issued by B is redeemed at A, once.
    let form = [
        ("client_id", "web"),
        ("client_secret", "a-long-enough-secret-of-32-chars!"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("grant_type", "authorization_code"),
    ];
    let r = http
        .post(format!("{a}/oauth2/token/"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(format!("{b}/oauth2/token/"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Failures on A and B add up to one limit.
    for base in [&a, &b, &a, &b] {
        let r = http
            .post(format!("{base}/oauth2/token/"))
            .form(&[
                ("client_id", "test"),
                ("username", "admin"),
                ("password", "bad"),
                ("grant_type", "password"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    for base in [&a, &b] {
        let r = http
            .post(format!("{base}/oauth2/token/"))
            .form(&[
                ("client_id", "test"),
                ("username", "admin"),
                ("password", "admin"),
                ("grant_type", "password"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
