//! A recording HTTP proxy for the browser: every response the page receives passes
//! through it, so the test can look for tokens in all of them.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::harness::serve;

/// One response as the browser got it: URL, status, headers and body as text.
#[derive(Clone, Debug)]
pub struct Received {
    pub url: String,
    pub status: u16,
    pub text: String,
    /// What the browser sent (not searched: diagnostics only).
    pub request: String,
}

type Log = Arc<Mutex<Vec<Received>>>;

struct Proxy {
    http: reqwest::Client,
    log: Log,
}

pub struct Recorder {
    pub url: String,
    log: Log,
}

/// Hop-by-hop fields (RFC 9110 §7.6.1) and `accept-encoding`, so bodies stay readable.
const DROPPED: [&str; 7] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "accept-encoding",
];

impl Recorder {
    pub async fn start() -> Self {
        let log: Log = Arc::default();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client");
        let proxy = Arc::new(Proxy {
            http,
            log: log.clone(),
        });
        let url = serve(Router::new().fallback(forward).with_state(proxy)).await;
        Self { url, log }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }
}

fn strip(headers: &HeaderMap) -> HeaderMap {
    let mut headers = headers.clone();
    for name in DROPPED {
        headers.remove(name);
    }
    headers
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    let request_headers = format!("{} {:?}", parts.method, parts.headers);
    if !url.starts_with("http://") {
        return (StatusCode::BAD_GATEWAY, "plain-http proxy only").into_response();
    }
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .expect("request body");
    let upstream = proxy
        .http
        .request(parts.method, &url)
        .headers(strip(&parts.headers))
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let status = upstream.status();
    let headers = strip(upstream.headers());
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut text = format!("{headers:?}\n");
    text.push_str(&String::from_utf8_lossy(&bytes));
    proxy.log.lock().expect("log").push(Received {
        url,
        status: status.as_u16(),
        text,
        request: request_headers,
    });
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
