//! The real `latchkey-demo` binary: provider + BFF + SPA in one process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::harness::binary;

pub struct Demo {
    /// The SPA as the browser opens it, e.g. `http://localhost:41234`.
    pub app: String,
    /// Everything the demo printed up to and including its banner.
    pub banner: String,
    child: Child,
}

impl Demo {
    /// Starts the demo on free ports with its data under `data_dir`.
    pub async fn start(data_dir: &Path, redis_url: Option<&str>) -> Self {
        let mut command = Command::new(binary("latchkey-demo"));
        command
            .env_remove("REDIS_URL")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--provider-listen", "127.0.0.1:0"])
            .args(["--bff-listen", "127.0.0.1:0"]);
        if let Some(url) = redis_url {
            command.env("REDIS_URL", url);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn latchkey-demo");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (app, banner) = read_banner(&mut lines).await;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { app, banner, child }
    }

    /// Ctrl-C, as a person would press it; the demo must exit cleanly.
    pub async fn interrupt(mut self) {
        let pid = self.child.id().expect("demo pid").to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        assert!(status.success(), "kill -INT {pid}");
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the demo stops within 30 s of Ctrl-C")
            .expect("wait for the demo");
        assert!(exit.success(), "the demo exits cleanly on Ctrl-C: {exit}");
    }
}

/// Reads stdout until the banner's end; returns the SPA's URL and the text.
async fn read_banner(lines: &mut Lines<BufReader<ChildStdout>>) -> (String, String) {
    let mut banner = String::new();
    let mut app = None;
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read demo stdout") {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(url) = line.strip_prefix("bff listening on ") {
                app = Some(url.trim().to_owned());
            }
            if line.contains("Ctrl-C stops everything") {
                return;
            }
        }
        panic!("latchkey-demo exited before it was ready:\n{banner}");
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("latchkey-demo ready within 120 s");
    (app.expect("bff listening line"), banner)
}
