//! A standard OpenID Connect relying party nobody here wrote — Authlib, from PyPI —
//! against the real provider process: discovery, code + PKCE + nonce, the ID Token
//! verified against the JWKS (Authlib's jose and OpenID claim rules), UserInfo, and
//! RP-initiated logout (`tests/compat/authlib/rp.py`). Needs
//! `LATCHKEY_TEST_AUTHLIB_PYTHON` (a python with Authlib: `.ci/install-authlib`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::harness::{PASSWORD, TempDir, USERNAME, binary, listening_url};
use crate::loud;

const CLIENT_ID: &str = "authlib-rp";
const SECRET: &str = "authlib-rp-secret-0123456789abcdef0123";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const POST_LOGOUT: &str = "http://127.0.0.1:8765/signed-out";

async fn run_rp(python: &Path, extra_serve: &[&str]) -> serde_json::Value {
    let dir = TempDir::new("authlib");
    let db = format!("sqlite://{}/db.sqlite?mode=rwc", dir.0.display());
    let bin = binary("provider");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(&bin)
            .arg("--database-url")
            .arg(&db)
            .args(args)
            .output()
            .expect("run provider cli");
        assert!(
            out.status.success(),
            "provider {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["createuser", "--username", USERNAME, "--password", PASSWORD]);
    cli(&[
        "createapplication",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        SECRET,
        "--redirect-uris",
        REDIRECT,
        "--post-logout-redirect-uris",
        POST_LOGOUT,
        "--skip-authorization",
        "confidential",
        "authorization-code",
    ]);
    let mut child = Command::new(&bin)
        .arg("--database-url")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra_serve)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn provider");
    let issuer = listening_url(&mut child, "provider").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/authlib/rp.py");
    let out = Command::new(python)
        .arg(script)
        .args([
            &issuer,
            CLIENT_ID,
            SECRET,
            REDIRECT,
            POST_LOGOUT,
            USERNAME,
            PASSWORD,
        ])
        .output()
        .await
        .expect("run the Authlib relying party");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Authlib RP failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("the RP's JSON summary")
}

#[tokio::test]
async fn authlib_relying_party_end_to_end() {
    let Some(python) = std::env::var_os("LATCHKEY_TEST_AUTHLIB_PYTHON").map(PathBuf::from) else {
        loud(
            "SKIPPED (Authlib relying party): run .ci/install-authlib and set \
             LATCHKEY_TEST_AUTHLIB_PYTHON to the python it prints",
        );
        return;
    };
    let rs = run_rp(&python, &[]).await;
    assert_eq!(rs["ok"], true, "{rs}");
    assert_eq!(rs["alg"], "RS256");
    let es = run_rp(&python, &["--signing-alg", "ES256"]).await;
    assert_eq!(es["ok"], true, "{es}");
    assert_eq!(es["alg"], "ES256");
}
