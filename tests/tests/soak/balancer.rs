//! The load balancer in front of the two provider processes (the provider's issuer is
//! this address): round robin, and a request whose backend refuses the connection or
//! drops it is sent to the other one — as nginx's `proxy_next_upstream error timeout
//! non_idempotent` would. Retrying a token request is safe: a retried refresh inside the
//! provider's grace window gets the same pair back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub struct Balancer {
    pub retried: Arc<AtomicU64>,
    pub failed: Arc<AtomicU64>,
}

struct Shared {
    backends: Vec<String>,
    next: AtomicUsize,
    client: reqwest::Client,
    retried: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "transfer-encoding",
    "keep-alive",
    "content-length",
    "host",
];

impl Balancer {
    pub async fn start(listener: tokio::net::TcpListener, backends: Vec<String>) -> Self {
        let (retried, failed) = (Arc::<AtomicU64>::default(), Arc::<AtomicU64>::default());
        let shared = Arc::new(Shared {
            backends,
            next: AtomicUsize::new(0),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .pool_idle_timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
            retried: retried.clone(),
            failed: failed.clone(),
        });
        let router = Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { retried, failed }
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let first = shared.next.fetch_add(1, Ordering::Relaxed);
    for attempt in 0..shared.backends.len() {
        let backend = &shared.backends[(first + attempt) % shared.backends.len()];
        let mut outgoing = shared
            .client
            .request(parts.method.clone(), format!("{backend}{path}"))
            .body(body.clone());
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        // The provider sees the host the browser used (its allowed hosts, its CSRF check).
        if let Some(host) = parts.headers.get("host") {
            outgoing = outgoing.header("host", host);
        }
        match outgoing.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let Ok(bytes) = response.bytes().await else {
                    shared.retried.fetch_add(1, Ordering::Relaxed);
                    continue; // dropped mid-body: the other backend
                };
                return respond(status, &headers, bytes);
            }
            Err(_) => {
                shared.retried.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    shared.failed.fetch_add(1, Ordering::Relaxed);
    StatusCode::BAD_GATEWAY.into_response()
}

fn respond(status: StatusCode, headers: &axum::http::HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}
