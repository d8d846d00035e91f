//! HTTP/1.1 on the wire for the raw lane: heads parsed with httparse (the parser hyper
//! itself uses) into `http` types, validated as hyper validates them, and written back.
//!
//! Only the plain case is taken ([`parse_request`] answers [`Parsed::Other`] for the rest,
//! and hyper serves it): HTTP/1.1, `GET` or `HEAD` under `/api/`, no body framing at all
//! (no `Content-Length`, no `Transfer-Encoding`: RFC 9112 §6.3 makes such a request's
//! body empty, so the next byte starts the next request and nothing can be smuggled),
//! no `Expect`, no `Upgrade`, no `Connection` other than `keep-alive`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};

use crate::proxy::headers;

/// Fields per head; more and hyper takes the request (its limit is 100).
pub const MAX_HEADERS: usize = 64;
/// Bytes of a request head the raw lane waits for; past it hyper takes over.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Bytes of an upstream response head; past it the exchange fails (502), as hyper's
/// client fails past its buffer.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

pub enum Parsed<T> {
    Complete(T),
    /// Not all of the head is here yet.
    Partial,
    /// Not for the raw lane: hyper decides (and answers any error).
    Other,
}

pub struct RequestHead {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// Bytes of the head, blank line included.
    pub len: usize,
}

pub fn parse_request(buf: &[u8]) -> Parsed<RequestHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_HEAD => return Parsed::Partial,
        _ => return Parsed::Other,
    };
    let method = match request.method {
        Some("GET") => Method::GET,
        Some("HEAD") => Method::HEAD,
        _ => return Parsed::Other,
    };
    let (Some(1), Some(path)) = (request.version, request.path) else {
        return Parsed::Other;
    };
    if !path.starts_with("/api/") {
        return Parsed::Other;
    }
    // As hyper parses the request-target.
    let Ok(uri) = Uri::from_maybe_shared(Bytes::copy_from_slice(path.as_bytes())) else {
        return Parsed::Other;
    };
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for field in request.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(field.name.as_bytes()),
            HeaderValue::from_bytes(field.value),
        ) else {
            return Parsed::Other;
        };
        let plain = match name {
            header::CONTENT_LENGTH | header::TRANSFER_ENCODING | header::EXPECT => false,
            header::UPGRADE => false,
            header::CONNECTION => value.as_bytes().eq_ignore_ascii_case(b"keep-alive"),
            _ => true,
        };
        if !plain {
            return Parsed::Other;
        }
        headers.append(name, value);
    }
    Parsed::Complete(RequestHead {
        method,
        uri,
        headers,
        len,
    })
}

/// How a response body ends (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a `HEAD` request, or 1xx/204/304.
    Empty,
    Length(u64),
    Chunked,
    /// Until the upstream closes.
    Close,
}

/// An upstream response head, already rewritten for the browser.
pub struct ResponseHead {
    pub status: StatusCode,
    /// Bytes of the upstream's head (1xx interim responses included).
    pub len: usize,
    pub framing: Framing,
    /// The upstream keeps the connection open after this response.
    pub keep_alive: bool,
    /// The head the browser gets: the browser-bound rules applied
    /// ([`headers::reaches_browser`]), `X-Content-Type-Options: nosniff`, `Cache-Control:
    /// no-store` unless the upstream set one, and the framing this relay writes.
    pub head: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed upstream response: {0}")]
pub struct Malformed(pub &'static str);

/// Parses the final response head at the start of `buf`, skipping any 1xx interim
/// responses before it (RFC 9110 §15.2). `Ok(None)`: not complete yet.
pub fn parse_response(
    buf: &[u8],
    head_only: bool,
    pass_cors: bool,
) -> Result<Option<ResponseHead>, Malformed> {
    let mut offset = 0;
    loop {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut fields);
        let len = match response.parse(&buf[offset..]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_HEAD => return Ok(None),
            Ok(httparse::Status::Partial) => return Err(Malformed("head too large")),
            Err(_) => return Err(Malformed("unparsable head")),
        };
        let code = response.code.ok_or(Malformed("no status"))?;
        let status = StatusCode::from_u16(code).map_err(|_| Malformed("bad status"))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Malformed("unrequested upgrade"));
        }
        if status.is_informational() {
            offset += len;
            continue;
        }
        let fields: &[httparse::Header<'_>] = response.headers;
        let values = |name: &'static str| {
            fields
                .iter()
                .filter(move |f| f.name.eq_ignore_ascii_case(name))
                .map(|f| f.value)
        };
        let mut keep_alive =
            response.version == Some(1) && !has_token(values("connection"), "close");
        let framing = if head_only
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            Framing::Empty
        } else if values("transfer-encoding").next().is_some() {
            // With both, Transfer-Encoding wins and the connection is not reused
            // (RFC 9112 §6.3 item 3).
            if values("content-length").next().is_some() {
                keep_alive = false;
            }
            if last_coding_is_chunked(values("transfer-encoding")) {
                Framing::Chunked
            } else {
                keep_alive = false;
                Framing::Close
            }
        } else {
            match content_length(values("content-length"))? {
                Some(n) => Framing::Length(n),
                None => {
                    keep_alive = false;
                    Framing::Close
                }
            }
        };
        let named = headers::connection_named(values("connection"));
        // Room for the body bytes already read, which follow the head in one write.
        let mut head = Vec::with_capacity(buf.len() + 128);
        write_status(&mut head, status);
        let mut cache_control = false;
        for field in fields {
            if !headers::reaches_browser(field.name, pass_cors, &named)
                || field.name.eq_ignore_ascii_case("x-content-type-options")
            {
                continue;
            }
            cache_control |= field.name.eq_ignore_ascii_case("cache-control");
            write_field(&mut head, field.name.as_bytes(), field.value);
        }
        write_field(&mut head, b"x-content-type-options", b"nosniff");
        if !cache_control {
            write_field(&mut head, b"cache-control", b"no-store");
        }
        match framing {
            Framing::Chunked => write_field(&mut head, b"transfer-encoding", b"chunked"),
            Framing::Close => write_field(&mut head, b"connection", b"close"),
            Framing::Empty | Framing::Length(_) => {}
        }
        head.extend_from_slice(b"\r\n");
        return Ok(Some(ResponseHead {
            status,
            len: offset + len,
            framing,
            keep_alive,
            head,
        }));
    }
}

fn tokens<'a>(values: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a str> {
    values
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

fn has_token<'a>(values: impl Iterator<Item = &'a [u8]>, token: &str) -> bool {
    tokens(values).any(|t| t.eq_ignore_ascii_case(token))
}

fn last_coding_is_chunked<'a>(values: impl Iterator<Item = &'a [u8]>) -> bool {
    tokens(values)
        .last()
        .is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
}

/// One value (repeated identically at most): differing values are refused (RFC 9112 §6.3
/// item 5).
fn content_length<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Option<u64>, Malformed> {
    let mut found = None;
    for value in values {
        let value = std::str::from_utf8(value).map_err(|_| Malformed("content-length"))?;
        for part in value.split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Malformed("content-length"));
            }
            let n: u64 = part.parse().map_err(|_| Malformed("content-length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(Malformed("conflicting content-length"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// What `HeaderValue::from_str` accepts: visible ASCII, space and tab.
pub fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// `METHOD path?query HTTP/1.1` and `Host` (the fields follow, then [`end_head`]).
pub fn write_request_line(out: &mut Vec<u8>, method: &Method, target: &Uri) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let path = target.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    if let Some(authority) = target.authority() {
        out.extend_from_slice(authority.as_str().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// The status line and `headers`, then the blank line.
pub fn write_response_head(out: &mut Vec<u8>, status: StatusCode, headers: &HeaderMap) {
    write_status(out, status);
    for (name, value) in headers {
        write_field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    end_head(out);
}

fn write_status(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

pub fn end_head(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
