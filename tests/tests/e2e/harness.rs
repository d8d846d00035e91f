//! Starting the real things: provider and BFF processes, a counting token-endpoint
//! pass-through, an echoing upstream, a browser-like client.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const REGISTERED_REDIRECT: &str = "http://localhost:3000/auth/callback";
pub const CLIENT_SECRET: &str = "bff-test-client-secret-0123456789abcdef";

/// `$CARGO_TARGET_DIR/debug`, found from this test executable (`…/debug/deps/e2e-…`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .to_path_buf()
}

/// Builds the binaries (provider, bff, latchkey-demo) once per test run (same profile and target dir as the tests).
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = bin_dir();
        let target_dir = dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "latchkey-provider",
                "-p",
                "latchkey-bff",
                "-p",
                "latchkey-demo",
                "--bin",
                "provider",
                "--bin",
                "bff",
                "--bin",
                "latchkey-demo",
            ])
            .env("CARGO_TARGET_DIR", target_dir)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of the binaries failed");
    });
    bin_dir().join(name)
}

/// Reads the one `… listening on http://ADDR` line a server prints once bound.
pub async fn listening_url(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{what} did not report its address in time"))
        .expect("read stdout")
        .unwrap_or_else(|| panic!("{what} exited before listening"));
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = line
        .split("listening on ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected first line from {what}: {line}"));
    url.trim().to_owned()
}

pub struct Provider {
    pub url: String,
    /// Its SQLite database, for `provider <command>` while it runs ([`Provider::manage`]).
    pub db: String,
    _child: Child,
    _dir: TempDir,
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "latchkey-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
pub const CLIENT_ID: &str = "bff-test";

impl Provider {
    /// A provider with one user and one skip-authorization confidential app.
    pub async fn start(access_token_seconds: u64) -> Self {
        Self::start_with(access_token_seconds, 86_400).await
    }

    pub async fn start_with(access_token_seconds: u64, refresh_token_seconds: u64) -> Self {
        Self::start_with_args(access_token_seconds, refresh_token_seconds, &[]).await
    }

    /// [`Provider::start_with`] with more `serve` flags.
    pub async fn start_with_args(
        access_token_seconds: u64,
        refresh_token_seconds: u64,
        serve_args: &[&str],
    ) -> Self {
        Self::start_configured(access_token_seconds, refresh_token_seconds, serve_args, &[]).await
    }

    /// [`Provider::start`] whose BFF app is registered with more `createapplication` flags
    /// (e.g. `--backchannel-logout-uri`).
    pub async fn start_with_app_args(app_args: &[&str]) -> Self {
        Self::start_configured(3600, 86_400, &[], app_args).await
    }

    async fn start_configured(
        access_token_seconds: u64,
        refresh_token_seconds: u64,
        serve_args: &[&str],
        app_args: &[&str],
    ) -> Self {
        let dir = TempDir::new("provider");
        let db = format!("sqlite://{}/db.sqlite?mode=rwc", dir.0.display());
        let bin = binary("provider");
        let run = |args: &[&str]| manage(&db, args);
        run(&["createuser", "--username", USERNAME, "--password", PASSWORD]);
        run(&[
            "createapplication",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--name",
            "BFF test",
            "--redirect-uris",
            REGISTERED_REDIRECT,
            "--skip-authorization",
        ]
        .into_iter()
        .chain(app_args.iter().copied())
        .chain(["confidential", "authorization-code"])
        .collect::<Vec<_>>());
        let mut child = Command::new(&bin)
            .arg("--database-url")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args([
                "--access-token-expire-seconds",
                &access_token_seconds.to_string(),
            ])
            .args([
                "--refresh-token-expire-seconds",
                &refresh_token_seconds.to_string(),
            ])
            .args(serve_args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn provider");
        let url = listening_url(&mut child, "provider").await;
        Self {
            url,
            db,
            _child: child,
            _dir: dir,
        }
    }

    /// Runs `provider <args>` on this provider's database; returns its stdout.
    pub fn manage(&self, args: &[&str]) -> String {
        manage(&self.db, args)
    }
}

/// `provider --database-url <db> <args>`, which must succeed; its stdout.
fn manage(db: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(binary("provider"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .output()
        .expect("run provider cli");
    assert!(
        out.status.success(),
        "provider {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[derive(Clone, Default)]
pub struct BffOptions {
    pub redis_url: Option<String>,
    pub token_url: Option<String>,
    pub upstream: Option<String>,
    pub skew: u64,
    pub redis_timeout_ms: Option<u64>,
    /// `--listen` (default `127.0.0.1:0`): a provider that must know the BFF's URL first.
    pub listen: Option<String>,
    pub extra_args: Vec<String>,
}

pub struct Bff {
    pub url: String,
    pub pid: u32,
    _child: Child,
}

impl Bff {
    pub async fn start(provider: &Provider, options: BffOptions) -> Self {
        Self::start_for_issuer(&provider.url, options).await
    }

    /// A BFF for any provider at `issuer` (same client id, secret and redirect URI).
    pub async fn start_for_issuer(issuer: &str, options: BffOptions) -> Self {
        let mut command = Command::new(binary("bff"));
        command
            .env_remove("REDIS_URL")
            .arg("--listen")
            .arg(options.listen.as_deref().unwrap_or("127.0.0.1:0"))
            .args(["--issuer", issuer])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args([
                "--redirect-uri",
                REGISTERED_REDIRECT,
                "--cookie-secure",
                "false",
            ])
            .args(["--refresh-skew-seconds", &options.skew.to_string()]);
        if let Some(url) = &options.redis_url {
            command.args(["--redis-url", url]);
        }
        if let Some(url) = &options.token_url {
            command.args(["--token-url", url]);
        }
        if let Some(url) = &options.upstream {
            command.args(["--upstream", url]);
        }
        if let Some(ms) = options.redis_timeout_ms {
            command.args(["--redis-timeout-ms", &ms.to_string()]);
        }
        command.args(&options.extra_args);
        let mut child = command
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn bff");
        let url = listening_url(&mut child, "bff").await;
        let pid = child.id().expect("bff pid");
        Self {
            url,
            pid,
            _child: child,
        }
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Resident memory of the BFF process, in kB (`VmRSS` of /proc/<pid>/status).
    pub fn rss_kb(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

/// A port free right now on 127.0.0.1 (for a process that must be told its port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Serves `router` on 127.0.0.1:0; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A pass-through in front of the provider's token endpoint that counts refresh grants.
pub struct TokenCounter {
    pub url: String,
    pub refreshes: Arc<AtomicUsize>,
}

impl TokenCounter {
    pub async fn start(provider: &Provider) -> Self {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let target = format!("{}/oauth2/token/", provider.url);
        let state = (refreshes.clone(), target, reqwest::Client::new());
        let router = Router::new()
            .route("/token", post(count_and_forward))
            .with_state(Arc::new(state));
        let url = format!("{}/token", serve(router).await);
        Self { url, refreshes }
    }

    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

async fn count_and_forward(
    State(state): State<Arc<(Arc<AtomicUsize>, String, reqwest::Client)>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .expect("token body");
    if String::from_utf8_lossy(&body).contains("grant_type=refresh_token") {
        state.0.fetch_add(1, Ordering::SeqCst);
    }
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let upstream = state
        .2
        .post(&state.1)
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("forward to provider");
    let status = upstream.status();
    let content_type = upstream.headers().get("content-type").cloned();
    let bytes = upstream.bytes().await.expect("provider body");
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

/// What the echo upstream saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Echo {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

type EchoState = Arc<Mutex<Vec<Seen>>>;

impl Echo {
    pub async fn start() -> Self {
        let seen: EchoState = Arc::default();
        let router = Router::new()
            .route("/upload", post(upload))
            .route("/download/{bytes}", get(download))
            .route("/deny/{*rest}", any(deny))
            .route("/{*rest}", any(echo))
            .with_state(seen.clone());
        let url = serve(router).await;
        Self { url, seen }
    }

    pub fn last(&self) -> Seen {
        self.seen
            .lock()
            .expect("seen")
            .last()
            .cloned()
            .expect("a request reached the upstream")
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("seen").len()
    }
}

fn record(seen: &EchoState, request: &Request) -> Seen {
    let entry = Seen {
        method: request.method().to_string(),
        uri: request.uri().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
            .collect(),
    };
    seen.lock().expect("seen").push(entry.clone());
    entry
}

async fn echo(State(seen): State<EchoState>, request: Request) -> Response {
    let entry = record(&seen, &request);
    let headers: serde_json::Map<String, serde_json::Value> = entry
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let mut response = axum::Json(serde_json::json!({
        "method": entry.method, "uri": entry.uri, "headers": headers,
    }))
    .into_response();
    // What an upstream might send that would change the browser's view of the BFF's origin.
    for (name, value) in [
        ("set-cookie", "upstream=1; Path=/"),
        ("access-control-allow-origin", "*"),
        ("access-control-allow-credentials", "true"),
        ("clear-site-data", "\"cookies\""),
    ] {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header"));
    }
    response
}

/// Always 401, like an API refusing the bearer (RFC 6750 §3.1).
async fn deny(State(seen): State<EchoState>, request: Request) -> Response {
    record(&seen, &request);
    (
        axum::http::StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Bearer error=\"invalid_token\"")],
    )
        .into_response()
}

/// Counts a streamed upload without keeping it.
async fn upload(State(seen): State<EchoState>, request: Request) -> String {
    record(&seen, &request);
    let mut stream = request.into_body().into_data_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        total += chunk.expect("upload chunk").len();
    }
    total.to_string()
}

/// Streams `bytes` bytes in 64 KiB chunks.
async fn download(axum::extract::Path(bytes): axum::extract::Path<usize>) -> Body {
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::iter((0..bytes.div_ceil(chunk.len())).map(move |i| {
        let len = chunk.len().min(bytes - i * chunk.len());
        Ok::<_, std::io::Error>(chunk.slice(..len))
    }));
    Body::from_stream(stream)
}
