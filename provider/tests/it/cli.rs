//! The `provider` binary: createuser, createapplication, serve, cleartokens.

use std::process::Command;

use crate::support::{Backend, ScratchDb};

pub fn provider(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(args)
        .env("PROVIDER_DATABASE_URL", db)
        .env("PROVIDER_LOG", "warn")
        .output()
        .expect("run provider")
}

/// [`provider`] with `stdin` written to its standard input.
pub fn provider_with_stdin(db: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(args)
        .env("PROVIDER_DATABASE_URL", db)
        .env("PROVIDER_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run provider");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("provider exits")
}

#[tokio::test]
async fn management_commands() {
    let db = ScratchDb::new(Backend::Sqlite, "cli").await.unwrap();
    let out = provider(
        &db.url,
        &[
            "createuser",
            "--username",
            "admin",
            "--password",
            "admin",
            "--staff",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    // Duplicate user: a clear error, non-zero exit.
    let out = provider(
        &db.url,
        &["createuser", "--username", "admin", "--password", "x"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{out:?}"
    );
    // Global flags may follow the subcommand.
    let out = provider(
        "sqlite:///nonexistent-dir-should-not-be-used",
        &[
            "createapplication",
            "--database-url",
            &db.url,
            "--client-id",
            "test",
            "public",
            "password",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let out = provider(
        &db.url,
        &[
            "createapplication",
            "--redirect-uris",
            "http://localhost:3000/login/",
            "--user",
            "admin",
            "confidential",
            "authorization-code",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("client_id: ") && stdout.contains("client_secret: lks_"),
        "{stdout}"
    );
    // Short secrets and bad redirect URIs are refused.
    let out = provider(
        &db.url,
        &[
            "createapplication",
            "--client-secret",
            "short",
            "--redirect-uris",
            "https://a.example/cb",
            "confidential",
            "authorization-code",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least 32"),
        "{out:?}"
    );
    let out = provider(
        &db.url,
        &[
            "createapplication",
            "--redirect-uris",
            "http://evil.example/cb",
            "confidential",
            "authorization-code",
        ],
    );
    assert!(!out.status.success());
    // The device grant, stored as django-oauth-toolkit stores it.
    let out = provider(
        &db.url,
        &[
            "createapplication",
            "--client-id",
            "tv",
            "public",
            "device-code",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stored: String = {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        let (g,): (String,) =
            sqlx::query_as("SELECT grant_type FROM applications WHERE client_id = 'tv'")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        g
    };
    assert_eq!(stored, "urn:ietf:params:oauth:grant-type:device_code");
    let out = provider(&db.url, &["cleartokens"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Deleted 0"),
        "{out:?}"
    );
}
