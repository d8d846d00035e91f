//! The test harness: a real provider on 127.0.0.1:<random port>, over SQLite
//! (a temp file) or PostgreSQL (a fresh database per test, from
//! `LATCHKEY_TEST_POSTGRES_URL`), driven over HTTP by a cookie-jar client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use latchkey_provider::AuthServer;
use latchkey_provider::config::SettingsArgs;
use latchkey_provider::management;
use latchkey_provider::model::{AppGrant, ClientType};
use latchkey_provider::storage::{AppFields, Db};
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PG_ENV: &str = "LATCHKEY_TEST_POSTGRES_URL";

#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    settings: SettingsArgs,
}

pub fn default_settings() -> SettingsArgs {
    Defaults::parse_from(["provider"]).settings
}

/// A scratch database: a SQLite file in a temp dir, or a new PostgreSQL database.
pub struct ScratchDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg { admin_url: String, name: String },
}

impl ScratchDb {
    /// `None` (after a loud message) when PostgreSQL was asked for but not configured.
    pub async fn new(backend: Backend, test: &str) -> Option<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("latchkey-test-{id}"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/provider.sqlite3", dir.display());
                Some(Self {
                    url,
                    cleanup: Cleanup::Dir(dir),
                })
            }
            Backend::Postgres => {
                // Built with the variable set (else the PostgreSQL tests are `#[ignore]`d,
                // see build.rs), run without it: fail rather than pass silently.
                let Ok(admin_url) = std::env::var(PG_ENV) else {
                    panic!(
                        "{test} [postgres]: {PG_ENV} is unset now but was set when the tests were built; set it (postgres://postgres@127.0.0.1:5432/test) or rebuild without it"
                    );
                };
                let name = format!("lk_test_{id}");
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .expect("connect to the PostgreSQL admin URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create a scratch database");
                admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                Some(Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::Pg { admin_url, name },
                })
            }
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Pg { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: do the async clean-up on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub server: Arc<AuthServer>,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _scratch: ScratchDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend, test: &str) -> Option<Self> {
        Self::spawn_with(backend, test, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        test: &str,
        tweak: impl FnOnce(&mut SettingsArgs),
    ) -> Option<Self> {
        let scratch = ScratchDb::new(backend, test).await?;
        let db = Db::connect(&scratch.url)
            .await
            .expect("connect and migrate");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let mut args = default_settings();
        tweak(&mut args);
        let settings = args.resolve(base.clone(), addr).expect("settings");
        let server = Arc::new(AuthServer::start(db, settings).await.expect("server keys"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(latchkey_provider::http::serve(
            listener,
            server.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Some(Self {
            server,
            http: browser(&base),
            base,
            stop: Some(stop),
            _scratch: scratch,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The scratch database's URL (`sqlite://…/provider.sqlite3` or `postgres://…`).
    pub fn database_url(&self) -> &str {
        &self._scratch.url
    }

    pub async fn user(&self, username: &str, password: &str) {
        management::create_user(
            &self.server.db,
            username,
            &latchkey_provider::password::Password::new(password),
            "",
            false,
            &["devs".to_owned()],
        )
        .await
        .expect("create user");
    }

    /// Registers an app; returns (client_id, secret).
    pub async fn app(
        &self,
        kind: ClientType,
        grant: AppGrant,
        tweak: impl FnOnce(&mut AppFields),
    ) -> (String, Option<String>) {
        let mut f = AppFields {
            client_id: management::generate_client_id(),
            client_type: kind,
            grant,
            name: "Test app".into(),
            redirect_uris: if grant == AppGrant::AuthorizationCode {
                vec![REDIRECT.to_owned()]
            } else {
                vec![]
            },
            skip_authorization: false,
            require_pkce: false,
            allowed_scopes: None,
            user_id: None,
            is_resource_server: false,
        };
        tweak(&mut f);
        let (app, secret) = management::create_application(&self.server.db, f, None)
            .await
            .expect("create app");
        (app.client_id, secret.map(|s| s.expose().to_owned()))
    }

    /// Registers a confidential `client_credentials` app; returns (client_id, secret).
    pub async fn service(&self) -> (String, String) {
        let (id, secret) = self
            .app(
                ClientType::Confidential,
                AppGrant::ClientCredentials,
                |_| {},
            )
            .await;
        (id, secret.expect("a confidential app has a secret"))
    }

    /// Signs `self.http` in through the login form.
    pub async fn login(&self, username: &str, password: &str) {
        let r = self.login_attempt(username, password).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login should redirect");
    }

    pub async fn login_attempt(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self
            .http
            .get(self.url("/accounts/login/"))
            .send()
            .await
            .expect("login page");
        let csrf = csrf_from(&page.text().await.expect("body"));
        self.http
            .post(self.url("/accounts/login/"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/"),
                ("csrfmiddlewaretoken", &csrf),
            ])
            .send()
            .await
            .expect("login post")
    }

    /// POSTs a token request with `form`; returns the status and JSON body.
    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url("/oauth2/token/"))
            .form(form)
            .send()
            .await
            .expect("token request");
        json_of(r).await
    }

    pub async fn api(&self, path: &str, token: &str) -> StatusCode {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("api call")
            .status()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub const REDIRECT: &str = "http://localhost:3000/login/";

/// A client like a browser on a page of `origin`: cookie jar, no automatic
/// redirects, and `Origin: <origin>` on every request (browsers send it on form
/// posts; the provider refuses a form post without `Origin` or `Referer`).
pub fn browser(origin: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        origin.parse().expect("origin header"),
    );
    browser_builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// [`browser`] without an `Origin` (a request's own headers still apply).
pub fn bare_browser() -> reqwest::Client {
    browser_builder().build().expect("client")
}

fn browser_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
}

pub async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let body = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = html.find(marker).expect("a CSRF field in the form") + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A query parameter of a URL.
pub fn param(url: &str, key: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Polls `check` until it holds or `timeout` passes (no fixed sleeps).
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test]
            #[cfg_attr(
                postgres_tests_skipped,
                ignore = "SKIPPED: LATCHKEY_TEST_POSTGRES_URL was unset when the tests were built"
            )]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}
