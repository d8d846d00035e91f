//! The soak's processes, each on a fixed free 127.0.0.1 port so it can be killed and
//! started again where its clients expect it: a persistent Redis, a private PostgreSQL
//! cluster (initdb in a temp dir), provider and BFF processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::eventually;
use crate::harness::{CLIENT_ID, CLIENT_SECRET, REGISTERED_REDIRECT, binary};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";
pub const PSQL: &str = "/usr/bin/psql";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `/usr/lib/postgresql/<newest>/bin`, if PostgreSQL's server binaries are installed.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// A program with fixed arguments, (re)started on demand.
pub struct Service {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    /// PostgreSQL refuses to run as root: run it as `postgres` then.
    as_postgres: bool,
    ready: Ready,
    child: Option<Child>,
}

#[derive(Clone)]
enum Ready {
    RedisPing(u16),
    Postgres(u16),
    Healthz(String),
}

impl Service {
    pub async fn start(&mut self) {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&self.program);
            c
        } else {
            Command::new(&self.program)
        };
        command
            .args(&self.args)
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        self.child = Some(command.spawn().expect("spawn service"));
        let ready = self.ready.clone();
        let what = format!("{} to be ready", self.name);
        eventually(Duration::from_secs(60), &what, || is_ready(ready.clone())).await;
    }

    /// `kill -9`, then start again; returns how long it was away.
    pub async fn crash_and_restart(&mut self) -> Duration {
        let started = Instant::now();
        if let Some(mut child) = self.child.take() {
            self.signal(&child, "-KILL");
            let _ = child.wait().await;
        }
        self.start().await;
        started.elapsed()
    }

    /// A clean restart: `signal` (TERM for Redis, INT = fast shutdown for PostgreSQL),
    /// wait for the exit, start again.
    pub async fn restart(&mut self, signal: &str) -> Duration {
        let started = Instant::now();
        if let Some(mut child) = self.child.take() {
            self.signal(&child, signal);
            let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        }
        self.start().await;
        started.elapsed()
    }

    fn signal(&self, child: &Child, signal: &str) {
        // runuser forwards TERM/INT to PostgreSQL; KILL would leave it orphaned, so
        // signal the real process (runuser's only child) for those.
        let Some(pid) = child.id() else { return };
        let target = if self.as_postgres {
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .ok()
                .and_then(|c| c.split_whitespace().next().map(str::to_owned))
                .unwrap_or_else(|| pid.to_string())
        } else {
            pid.to_string()
        };
        let _ = std::process::Command::new("kill")
            .args([signal, &target])
            .status();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            self.signal(&child, "-KILL");
        }
    }
}

async fn is_ready(ready: Ready) -> Option<()> {
    match ready {
        Ready::RedisPing(port) => {
            let out = Command::new(REDIS_CLI)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
                .output()
                .await
                .ok()?;
            (String::from_utf8_lossy(&out.stdout).trim() == "PONG").then_some(())
        }
        Ready::Postgres(port) => psql(port, "postgres", "SELECT 1")
            .await
            .filter(|o| o == "1")
            .map(|_| ()),
        Ready::Healthz(url) => {
            let response = reqwest::get(format!("{url}/healthz")).await.ok()?;
            response.status().is_success().then_some(())
        }
    }
}

/// One query through `psql`; its unaligned, tuples-only output.
pub async fn psql(port: u16, db: &str, sql: &str) -> Option<String> {
    let out = Command::new(PSQL)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", db, "-tA", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub async fn redis(dir: &Path, port: u16) -> Service {
    let mut service = Service {
        name: "redis".into(),
        program: REDIS_SERVER.into(),
        args: vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "yes".into(),
            "--appendfsync".into(),
            "always".into(),
            "--dir".into(),
            dir.display().to_string(),
        ],
        as_postgres: false,
        ready: Ready::RedisPing(port),
        child: None,
    };
    service.start().await;
    service
}

/// A private PostgreSQL cluster: `initdb` into `dir/data`, database `soak`.
pub async fn postgres(bin: &Path, dir: &Path, port: u16) -> Service {
    let as_postgres = is_root();
    if as_postgres {
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown the PostgreSQL dir");
    }
    let data = dir.join("data");
    let mut initdb = if as_postgres {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join("initdb"));
        c
    } else {
        std::process::Command::new(bin.join("initdb"))
    };
    let out = initdb
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .output()
        .expect("initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut service = Service {
        name: "postgres".into(),
        program: bin.join("postgres"),
        args: vec![
            "-D".into(),
            data.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-k".into(),
            dir.display().to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "fsync=off".into(),
            "-c".into(),
            "max_connections=200".into(),
        ],
        as_postgres,
        ready: Ready::Postgres(port),
        child: None,
    };
    service.start().await;
    psql(port, "postgres", "CREATE DATABASE soak")
        .await
        .expect("create database soak");
    service
}

pub fn database_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/soak")
}

/// `provider --database-url … <args>` once (set-up commands).
pub async fn provider_cli(database_url: &str, args: &[&str]) {
    let out = Command::new(binary("provider"))
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .output()
        .await
        .expect("provider cli");
    assert!(
        out.status.success(),
        "provider {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub async fn provider(
    name: &str,
    database_url: &str,
    port: u16,
    issuer: &str,
    access_seconds: u64,
) -> Service {
    let mut service = Service {
        name: name.into(),
        program: binary("provider"),
        args: [
            "--database-url",
            database_url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--issuer",
            issuer,
            "--access-token-expire-seconds",
            &access_seconds.to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        as_postgres: false,
        ready: Ready::Healthz(format!("http://127.0.0.1:{port}")),
        child: None,
    };
    service.start().await;
    service
}

pub async fn bff(name: &str, port: u16, issuer: &str, redis_port: u16) -> Service {
    let mut service = Service {
        name: name.into(),
        program: binary("bff"),
        args: [
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--issuer",
            issuer,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            REGISTERED_REDIRECT,
            "--cookie-secure",
            "false",
            "--refresh-skew-seconds",
            "1",
            "--redis-url",
            &format!("redis://127.0.0.1:{redis_port}/0"),
            "--redis-timeout-ms",
            "500",
            "--upstream",
            &format!("{issuer}/api"),
            "--login-rate-per-minute",
            "0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        as_postgres: false,
        ready: Ready::Healthz(format!("http://127.0.0.1:{port}")),
        child: None,
    };
    service.start().await;
    service
}
