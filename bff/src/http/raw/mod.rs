//! The raw lane: a warm session's plain `GET`/`HEAD /api/*` goes from the socket to the
//! upstream and back without hyper — httparse reads the heads, the BFF's own rules
//! ([`crate::http::fast::plan`], [`crate::proxy::headers`]) decide what crosses, and the
//! bytes are written as they are. This is what nginx does per request, and what it costs:
//! a hyper server plus hyper-util's client spend about twice nginx's instructions on the
//! HTTP machinery alone (bench/FINDINGS.md, round 5).
//!
//! Anything else — another method, a body, an upgrade, HTTP/2, a head too large, no
//! session or one with a write due, an `https` upstream, an upstream 401 to retry after a
//! refresh — is handed to hyper on the same connection, with the bytes already read put
//! back in front ([`Prefixed`]); from then on hyper serves that connection, exactly as
//! without this lane. The hand-over only happens at a request boundary, before anything
//! of that request was written. `--engine hyper` turns the lane off.

#[doc(hidden)] // public for the property tests (it reads upstream input), not an API
pub mod chunks;
mod relay;
mod upstream;
pub mod wire;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use bytes::{Buf, BytesMut};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::Instrument;

use super::fast::{FastApi, RejectedToken};
use crate::state::SharedState;

/// The connection's one timer, reset for each deadline (a head to complete, an upstream
/// exchange). A timer per request would be registered and dropped each time, and with
/// none left the runtime parks without a timeout, so each new one wakes it through its
/// eventfd: one `write` and one more `epoll_wait` per request (bench/FINDINGS.md).
pub(super) type Timer = Pin<Box<tokio::time::Sleep>>;

/// What is needed to hand a connection to hyper.
pub struct Handover {
    pub app: FastApi<Router>,
    pub builder: auto::Builder<TokioExecutor>,
    pub watcher: Watcher,
}

/// What became of one request on the raw lane.
pub(super) enum Outcome {
    /// Answered; the connection may carry another request.
    KeepAlive,
    /// Answered (or failed mid-answer): close the connection.
    Close,
    /// Not answered: hyper takes the connection from this request on.
    HandOver(Option<RejectedToken>),
}

/// Serves one connection: raw lane while it can, then hyper.
pub async fn serve(
    state: SharedState,
    mut stream: TcpStream,
    peer: SocketAddr,
    handover: Handover,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    // A started head must be complete within this (slowloris), counted from its first bytes.
    let head_timeout = Duration::from_secs(state.config.head_timeout_seconds);
    let mut timer: Timer = Box::pin(tokio::time::sleep(head_timeout));
    // When the head being read must be complete (from its first byte, as hyper counts).
    let mut head_deadline = None;
    loop {
        match wire::parse_request(&buf) {
            wire::Parsed::Complete(head) => {
                head_deadline = None;
                let len = head.len;
                // As the hyper lane: a `debug` span, so a warm request formats none unless
                // asked for (`RUST_LOG=latchkey_bff=debug`).
                let span =
                    tracing::debug_span!("api", method = %head.method, path = %head.uri.path());
                let answered = relay::request(&state, &mut stream, head, peer, &mut timer);
                let outcome = if span.is_disabled() {
                    answered.await
                } else {
                    answered.instrument(span).await
                };
                match outcome {
                    Outcome::KeepAlive => buf.advance(len),
                    Outcome::Close => return,
                    Outcome::HandOver(rejected) => {
                        return hand_over(stream, buf, peer, handover, rejected).await;
                    }
                }
            }
            wire::Parsed::Other => return hand_over(stream, buf, peer, handover, None).await,
            wire::Parsed::Partial => {
                let read = if buf.is_empty() {
                    // Between requests: an idle keep-alive connection ends at a stop.
                    tokio::select! {
                        read = stream.read_buf(&mut buf) => read,
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    }
                } else {
                    let deadline = *head_deadline
                        .get_or_insert_with(|| tokio::time::Instant::now() + head_timeout);
                    timer.as_mut().reset(deadline);
                    tokio::select! {
                        read = stream.read_buf(&mut buf) => read,
                        () = timer.as_mut() => return,
                    }
                };
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
            }
        }
    }
}

/// hyper serves the whole connection (`--engine hyper`).
pub async fn hyper_only(stream: TcpStream, peer: SocketAddr, handover: Handover) {
    hand_over(stream, BytesMut::new(), peer, handover, None).await;
}

/// hyper serves the rest of the connection, starting with the bytes in `buf`.
async fn hand_over(
    stream: TcpStream,
    buf: BytesMut,
    peer: SocketAddr,
    handover: Handover,
    rejected: Option<RejectedToken>,
) {
    let Handover {
        app,
        builder,
        watcher,
    } = handover;
    // The first request hyper reads is the one the raw lane gave up on; an upstream
    // refusal of its token travels with it (the slow path refreshes once, retries once).
    let rejected = Arc::new(Mutex::new(rejected));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        let token = rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(token) = token {
            request.extensions_mut().insert(token);
        }
        app.clone().oneshot(request)
    });
    let io = Prefixed {
        prefix: buf.freeze(),
        stream,
    };
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    if let Err(err) = watcher.watch(connection).await {
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// A socket with bytes already read from it put back in front.
struct Prefixed {
    prefix: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(out.remaining());
            out.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, out)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
