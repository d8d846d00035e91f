//! `docker-compose.yml` without a Docker engine: validated against the compose-spec JSON
//! schema bundled with check-jsonschema (`.ci/install-browser` installs it), also with
//! `docker compose config -q` when the compose plugin exists, and every build context,
//! Dockerfile and `COPY` source it needs exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::TempDir;
use crate::loud;

const VENV_TOOL: &str = "/opt/latchkey-ci/venv/bin/check-jsonschema";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn required() -> bool {
    std::env::var("LATCHKEY_REQUIRE_BROWSER").as_deref() == Ok("1")
        || std::env::var_os("CI").is_some()
}

fn validator() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("check-jsonschema"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from(VENV_TOOL)).filter(|p| p.is_file()))
}

fn schema_check(tool: &Path, file: &Path) -> std::process::Output {
    Command::new(tool)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(file)
        .output()
        .expect("run check-jsonschema")
}

#[test]
fn compose_file_matches_the_compose_spec() {
    let Some(tool) = validator() else {
        assert!(
            !required(),
            "check-jsonschema missing: run .ci/install-browser"
        );
        loud("SKIPPED (compose): pip install check-jsonschema, or run .ci/install-browser");
        return;
    };
    let file = root().join("docker-compose.yml");
    let out = schema_check(&tool, &file);
    assert!(
        out.status.success(),
        "docker-compose.yml is not valid compose-spec: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The check is real: a broken file is refused.
    let dir = TempDir::new("compose");
    let broken = dir.0.join("docker-compose.yml");
    std::fs::write(
        &broken,
        "services:\n  bff:\n    ports: 3000\n    bogus: 1\n",
    )
    .unwrap();
    assert!(!schema_check(&tool, &broken).status.success());
}

#[test]
fn compose_with_docker_when_the_plugin_exists() {
    let plugin = Command::new("docker").args(["compose", "version"]).output();
    if !plugin.is_ok_and(|o| o.status.success()) {
        loud("SKIPPED (compose): no `docker compose` plugin; the schema check ran instead");
        return;
    }
    let status = Command::new("docker")
        .args(["compose", "-f", "docker-compose.yml", "config", "-q"])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "docker compose config -q");
}

#[test]
fn compose_build_contexts_and_copied_files_exist() {
    let root = root();
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    let value = |key: &str| -> Vec<String> {
        compose
            .lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .collect()
    };
    let contexts = value("context:");
    let dockerfiles = value("dockerfile:");
    assert!(!contexts.is_empty() && contexts.len() == dockerfiles.len());
    for (context, dockerfile) in contexts.iter().zip(&dockerfiles) {
        let context = root.join(context);
        assert!(context.is_dir(), "build context {}", context.display());
        let dockerfile = context.join(dockerfile);
        let text = std::fs::read_to_string(&dockerfile).unwrap();
        for line in text.lines().filter(|l| l.starts_with("COPY ")) {
            if line.contains("--from=") {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            for source in &words[..words.len() - 1] {
                assert!(context.join(source).exists(), "COPY source {source}");
            }
        }
        for bin in ["provider", "bff", "latchkey-demo"] {
            assert!(
                text.contains(&format!("--bin {bin}")),
                "Dockerfile builds {bin}"
            );
        }
    }
    for path in value("BFF_STATIC_DIR:") {
        let local = path.trim_start_matches("/app/");
        assert!(root.join(local).join("index.html").is_file(), "{path}");
    }
    assert!(
        compose.matches("/healthz").count() >= 2,
        "provider and bff healthchecks"
    );
}
