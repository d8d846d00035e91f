//! One request on the raw lane: the fast path's plan, the upstream exchange, the answer.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::uri::{Authority, Scheme};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::chunks::Chunks;
use super::upstream::{self, Conn};
use super::wire::{self, Framing, Malformed, RequestHead, ResponseHead};
use super::{Outcome, Timer};
use crate::error::Error;
use crate::http::client_ip;
use crate::http::fast::{self, Plan, RejectedToken};
use crate::proxy::headers;
use crate::state::SharedState;

/// Bytes of a generated answer's body read into memory (they are small JSON documents).
const MAX_ANSWER: usize = 64 * 1024;

pub(super) async fn request(
    state: &SharedState,
    client: &mut TcpStream,
    head: RequestHead,
    peer: SocketAddr,
    timer: &mut Timer,
) -> Outcome {
    let RequestHead {
        method,
        uri,
        headers: fields,
        ..
    } = head;
    let head_only = method == Method::HEAD;
    let (target, data) = match fast::plan(state, &method, &uri, &fields).await {
        Plan::Forward { target, data } if target.scheme() == Some(&Scheme::HTTP) => (target, data),
        Plan::Answer(response) => return answer(state, client, response, head_only).await,
        Plan::Forward { .. } | Plan::Slow => return Outcome::HandOver(None),
    };
    let Some(authority) = target.authority().cloned() else {
        return Outcome::HandOver(None);
    };
    let origin = headers::Origin {
        peer: Some(client_ip::canonical(peer.ip())),
        trusted: &state.trusted_proxies,
    };
    let token = data.access_token.expose();
    if !wire::is_field_value(token.as_bytes()) {
        let refused = Error::BadGateway("the access token is not a header value".into());
        return answer(state, client, refused.into_response(), head_only).await;
    }
    let out = upstream_head(state, &method, &target, &fields, &origin, token);
    let started = std::time::Instant::now();
    // One deadline for the whole exchange, body included (as the hyper lane's client).
    timer
        .as_mut()
        .reset(Instant::now() + Duration::from_secs(state.config.upstream_timeout_seconds));
    let pass_cors = state.config.pass_cors_headers;
    let exchanged = tokio::select! {
        biased;
        exchanged = exchange(&authority, &out, head_only, pass_cors) => Ok(exchanged),
        () = timer.as_mut() => Err(()),
    };
    let (conn, response, buf) = match exchanged {
        Ok(Ok(exchanged)) => exchanged,
        Ok(Err(err)) => {
            let failed = Error::BadGateway(format!("upstream: {err}"));
            return answer(state, client, failed.into_response(), head_only).await;
        }
        Err(()) => {
            let failed = Error::BadGateway("upstream timed out".into());
            return answer(state, client, failed.into_response(), head_only).await;
        }
    };
    state.metrics.upstream(started.elapsed());
    if response.status == StatusCode::UNAUTHORIZED {
        // The token we believed valid was refused: the slow path refreshes once and
        // retries once (this request is replayable: GET or HEAD without a body).
        // Counted there, not here.
        return Outcome::HandOver(Some(RejectedToken(data.access_token.clone())));
    }
    state.metrics.request();
    relay(client, conn, response, buf, timer).await
}

/// The upstream's request head: the browser's fields that may cross (the rules of
/// [`headers::to_upstream`], written as they are read), the BFF's `X-Forwarded-*`, a
/// default `Accept`, and the session's bearer token (RFC 6750 §2.1).
fn upstream_head(
    state: &SharedState,
    method: &Method,
    target: &Uri,
    fields: &HeaderMap,
    origin: &headers::Origin<'_>,
    token: &str,
) -> Vec<u8> {
    let csrf = state.config.csrf_header.as_str();
    let named = headers::connection_named(
        fields
            .get_all(header::CONNECTION)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let mut out = Vec::with_capacity(1024);
    wire::write_request_line(&mut out, method, target);
    let mut accept = false;
    for (name, value) in fields {
        if headers::crosses_upstream(name.as_str(), csrf, &named) {
            accept |= name == header::ACCEPT;
            wire::write_field(&mut out, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    for (name, value) in headers::forwarded_values(fields, origin) {
        if let Some(value) = value.filter(|v| wire::is_field_value(v.as_bytes())) {
            wire::write_field(&mut out, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    if !accept {
        // What the previous client (reqwest) sent by default.
        wire::write_field(&mut out, b"accept", b"*/*");
    }
    out.extend_from_slice(b"authorization: Bearer ");
    out.extend_from_slice(token.as_bytes());
    out.extend_from_slice(b"\r\n");
    wire::end_head(&mut out);
    out
}

#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("connection closed before a response")]
    Closed,
}

/// Sends `request`, reads the response head. A kept socket that fails before any
/// response byte (the upstream closed it while idle) is retried once on a new one.
async fn exchange(
    authority: &Authority,
    request: &[u8],
    head_only: bool,
    pass_cors: bool,
) -> Result<(Conn, ResponseHead, BytesMut), ExchangeError> {
    let mut fresh = false;
    loop {
        let mut conn = upstream::connect(authority, fresh).await?;
        let mut buf = BytesMut::with_capacity(8 * 1024);
        match attempt(&mut conn, request, head_only, pass_cors, &mut buf).await {
            Ok(response) => return Ok((conn, response, buf)),
            Err(Some(err)) => return Err(err),
            Err(None) if conn.reused => fresh = true,
            Err(None) => return Err(ExchangeError::Closed),
        }
    }
}

/// `Err(None)`: the socket failed before the first response byte.
async fn attempt(
    conn: &mut Conn,
    request: &[u8],
    head_only: bool,
    pass_cors: bool,
    buf: &mut BytesMut,
) -> Result<ResponseHead, Option<ExchangeError>> {
    if conn.stream.write_all(request).await.is_err() {
        return Err(None);
    }
    loop {
        match conn.stream.read_buf(buf).await {
            Ok(n) if n > 0 => {}
            Ok(_) | Err(_) if buf.is_empty() => return Err(None),
            Ok(_) => return Err(Some(ExchangeError::Closed)),
            Err(err) => return Err(Some(err.into())),
        }
        if let Some(response) =
            wire::parse_response(buf, head_only, pass_cors).map_err(|e| Some(e.into()))?
        {
            return Ok(response);
        }
    }
}

/// Writes the response head and relays the body as its framing says; the upstream
/// socket is kept only when the body ended exactly where the framing said.
async fn relay(
    client: &mut TcpStream,
    mut conn: Conn,
    response: ResponseHead,
    mut buf: BytesMut,
    timer: &mut Timer,
) -> Outcome {
    buf.advance(response.len);
    let ResponseHead {
        framing,
        keep_alive,
        head: out,
        ..
    } = response;
    let ended = match framing {
        Framing::Empty => client.write_all(&out).await.is_ok(),
        Framing::Length(n) => relay_length(client, &mut conn, &mut buf, out, n, timer).await,
        Framing::Chunked => relay_chunked(client, &mut conn, &mut buf, out, timer).await,
        Framing::Close => {
            relay_to_close(client, &mut conn, &mut buf, out, timer).await;
            return Outcome::Close;
        }
    };
    if !ended {
        return Outcome::Close; // the answer is cut short: the browser must see it end
    }
    if keep_alive && buf.is_empty() {
        conn.release();
    }
    Outcome::KeepAlive
}

/// More upstream bytes into `buf`; false at the end, an error or the deadline.
async fn fill(conn: &mut Conn, buf: &mut BytesMut, timer: &mut Timer) -> bool {
    tokio::select! {
        biased;
        read = conn.stream.read_buf(buf) => matches!(read, Ok(n) if n > 0),
        () = timer.as_mut() => false,
    }
}

async fn relay_length(
    client: &mut TcpStream,
    conn: &mut Conn,
    buf: &mut BytesMut,
    mut out: Vec<u8>,
    mut left: u64,
    timer: &mut Timer,
) -> bool {
    loop {
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        out.extend_from_slice(&buf[..take]);
        buf.advance(take);
        left -= take as u64;
        if client.write_all(&out).await.is_err() {
            return false;
        }
        out.clear();
        if left == 0 {
            return true;
        }
        if !fill(conn, buf, timer).await {
            return false;
        }
    }
}

async fn relay_chunked(
    client: &mut TcpStream,
    conn: &mut Conn,
    buf: &mut BytesMut,
    mut out: Vec<u8>,
    timer: &mut Timer,
) -> bool {
    let mut chunks = Chunks::default();
    loop {
        let Ok(used) = chunks.feed(buf, &mut out) else {
            return false;
        };
        buf.advance(used);
        if client.write_all(&out).await.is_err() {
            return false;
        }
        out.clear();
        if chunks.done() {
            return true;
        }
        if !fill(conn, buf, timer).await {
            return false;
        }
    }
}

async fn relay_to_close(
    client: &mut TcpStream,
    conn: &mut Conn,
    buf: &mut BytesMut,
    mut out: Vec<u8>,
    timer: &mut Timer,
) {
    loop {
        out.extend_from_slice(buf);
        buf.clear();
        if client.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
        if !fill(conn, buf, timer).await {
            return;
        }
    }
}

/// Writes a generated answer (an error document) with its length and the `/api/*`
/// answer headers; counted as a request.
async fn answer(
    state: &SharedState,
    client: &mut TcpStream,
    response: Response,
    head_only: bool,
) -> Outcome {
    state.metrics.request();
    let (parts, body) = fast::finish(response).into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_ANSWER).await else {
        return Outcome::Close;
    };
    let mut headers: HeaderMap = parts.headers;
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut out = Vec::with_capacity(256 + body.len());
    wire::write_response_head(&mut out, parts.status, &headers);
    if !head_only {
        out.extend_from_slice(&body);
    }
    match client.write_all(&out).await {
        Ok(()) => Outcome::KeepAlive,
        Err(_) => Outcome::Close,
    }
}
