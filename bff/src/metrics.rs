//! Prometheus text exposition (format 0.0.4) of a handful of counters and one histogram.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::SharedState;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    upstream_requests: AtomicU64,
    upstream_buckets: [AtomicU64; BUCKETS.len()],
    upstream_micros: AtomicU64,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
    sessions_created: AtomicU64,
    sessions_destroyed: AtomicU64,
    logins_rate_limited: AtomicU64,
    signed_out_everywhere: AtomicU64,
    backchannel_logouts: AtomicU64,
    backchannel_sessions_ended: AtomicU64,
    backchannel_refused: AtomicU64,
}

impl Metrics {
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Time to the upstream's response headers.
    pub fn upstream(&self, elapsed: Duration) {
        self.upstream_requests.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.upstream_micros.fetch_add(micros, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        for (bucket, le) in self.upstream_buckets.iter().zip(BUCKETS) {
            if seconds <= le {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn refresh_started(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refresh_failed(&self) {
        self.refresh_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_created(&self) {
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_destroyed(&self) {
        self.sessions_destroyed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn login_rate_limited(&self) {
        self.logins_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// One "sign out everywhere".
    pub fn signed_out_everywhere(&self) {
        self.signed_out_everywhere.fetch_add(1, Ordering::Relaxed);
    }

    /// One accepted back-channel logout token and the sessions it ended.
    pub fn backchannel_logout(&self, sessions: usize) {
        self.backchannel_logouts.fetch_add(1, Ordering::Relaxed);
        self.backchannel_sessions_ended
            .fetch_add(sessions as u64, Ordering::Relaxed);
    }

    pub fn backchannel_logout_refused(&self) {
        self.backchannel_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "bff_requests_total",
            "HTTP requests received.",
            &self.requests,
        );
        counter(
            &mut out,
            "bff_refreshes_total",
            "Token refreshes attempted at the provider.",
            &self.refreshes,
        );
        counter(
            &mut out,
            "bff_refresh_failures_total",
            "Token refreshes that failed.",
            &self.refresh_failures,
        );
        counter(
            &mut out,
            "bff_sessions_created_total",
            "Sessions created (logins).",
            &self.sessions_created,
        );
        counter(
            &mut out,
            "bff_sessions_destroyed_total",
            "Sessions destroyed (logout, expiry).",
            &self.sessions_destroyed,
        );
        counter(
            &mut out,
            "bff_login_rate_limited_total",
            "GET /auth/login refused by the per-IP rate limit.",
            &self.logins_rate_limited,
        );
        counter(
            &mut out,
            "bff_sign_out_everywhere_total",
            "Sign-outs of every session of a user.",
            &self.signed_out_everywhere,
        );
        counter(
            &mut out,
            "bff_backchannel_logouts_total",
            "Back-channel logout tokens accepted.",
            &self.backchannel_logouts,
        );
        counter(
            &mut out,
            "bff_backchannel_logout_sessions_ended_total",
            "Sessions ended by back-channel logout tokens.",
            &self.backchannel_sessions_ended,
        );
        counter(
            &mut out,
            "bff_backchannel_logout_refused_total",
            "Back-channel logout requests refused (bad token, replay, bad body).",
            &self.backchannel_refused,
        );
        let name = "bff_upstream_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Upstream time to response headers.\n# TYPE {name} histogram"
        );
        for (bucket, le) in self.upstream_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{le}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.upstream_requests.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        #[allow(clippy::cast_precision_loss)]
        let sum = self.upstream_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}

/// `GET /metrics`: the counters, plus the in-memory store's sizes when it runs.
pub async fn handler(State(state): State<SharedState>) -> impl IntoResponse {
    let mut out = state.metrics.render();
    if let Some(memory) = state.store.memory_backend() {
        let (sessions, logins) = memory.counts();
        for (name, help, value) in [
            ("bff_memory_sessions", "Sessions held in memory.", sessions),
            (
                "bff_memory_logins",
                "Pre-login records held in memory.",
                logins,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
    }
    let (hits, misses, entries) = state.store.cache_stats();
    for (name, kind, help, value) in [
        (
            "bff_near_cache_hits_total",
            "counter",
            "Sessions served from the near cache.",
            hits,
        ),
        (
            "bff_near_cache_misses_total",
            "counter",
            "Sessions read from the store.",
            misses,
        ),
        (
            "bff_near_cache_entries",
            "gauge",
            "Sessions in the near cache.",
            entries as u64,
        ),
        (
            "bff_jwks_fetches_total",
            "counter",
            "Requests for the provider's JWKS (bounded for logout tokens).",
            state.id_tokens.keys().fetches(),
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
