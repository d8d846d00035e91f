//! Headless Chromium over chromedriver (fantoccini), screenshots per step, and the
//! skip-or-fail rule: without Chromium the browser tests print a loud SKIPPED, unless
//! `LATCHKEY_REQUIRE_BROWSER=1` (CI), where they fail.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

use crate::harness::{TempDir, bin_dir};
use crate::{eventually, loud};

pub const SKIPPED: &str =
    "SKIPPED (browser): install chromium chromium-driver or run .ci/install-browser";

pub struct Browser {
    pub client: Client,
    shots: PathBuf,
    step: usize,
    _driver: Child,
    _profile: TempDir,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Chromium and chromedriver, or `None` after a loud skip (panics when required).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = on_path(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ if std::env::var("LATCHKEY_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!(
                "LATCHKEY_REQUIRE_BROWSER=1 but chromium/chromedriver are missing: run .ci/install-browser"
            )
        }
        _ => {
            loud(SKIPPED);
            None
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(group) = self._driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Browser {
    /// A fresh headless Chromium whose traffic goes through `proxy` (loopback included).
    pub async fn launch(test: &str, proxy: &str) -> Option<Self> {
        let (chromium, driver_bin) = tools()?;
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Chromium and its helpers are in it, and `Drop` ends
            // them all (killing chromedriver alone left them running after the tests).
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_ready(&webdriver).await;
        let profile = TempDir::new("chromium");
        let client = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(capabilities(&chromium, &profile, proxy))
            .connect(&webdriver)
            .await
            .expect("start a Chromium session");
        let shots = bin_dir()
            .parent()
            .expect("target dir")
            .join("e2e-screenshots")
            .join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Some(Self {
            client,
            shots,
            step: 0,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Saves `NN-name.png` under `$CARGO_TARGET_DIR/e2e-screenshots/<test>/`.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        self.step += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn click(&self, css: &str) {
        let element = self.visible(css).await;
        element.click().await.expect("click");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.visible(css).await;
        element.send_keys(text).await.expect("type");
    }

    /// Waits until `css` is displayed.
    pub async fn visible(&self, css: &str) -> fantoccini::elements::Element {
        self.until(css, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            element.is_displayed().await.ok()?.then_some(element)
        })
        .await
    }

    /// Waits until the text of `css` contains `wanted`; returns that text.
    pub async fn text_contains(&self, css: &str, wanted: &str) -> String {
        let what = format!("{css} to contain {wanted:?}");
        self.until(&what, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = element.text().await.ok()?;
            text.contains(wanted).then_some(text)
        })
        .await
    }

    /// Polls `check` for 20 s; on timeout fails with the page's URL and text.
    async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < deadline {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = self.client.current_url().await.map(|u| u.to_string());
        let text = self
            .eval("return document.body ? document.body.innerText : ''")
            .await;
        panic!("timed out waiting for {what}; page {url:?} shows:\n{text}");
    }

    /// Runs `script` in the page and returns its value as a string.
    pub async fn eval(&self, script: &str) -> String {
        let value = self
            .client
            .execute(script, vec![])
            .await
            .expect("execute script");
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    }
}

async fn wait_ready(webdriver: &str) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let status = format!("{webdriver}/status");
    eventually(Duration::from_secs(30), "chromedriver", || async {
        let response = http.get(&status).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
}

fn capabilities(
    chromium: &std::path::Path,
    profile: &TempDir,
    proxy: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,820",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([
        format!("--user-data-dir={}", profile.0.display()),
        format!("--proxy-server={proxy}"),
        // Chromium bypasses proxies for loopback unless told not to.
        "--proxy-bypass-list=<-loopback>".to_owned(),
    ])
    .collect::<Vec<_>>();
    let options = serde_json::json!({
        "binary": chromium.display().to_string(),
        "args": args,
    });
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert("goog:chromeOptions".into(), options);
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({"browser": "ALL"}),
    );
    caps
}

/// chromedriver's `POST /session/{id}/se/log {"type":"browser"}`: the console since
/// the last call (errors, failed loads, CSP violations).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_owned()),
        )
    }
}

impl Browser {
    pub async fn console_log(&self) -> Vec<serde_json::Value> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        log.as_array().cloned().unwrap_or_default()
    }
}
