//! Simulated users: a real login each (BFF → provider login form → callback), then
//! `/api/me/` in a paced loop through whichever BFF replica answers — a refused or
//! dropped connection goes to the other replica, as a load balancer would send it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::browser;

pub fn username(i: usize) -> String {
    format!("soak-user-{i:03}")
}

pub fn password(i: usize) -> String {
    format!("soak password {i:03} long enough")
}

#[derive(Default)]
pub struct Stats {
    pub statuses: BTreeMap<u16, u64>,
    pub latencies_us: Vec<u64>,
    /// Requests that went to the other replica after a transport error.
    pub failed_over: u64,
    /// (user, seconds into the run, status, body) of every 401.
    pub logouts: Vec<(usize, f64, String)>,
    /// 5xx other than 503, with their bodies.
    pub bad_5xx: Vec<(usize, f64, u16, String)>,
}

/// Logs user `i` in through `bff_url`; returns the session cookie's value.
pub async fn login(i: usize, bff_url: &str) -> String {
    let client = browser::client();
    let callback =
        browser::callback_url_as(&client, bff_url, &username(i), &password(i), "/").await;
    let response = client.get(callback).send().await.expect("callback");
    assert_eq!(response.status(), 302, "login of user {i}");
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("latchkey-bff="))
        .and_then(|v| v.split(';').next())
        .filter(|v| !v.is_empty())
        .expect("a session cookie")
        .to_owned()
}

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    })
}

/// `GET {replica}{path}` with the cookie; on a transport error, the other replica.
/// Returns (status, body, failed over); status 0 when neither answered.
pub async fn call(
    replicas: &[String; 2],
    first: usize,
    cookie: &str,
    path: &str,
) -> (u16, String, bool) {
    for attempt in 0..2 {
        let url = format!("{}{path}", replicas[(first + attempt) % 2]);
        let sent = client()
            .get(url)
            .header("cookie", format!("latchkey-bff={cookie}"))
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            if let Ok(body) = response.text().await {
                return (status, body, attempt > 0);
            }
        }
    }
    (0, String::new(), true)
}

/// One user's loop until `until`; stops at a logout (a 401 ends the user's session).
pub async fn run(
    i: usize,
    cookie: String,
    replicas: [String; 2],
    started: Instant,
    until: Instant,
    pace: Duration,
    stats: Arc<Mutex<Stats>>,
) {
    let mut n = i;
    while Instant::now() < until {
        let sent = Instant::now();
        let (status, body, failed_over) = call(&replicas, n, &cookie, "/api/me/").await;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        let at = started.elapsed().as_secs_f64();
        let logged_out = {
            let mut s = stats.lock().unwrap();
            *s.statuses.entry(status).or_insert(0) += 1;
            s.latencies_us.push(took);
            s.failed_over += u64::from(failed_over);
            if status == 401 {
                s.logouts.push((i, at, body.clone()));
            }
            if (500..600).contains(&status) && status != 503 || status == 0 {
                s.bad_5xx
                    .push((i, at, status, body.chars().take(200).collect()));
            }
            status == 401
        };
        if logged_out {
            return;
        }
        n += 1;
        // Pacing (a user's think time), not synchronisation.
        tokio::time::sleep(pace.saturating_sub(sent.elapsed())).await;
    }
}

pub fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_micros(sorted[idx.min(sorted.len() - 1)])
}
