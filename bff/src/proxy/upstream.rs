//! The HTTP client of `/api/*`: hyper's pooled client straight on `http` types (no URL
//! re-parsing, no redirect or cookie layers), with one deadline per exchange that also
//! bounds the streamed response body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Pooled upstream connections, plain or TLS (platform trust store, like the
/// provider client), HTTP/1.1 or HTTP/2 by ALPN. Never follows redirects: a proxy
/// passes a 3xx through.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Body>,
    timeout: Duration,
}

/// Why an exchange failed; the proxy answers 502 either way.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream timed out")]
    Timeout,
    #[error(transparent)]
    Client(#[from] hyper_util::client::legacy::Error),
}

impl Upstream {
    /// `timeout` bounds each whole exchange, response body included.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        http.set_keepalive(Some(Duration::from_secs(15)));
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(rustls::crypto::aws_lc_rs::default_provider())?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(https);
        Ok(Self { client, timeout })
    }

    /// This thread's own pool (created on first use from `template`'s settings): with one
    /// runtime per core, each core keeps its own upstream connections, never waking another.
    pub fn per_thread(template: &Upstream) -> Upstream {
        thread_local! {
            static LOCAL: std::cell::RefCell<Option<Upstream>> = const { std::cell::RefCell::new(None) };
        }
        LOCAL.with(|local| {
            local
                .borrow_mut()
                .get_or_insert_with(|| {
                    Upstream::new(template.timeout).unwrap_or_else(|_| template.clone())
                })
                .clone()
        })
    }

    /// Sends `request`; the response body fails once the deadline passes.
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Body>, UpstreamError> {
        let mut deadline = Box::pin(tokio::time::sleep(self.timeout));
        let response = tokio::select! {
            biased;
            response = self.client.request(request) => response?,
            () = &mut deadline => return Err(UpstreamError::Timeout),
        };
        Ok(response.map(|body| {
            Body::new(Deadline {
                body,
                deadline: Some(deadline),
            })
        }))
    }
}

/// A body that errors out when its deadline passes before it ends.
struct Deadline<B> {
    body: B,
    /// `None` once the deadline fired.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> http_body::Body for Deadline<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(deadline) = self.deadline.as_mut() else {
            return Poll::Ready(None);
        };
        if deadline.as_mut().poll(cx).is_ready() {
            self.deadline = None;
            return Poll::Ready(Some(Err(UpstreamError::Timeout.into())));
        }
        Pin::new(&mut self.body).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.deadline.is_none() || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The error with its causes (hyper's own message alone is "client error (Connect)").
pub fn describe(err: &UpstreamError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// An upstream that reads one request, writes `answer`, then holds the connection.
    async fn stalling_upstream(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            socket.write_all(answer.as_bytes()).await.expect("write");
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        format!("http://{addr}/x")
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).expect("request")
    }

    #[tokio::test]
    async fn deadline_bounds_the_response_head() {
        let upstream = Upstream::new(Duration::from_millis(200)).expect("client");
        let uri = stalling_upstream("").await;
        let started = Instant::now();
        let err = upstream.send(get(&uri)).await.expect_err("timed out");
        assert!(matches!(err, UpstreamError::Timeout), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn deadline_bounds_the_response_body() {
        let upstream = Upstream::new(Duration::from_millis(200)).expect("client");
        let uri = stalling_upstream("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc").await;
        let response = upstream.send(get(&uri)).await.expect("head in time");
        assert_eq!(response.status(), 200);
        let started = Instant::now();
        let body = axum::body::to_bytes(response.into_body(), 1024).await;
        assert!(body.is_err(), "the stalled body fails");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn refused_connection_is_a_client_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let uri = format!("http://{}/x", listener.local_addr().expect("addr"));
        drop(listener);
        let upstream = Upstream::new(Duration::from_secs(5)).expect("client");
        let err = upstream.send(get(&uri)).await.expect_err("refused");
        assert!(matches!(err, UpstreamError::Client(_)), "{err}");
        assert!(describe(&err).contains("onnect"), "{}", describe(&err));
    }
}
