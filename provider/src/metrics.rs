//! Prometheus text metrics (exposition format 0.0.4), kept in process memory:
//! each provider process reports its own, as Prometheus expects of a target.
//!
//! Counters are plain maps behind one mutex each: a handful of label values, a
//! lock held for a map lookup.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type Labels = (&'static str, String);

static REQUESTS: Mutex<BTreeMap<(String, u16), u64>> = Mutex::new(BTreeMap::new());
static GRANTS: Mutex<BTreeMap<Labels, u64>> = Mutex::new(BTreeMap::new());
static THROTTLED: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());
static SWEPT_ROWS: AtomicU64 = AtomicU64::new(0);
static SWEEPS: AtomicU64 = AtomicU64::new(0);
static LAST_SWEEP: AtomicU64 = AtomicU64::new(0);

/// Token-endpoint latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
static LATENCY: Mutex<([u64; BUCKETS.len()], u64, f64)> = Mutex::new(([0; BUCKETS.len()], 0, 0.0));

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    if let Ok(mut m) = m.lock() {
        *m.entry(k).or_default() += 1;
    }
}

/// One HTTP response, by matched route (never the raw path: no unbounded labels).
pub fn count_request(route: &str, status: u16) {
    bump(&REQUESTS, (route.to_owned(), status));
}

/// One token request, by grant type and outcome (`ok` or the RFC 6749 error code).
pub fn count_grant(grant_type: &'static str, outcome: &str) {
    bump(&GRANTS, (grant_type, outcome.to_owned()));
}

/// A login refused before hashing: `limit` (the throttle) or `queue_full`.
pub fn count_throttled(reason: &'static str) {
    bump(&THROTTLED, reason);
}

pub fn observe_token_latency(d: Duration) {
    let secs = d.as_secs_f64();
    if let Ok(mut h) = LATENCY.lock() {
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.0[i] += 1;
            }
        }
        h.1 += 1;
        h.2 += secs;
    }
}

/// One sweeper batch that deleted `rows` expired rows.
pub fn count_sweep(rows: u64) {
    SWEEPS.fetch_add(1, Ordering::Relaxed);
    SWEPT_ROWS.fetch_add(rows, Ordering::Relaxed);
    LAST_SWEEP.store(crate::storage::now().max(0) as u64, Ordering::Relaxed);
}

/// Label values are ours or a route template; escaped anyway.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Everything, in Prometheus text format. `pool`: (connections open, idle).
pub fn render(engine: &str, pool: (u32, usize), queue_depth: usize) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "latchkey_http_requests_total",
        "counter",
        "HTTP responses by route and status.",
    );
    if let Ok(m) = REQUESTS.lock() {
        for ((route, status), n) in m.iter() {
            let _ = writeln!(
                out,
                "latchkey_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                esc(route)
            );
        }
    }
    header(
        &mut out,
        "latchkey_grants_total",
        "counter",
        "Token requests by grant type and outcome.",
    );
    if let Ok(m) = GRANTS.lock() {
        for ((grant, outcome), n) in m.iter() {
            let _ = writeln!(
                out,
                "latchkey_grants_total{{grant_type=\"{grant}\",outcome=\"{}\"}} {n}",
                esc(outcome)
            );
        }
    }
    header(
        &mut out,
        "latchkey_token_request_duration_seconds",
        "histogram",
        "Token endpoint latency.",
    );
    if let Ok(h) = LATENCY.lock() {
        for (le, n) in BUCKETS.iter().zip(h.0.iter()) {
            let _ = writeln!(
                out,
                "latchkey_token_request_duration_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "latchkey_token_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.1
        );
        let _ = writeln!(out, "latchkey_token_request_duration_seconds_sum {}", h.2);
        let _ = writeln!(out, "latchkey_token_request_duration_seconds_count {}", h.1);
    }
    header(
        &mut out,
        "latchkey_logins_throttled_total",
        "counter",
        "Logins refused before hashing, by reason.",
    );
    if let Ok(m) = THROTTLED.lock() {
        for (reason, n) in m.iter() {
            let _ = writeln!(
                out,
                "latchkey_logins_throttled_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
    header(
        &mut out,
        "latchkey_argon2_queue_depth",
        "gauge",
        "Logins waiting for or running a password hash.",
    );
    let _ = writeln!(out, "latchkey_argon2_queue_depth {}", queue_depth);
    header(
        &mut out,
        "latchkey_sweeper_batches_total",
        "counter",
        "Sweeper batches that deleted rows.",
    );
    let _ = writeln!(
        out,
        "latchkey_sweeper_batches_total {}",
        SWEEPS.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "latchkey_sweeper_deleted_rows_total",
        "counter",
        "Expired rows the sweeper deleted.",
    );
    let _ = writeln!(
        out,
        "latchkey_sweeper_deleted_rows_total {}",
        SWEPT_ROWS.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "latchkey_sweeper_last_run_timestamp_seconds",
        "gauge",
        "When the sweeper last deleted rows.",
    );
    let _ = writeln!(
        out,
        "latchkey_sweeper_last_run_timestamp_seconds {}",
        LAST_SWEEP.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "latchkey_db_pool_connections",
        "gauge",
        "Database pool connections, by state.",
    );
    let (open, idle) = pool;
    let _ = writeln!(
        out,
        "latchkey_db_pool_connections{{engine=\"{engine}\",state=\"open\"}} {open}"
    );
    let _ = writeln!(
        out,
        "latchkey_db_pool_connections{{engine=\"{engine}\",state=\"idle\"}} {idle}"
    );
    out
}
