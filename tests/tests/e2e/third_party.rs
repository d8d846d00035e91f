//! The BFF against a provider it was not written with: the real django-oauth-toolkit
//! (`tests/compat/dot`), OpenID Connect on, PKCE required, refresh-token rotation with
//! reuse protection, RFC 9700 gates on (RFC 9207 `iss` in the authorization response).
//! Needs `LATCHKEY_TEST_DOT_PYTHON` (a python with Django and DOT: `.ci/install-dot`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use reqwest::header::LOCATION;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::browser::{self, GOOD_ORIGIN};
use crate::harness::{
    Bff, BffOptions, CLIENT_ID, CLIENT_SECRET, Echo, PASSWORD, REGISTERED_REDIRECT, TempDir,
    USERNAME, serve,
};
use crate::{eventually, loud};

const ACCESS_TOKEN_SECONDS: &str = "60";
/// Test-only JWKS whose keys did not sign DOT's ID Tokens.
const FOREIGN_JWKS: &str = include_str!("../../../bff/tests/fixtures/id_token_test_jwks.json");

struct Dot {
    /// The issuer: `http://127.0.0.1:PORT/o`.
    issuer: String,
    origin: String,
    python: PathBuf,
    state: TempDir,
    _child: Child,
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/dot")
}

impl Dot {
    async fn start(python: PathBuf) -> Self {
        let state = TempDir::new("dot");
        let out = std::process::Command::new(&python)
            .current_dir(project())
            .env("LATCHKEY_DOT_STATE", &state.0)
            .args(["manage.py", "latchkey_setup", "--username", USERNAME])
            .args(["--password", PASSWORD, "--client-id", CLIENT_ID])
            .args(["--client-secret", CLIENT_SECRET])
            .args(["--redirect-uri", REGISTERED_REDIRECT])
            .output()
            .expect("run manage.py latchkey_setup");
        assert!(
            out.status.success(),
            "latchkey_setup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // runserver takes a port, not a listener: pick a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(state.0.join("server.log")).expect("log file");
        let child = Command::new(&python)
            .current_dir(project())
            .env("LATCHKEY_DOT_STATE", &state.0)
            .env("LATCHKEY_DOT_ACCESS_SECONDS", ACCESS_TOKEN_SECONDS)
            .args(["manage.py", "runserver", &format!("127.0.0.1:{port}")])
            .args(["--noreload", "--nothreading"])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn DOT");
        let origin = format!("http://127.0.0.1:{port}");
        let discovery = format!("{origin}/o/.well-known/openid-configuration");
        let http = reqwest::Client::new();
        eventually(Duration::from_secs(60), "DOT to answer", || async {
            let response = http.get(&discovery).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        Self {
            issuer: format!("{origin}/o"),
            origin,
            python,
            state,
            _child: child,
        }
    }

    /// `{"refresh_tokens", "refresh_revoked", "access_tokens"}` of the test user, from DOT's DB.
    fn tokens(&self) -> Value {
        let out = std::process::Command::new(&self.python)
            .current_dir(project())
            .env("LATCHKEY_DOT_STATE", &self.state.0)
            .args(["manage.py", "latchkey_tokens", "--username", USERNAME])
            .output()
            .expect("run manage.py latchkey_tokens");
        assert!(out.status.success(), "latchkey_tokens failed");
        serde_json::from_slice(&out.stdout).expect("token stats JSON")
    }
}

async fn bff(dot: &Dot, echo: &Echo, extra: &[String]) -> Bff {
    let mut extra_args: Vec<String> = [
        "--client-auth",
        "basic",
        "--scope",
        "openid read",
        "--route",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    extra_args.push(format!("dot={}/api", dot.origin));
    extra_args.extend_from_slice(extra);
    let options = BffOptions {
        upstream: Some(echo.url.clone()),
        // Longer than the access-token lifetime: every proxied call refreshes first.
        skew: 3600,
        extra_args,
        ..BffOptions::default()
    };
    Bff::start_for_issuer(&dot.issuer, options).await
}

async fn logged_in(bff: &Bff) -> reqwest::Client {
    let client = browser::client();
    let response = browser::login(&client, bff, "/app").await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()[LOCATION], "/app", "login through DOT");
    client
}

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn django_oauth_toolkit_end_to_end() {
    let Some(python) = std::env::var_os("LATCHKEY_TEST_DOT_PYTHON").map(PathBuf::from) else {
        loud(
            "SKIPPED (third-party provider): run .ci/install-dot and set \
             LATCHKEY_TEST_DOT_PYTHON to the python it prints",
        );
        return;
    };
    let dot = Dot::start(python).await;
    let echo = Echo::start().await;
    let bff_main = bff(&dot, &echo, &[]).await;

    // Discovery (issuer with a path), PKCE S256, client_secret_basic, nonce, ID Token.
    let client = logged_in(&bff_main).await;
    let (status, session) = get_json(&client, format!("{}/auth/session", bff_main.url)).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["preferred_username"], USERNAME, "{session}");
    assert_eq!(session["user"]["source"], "userinfo", "{session}");
    let scope = session["scope"].as_str().expect("scope");
    assert!(
        scope.contains("openid") && scope.contains("read"),
        "{scope}"
    );

    // Proxied calls carry the bearer; each one refreshes first (skew > lifetime).
    let (status, _) = get_json(&client, format!("{}/api/echo/x", bff_main.url)).await;
    assert_eq!(status, 200);
    let bearer = echo.last().header("authorization").map(str::to_owned);
    assert!(bearer.is_some_and(|b| b.starts_with("Bearer ")));
    for _ in 0..2 {
        let (status, me) = get_json(&client, format!("{}/api/dot/me", bff_main.url)).await;
        assert_eq!(status, 200, "DOT accepts the bearer: {me}");
        assert_eq!(me["username"], USERNAME);
    }
    // Concurrent calls: single-flight, so no rotated refresh token is ever replayed —
    // DOT's reuse protection would revoke the family and end the session.
    let calls = (0..4).map(|_| get_json(&client, format!("{}/api/dot/me", bff_main.url)));
    for (status, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }
    let stats = dot.tokens();
    let issued = stats["refresh_tokens"].as_i64().expect("count");
    assert!(
        issued >= 5,
        "login + one refresh per sequential call: {stats}"
    );
    assert_eq!(
        stats["refresh_revoked"].as_i64(),
        Some(issued - 1),
        "rotation: every refresh token but the newest is revoked: {stats}"
    );
    let (status, session) = get_json(&client, format!("{}/auth/session", bff_main.url)).await;
    assert_eq!(status, 200, "still logged in after rotations: {session}");

    // Logout revokes at DOT (RFC 7009, discovered revocation_endpoint).
    let response = client
        .post(format!("{}/auth/logout", bff_main.url))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 204);
    let (status, _) = get_json(&client, format!("{}/auth/session", bff_main.url)).await;
    assert_eq!(status, 401);
    let stats = dot.tokens();
    assert_eq!(
        stats["refresh_revoked"], stats["refresh_tokens"],
        "refresh token revoked: {stats}"
    );
    assert_eq!(stats["access_tokens"], 0, "access tokens gone: {stats}");

    // Userinfo refuses the token → the validated ID Token's claims are the user.
    let refusing = vec![
        "--userinfo-url".to_owned(),
        format!("{}/deny/userinfo", echo.url),
    ];
    let bff_fallback = bff(&dot, &echo, &refusing).await;
    let client = logged_in(&bff_fallback).await;
    let (status, session) = get_json(&client, format!("{}/auth/session", bff_fallback.url)).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["preferred_username"], USERNAME, "{session}");
    assert!(session["user"]["sub"].is_string(), "{session}");
    assert!(
        session["user"].get("source").is_none(),
        "from the ID Token: {session}"
    );

    // ID Token signed by a key that is not in the (here: foreign) JWKS → login refused.
    let jwks = serve(Router::new().route(
        "/jwks",
        get(|| async { ([("content-type", "application/json")], FOREIGN_JWKS) }),
    ))
    .await;
    let foreign = vec!["--jwks-url".to_owned(), format!("{jwks}/jwks")];
    let bff_foreign = bff(&dot, &echo, &foreign).await;
    let client = browser::client();
    let response = browser::login(&client, &bff_foreign, "/app").await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[LOCATION],
        "/?login_error=invalid_id_token"
    );
    let (status, _) = get_json(&client, format!("{}/auth/session", bff_foreign.url)).await;
    assert_eq!(status, 401);
}
