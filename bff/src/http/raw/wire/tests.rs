use super::*;

fn request(text: &str) -> Parsed<RequestHead> {
    parse_request(text.as_bytes())
}

fn is_other(parsed: Parsed<RequestHead>) -> bool {
    matches!(parsed, Parsed::Other)
}

#[test]
fn a_plain_get_is_taken() {
    let Parsed::Complete(head) = request(
        "GET /api/echo?a=1 HTTP/1.1\r\nHost: bff\r\nCookie: s=1\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\nGET /next",
    ) else {
        panic!("complete");
    };
    assert_eq!(head.method, Method::GET);
    assert_eq!(head.uri.path(), "/api/echo");
    assert_eq!(head.uri.query(), Some("a=1"));
    assert_eq!(head.headers.get_all("x-multi").iter().count(), 2);
    assert_eq!(head.len, "GET /api/echo?a=1 HTTP/1.1\r\nHost: bff\r\nCookie: s=1\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n".len());
    assert!(matches!(
        request("HEAD /api/x HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"),
        Parsed::Complete(_)
    ));
    assert!(matches!(
        request("GET /api/x HTTP/1.1\r\nHost: b"),
        Parsed::Partial
    ));
}

/// Everything with a body, a framing question or another protocol goes to hyper, which
/// answers it as it always did (RFC 9112 §6.3; request smuggling needs a framing field).
#[test]
fn anything_not_plain_goes_to_hyper() {
    for text in [
        "POST /api/x HTTP/1.1\r\n\r\n",
        "DELETE /api/x HTTP/1.1\r\n\r\n",
        "GET /api/x HTTP/1.0\r\n\r\n",
        "GET /auth/me HTTP/1.1\r\n\r\n",
        "GET /apix HTTP/1.1\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nConnection: close\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET /api/x HTTP/1.1\r\nBad Name: 1\r\n\r\n",
        "GET /api/x\u{0} HTTP/1.1\r\n\r\n",
        "GET http://evil/api/x HTTP/1.1\r\n\r\n",
        "get /api/x HTTP/1.1\r\n\r\n",
    ] {
        assert!(is_other(request(text)), "{text:?}");
    }
    // A NUL or a bare CR in a field value.
    assert!(is_other(parse_request(
        b"GET /api/x HTTP/1.1\r\nX: a\0b\r\n\r\n"
    )));
    assert!(is_other(parse_request(
        b"GET /api/x HTTP/1.1\r\nX: a\rb\r\n\r\n"
    )));
    // Too many fields, or a head that never ends within the limit.
    let many: String = (0..MAX_HEADERS + 1)
        .map(|i| format!("X-{i}: 1\r\n"))
        .collect();
    assert!(is_other(request(&format!(
        "GET /api/x HTTP/1.1\r\n{many}\r\n"
    ))));
    let huge = format!("GET /api/x HTTP/1.1\r\nX: {}", "a".repeat(MAX_REQUEST_HEAD));
    assert!(is_other(request(&huge)));
}

fn response(text: &str, head: bool) -> Result<Option<ResponseHead>, Malformed> {
    parse_response(text.as_bytes(), head, false)
}

fn framing(text: &str) -> (Framing, bool) {
    let r = response(text, false).expect("parses").expect("complete");
    (r.framing, r.keep_alive)
}

#[test]
fn response_framing_follows_rfc_9112_section_6_3() {
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
        (Framing::Length(5), true)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"),
        (Framing::Length(5), true)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        (Framing::Chunked, true)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
        (Framing::Chunked, false),
        "both: chunked wins, the connection is not reused"
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
        (Framing::Close, false)
    );
    assert_eq!(framing("HTTP/1.1 200 OK\r\n\r\n"), (Framing::Close, false));
    assert_eq!(
        framing("HTTP/1.1 204 No Content\r\n\r\n"),
        (Framing::Empty, true)
    );
    assert_eq!(
        framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
        (Framing::Empty, true)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n"),
        (Framing::Length(1), false)
    );
    assert_eq!(
        framing("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"),
        (Framing::Length(1), false)
    );
    let head = response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true)
        .expect("ok")
        .expect("complete");
    assert_eq!(head.framing, Framing::Empty, "a HEAD response has no body");
    // Interim responses are skipped.
    let r = response("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false)
        .expect("ok")
        .expect("complete");
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        !String::from_utf8_lossy(&r.head).contains("Link"),
        "interim fields dropped"
    );
    assert!(
        response("HTTP/1.1 200 OK\r\nContent-Le", false)
            .expect("ok")
            .is_none()
    );
}

#[test]
fn malformed_responses_are_refused() {
    for text in [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 99 Odd\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
    ] {
        assert!(response(text, false).is_err(), "{text:?}");
    }
    let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_RESPONSE_HEAD));
    assert!(response(&huge, false).is_err());
}

#[test]
fn the_browser_gets_the_rewritten_head() {
    let text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=b\r\nCONNECTION: x-hop\r\n\
                X-Hop: 1\r\nKeep-Alive: 5\r\nAccess-Control-Allow-Origin: *\r\nX-Content-Type-Options: none\r\n\
                Clear-Site-Data: \"*\"\r\nTransfer-Encoding: chunked\r\nVary: a\r\nVary: b\r\n\r\n";
    let r = response(text, false).expect("ok").expect("complete");
    assert_eq!(
        String::from_utf8(r.head).expect("utf-8"),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVary: a\r\nVary: b\r\nx-content-type-options: nosniff\r\n\
         cache-control: no-store\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let r = parse_response(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=5\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n", false, true)
        .expect("ok")
        .expect("complete");
    let head = String::from_utf8(r.head).expect("utf-8");
    assert!(
        head.contains("Access-Control-Allow-Origin: *\r\n"),
        "--pass-cors-headers: {head}"
    );
    assert!(
        head.contains("Cache-Control: max-age=5\r\n") && !head.contains("no-store"),
        "{head}"
    );
    let r = response("HTTP/1.1 200 OK\r\n\r\n", false)
        .expect("ok")
        .expect("complete");
    assert!(
        String::from_utf8_lossy(&r.head).contains("connection: close\r\n"),
        "close-delimited"
    );
}

#[test]
fn request_lines_name_the_target() {
    let mut out = Vec::new();
    let target: Uri = "http://up:8080/v1/x?q=1".parse().expect("uri");
    write_request_line(&mut out, &Method::GET, &target);
    write_field(&mut out, b"x-a", b"1");
    end_head(&mut out);
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "GET /v1/x?q=1 HTTP/1.1\r\nhost: up:8080\r\nx-a: 1\r\n\r\n"
    );
    let mut out = Vec::new();
    write_response_head(&mut out, StatusCode::NOT_FOUND, &HeaderMap::new());
    assert_eq!(out, b"HTTP/1.1 404 Not Found\r\n\r\n");
    assert!(is_field_value(b"Bearer abc.DEF-_~+/="));
    assert!(
        !is_field_value(b"a\r\nx: y")
            && !is_field_value(b"a\0")
            && !is_field_value("\u{e9}".as_bytes())
    );
}
