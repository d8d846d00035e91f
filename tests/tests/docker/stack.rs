//! Test 2: docker-compose.yml's stack, run as compose runs it (see `container`, `netns`,
//! `services`), then used from the host as a person would after `docker compose up`: the
//! SPA at http://localhost:3000, a sign-in through http://localhost:8000 in headless
//! Chromium, `/api/me/` through the BFF, sign-out, and a second, idempotent `seed`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt as _;
use std::time::{Duration, Instant};

use crate::chrome::Browser;
use crate::compose::{self, Service};
use crate::container::{Container, Spec};
use crate::forward::Published;
use crate::harness::TempDir;
use crate::image::{image, workspace_root};
use crate::loud;
use crate::netns::{self, Network};
use crate::recorder::Recorder;
use crate::services::{Scratch, built, in_volume, stand_in};
use crate::spa_steps::{assert_no_token_in_browser, call_api, sign_in};

const APP: &str = "http://localhost:3000";
const PROVIDER: &str = "http://localhost:8000";
/// Compose's interval × retries is 100 s for every service here.
const HEALTHY_WITHIN: Duration = Duration::from_secs(100);

fn required() -> bool {
    std::env::var("LATCHKEY_REQUIRE_NETNS").as_deref() == Ok("1")
        || std::env::var_os("CI").is_some()
}

#[derive(Default)]
struct Stack {
    specs: BTreeMap<String, (Spec, Vec<String>)>,
    running: BTreeMap<String, Container>,
    healthchecks: BTreeMap<String, Vec<String>>,
    healthy: BTreeSet<String>,
    published: Vec<Published>,
}

impl Stack {
    fn start(&mut self, service: &Service, spec: Spec, argv: Vec<String>, scratch: &Scratch) {
        let container = Container::start(&spec, &argv, &scratch.logs());
        self.running.insert(service.name.clone(), container);
        if let Some(check) = &service.healthcheck {
            self.healthchecks
                .insert(service.name.clone(), check.clone());
        }
        self.specs.insert(service.name.clone(), (spec, argv));
    }

    /// Blocks until `depends_on`'s `condition` holds for `name`, as compose does.
    async fn wait(&mut self, name: &str, condition: &str) {
        let started = Instant::now();
        loop {
            let container = self
                .running
                .get_mut(name)
                .expect("started before its dependents");
            let exited = container.exited();
            match (condition, exited) {
                ("service_started", _) => return,
                ("service_completed_successfully", Some(status)) => {
                    assert!(
                        status.success(),
                        "{name} exited with {status}:\n{}",
                        container.tail()
                    );
                    return;
                }
                ("service_healthy", Some(status)) => {
                    panic!(
                        "{name} exited ({status}) instead of becoming healthy:\n{}",
                        container.tail()
                    )
                }
                ("service_healthy", None) if self.healthy.contains(name) => return,
                ("service_healthy", None) => {
                    let check = &self.healthchecks[name];
                    let (spec, _) = &self.specs[name];
                    if spec.healthy(check, Duration::from_secs(3)).await {
                        loud(&format!(
                            "compose stack: {name} healthy after {:.1} s",
                            started.elapsed().as_secs_f64()
                        ));
                        self.healthy.insert(name.to_owned());
                        return;
                    }
                }
                ("service_completed_successfully", None) => {}
                (other, _) => panic!("depends_on condition {other} is not simulated"),
            }
            let container = &self.running[name];
            assert!(
                started.elapsed() < HEALTHY_WITHIN,
                "{name} never met {condition}:\n{}",
                container.tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// What `argv` prints when run in service `name`'s container.
    fn output(&self, name: &str, argv: &[&str]) -> String {
        let (spec, _) = &self.specs[name];
        let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
        let out = spec.command(&argv).output().expect("run in the service");
        assert!(
            out.status.success(),
            "{argv:?} in {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a one-shot service again (a second `docker compose up`), to completion.
    async fn rerun(&mut self, name: &str, scratch: &Scratch) {
        let (spec, argv) = self.specs[name].clone();
        self.running.insert(
            name.to_owned(),
            Container::start(&spec, &argv, &scratch.logs()),
        );
        self.wait(name, "service_completed_successfully").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_stack_runs_and_a_browser_signs_in() {
    if let Some(reason) = netns::unavailable() {
        assert!(
            !required(),
            "LATCHKEY_REQUIRE_NETNS=1 (or CI) but network namespaces cannot be made here: {reason}"
        );
        loud(&format!(
            "SKIPPED (compose stack): network namespaces unavailable ({reason}); needs root and iproute2"
        ));
        return;
    }
    let image = match image() {
        Ok(image) => image,
        Err(error) => panic!("the Dockerfile's build fails, so the stack cannot start:\n{error}"),
    };
    let services =
        compose::start_order(&compose::load(&workspace_root().join("docker-compose.yml")));
    let scratch_dir = TempDir::new("compose-stack");
    let scratch = Scratch {
        dir: scratch_dir.0.clone(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let network = Network::create(&names);
    let mut stack = Stack::default();
    let started = Instant::now();
    for service in &services {
        for (dependency, condition) in &service.depends_on {
            stack.wait(dependency, condition).await;
        }
        let namespace = network.namespace(&service.name);
        let (spec, argv) = if service.built {
            built(service, image, &scratch, namespace)
        } else {
            stand_in(service, &scratch, namespace)
        };
        for (ip, host_port, port) in &service.ports {
            let to = format!("{}:{port}", network.address(&service.name));
            let published =
                Published::start(&format!("{ip}:{host_port}"), to.parse().expect("addr")).await;
            stack.published.push(published);
        }
        stack.start(service, spec, argv, &scratch);
    }
    let healthy: Vec<String> = stack.healthchecks.keys().cloned().collect();
    for name in &healthy {
        stack.wait(name, "service_healthy").await;
    }
    loud(&format!(
        "compose stack: {} services up in {:.1} s",
        services.len(),
        started.elapsed().as_secs_f64()
    ));
    check_from_the_host().await;

    let secret_file = in_volume(&scratch, "bff-secret", "bff-client-secret");
    let secret = std::fs::read(&secret_file).expect("seed wrote the BFF's secret into its volume");
    let meta = std::fs::metadata(&secret_file).expect("secret metadata");
    assert_eq!(meta.uid(), image.layer.uid, "written by the image's user");
    assert_eq!(meta.mode() & 0o777, 0o600, "the secret file is 0600");

    let recorder = Recorder::start().await;
    let Some(mut browser) = Browser::launch("compose-stack", &recorder.url).await else {
        return;
    };
    sign_in(&mut browser, APP).await;
    let me = call_api(&browser, "#call-me", "GET /api/me/ → 200").await;
    assert!(me.contains("\"username\": \"admin\""), "{me}");
    browser.shot("compose-api-me").await;
    let keys = stack.output("redis", &["redis-cli", "DBSIZE"]);
    assert!(
        keys.trim().parse::<u64>().unwrap_or(0) > 0,
        "the BFF keeps its session in the redis service (REDIS_URL read): DBSIZE {keys}"
    );
    assert_no_token_in_browser(&browser, &recorder).await;
    browser.click("#sign-out").await;
    browser.text_contains("#reason", "You signed out.").await;
    call_api(&browser, "#call-me", "GET /api/me/ → 401").await;
    browser.shot("compose-signed-out").await;

    // `docker compose up` again: seed runs once more, changes nothing, and the BFF (which
    // read the secret at start) still signs people in.
    stack.rerun("seed", &scratch).await;
    assert_eq!(
        std::fs::read(&secret_file).expect("secret"),
        secret,
        "seed kept the secret"
    );
    // The provider still knows the browser (its own login session): no form this time.
    browser.goto(APP).await;
    browser.click("#sign-in").await;
    browser.text_contains("#username", "admin").await;
    let me = call_api(&browser, "#call-me", "GET /api/me/ → 200").await;
    assert!(me.contains("admin"), "{me}");
    browser.shot("compose-after-second-seed").await;
    browser.client.clone().close().await.unwrap();
    drop(stack);
    drop(network);
}

/// The published ports from the host, as `curl` from a terminal would see them.
async fn check_from_the_host() {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(APP)
        .send()
        .await
        .expect("GET http://localhost:3000");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let spa = std::fs::read_to_string(workspace_root().join("frontend-demo/index.html")).unwrap();
    assert_eq!(html, spa, "http://localhost:3000 serves the SPA");
    let metadata: serde_json::Value = http
        .get(format!("{PROVIDER}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("GET the provider's metadata")
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], PROVIDER, "the issuer compose gives");
    let session = http
        .get(format!("{APP}/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 401, "signed out before any sign-in");
}
