//! HTTP/1.1 framing over raw sockets: the smuggling matrix (one test per
//! case, pingora rstest-style), limits on the head, and keep-alive /
//! pipelining behaviour.
//!
//! Every case runs against its own server and ROOT (holding one file,
//! `f.txt`). An error must come as JSON `{"error","message"}` with
//! `Content-Type: application/json`; requests that could desynchronise the
//! connection must also close it; and no case may store anything.

mod common;

use std::time::Duration;

use common::*;

const F_TXT: &[u8] = b"0123456789";

#[derive(Clone, Copy, Debug)]
enum After {
    /// The server must close the connection after answering.
    Close,
    /// Either is fine.
    Any,
}

fn start_with_file() -> (TempDir, Server) {
    let root = TempDir::new("root");
    std::fs::write(root.join("f.txt"), F_TXT).unwrap();
    let server = Server::start(&root.path, &[]);
    (root, server)
}

/// Sends `template` (with `{host}` replaced) in one write and checks the first
/// response: `status`, JSON error body, closing if required, nothing stored.
fn run_case(name: &str, template: &str, status: u16, after: After) {
    let (root, server) = start_with_file();
    let request = template.replace("{host}", &server.host());
    let mut c = Conn::connect(server.addr);
    let _ = c.try_send(request.as_bytes());
    let r = c
        .try_read_response()
        .unwrap_or_else(|e| panic!("case {name}: no response: {e}\nrequest: {request:?}"));
    assert_ne!(
        r.status, 100,
        "case {name}: got `100 Continue` without asking for it"
    );
    assert_eq!(
        r.status,
        status,
        "case {name}: request {:?}\nresponse {r:?}\nbody {:?}",
        truncate(&request),
        r.body_str()
    );
    assert_json_error_body(&r);
    if let After::Close = after {
        assert!(
            c.wait_closed(Duration::from_secs(5)),
            "case {name}: connection left open after {status}; extra bytes {:?}",
            String::from_utf8_lossy(c.leftover())
        );
    }
    drop(c);
    let pid = server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &root.path).is_empty()),
        "case {name}: temp file still open"
    );
    assert_no_temp_files(&root.path, &["f.txt"]);
    assert_eq!(std::fs::read(root.join("f.txt")).unwrap(), F_TXT);
    assert!(
        server_is_alive(&server),
        "case {name}: server no longer answers"
    );
}

fn truncate(s: &str) -> String {
    if s.len() > 300 {
        format!("{}…({} bytes)", &s[..300], s.len())
    } else {
        s.to_string()
    }
}

macro_rules! framing_cases {
    ($($name:ident: $req:expr => $status:expr, $after:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name), &$req, $status, $after);
            }
        )*
    };
}

const PUT_HEAD: &str = "PUT /s.txt HTTP/1.1\r\nHost: {host}\r\n";
const CHUNKED_HEAD: &str =
    "PUT /s.txt HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n";

fn put_with(headers: &str, body: &str) -> String {
    format!("{PUT_HEAD}{headers}\r\n{body}")
}

fn chunked_with(body: &str) -> String {
    format!("{CHUNKED_HEAD}{body}")
}

fn long_request_line() -> String {
    format!(
        "GET /{} HTTP/1.1\r\nHost: {{host}}\r\n\r\n",
        "a".repeat(9 * 1024)
    )
}

fn huge_header_block() -> String {
    let mut s = String::from("GET /f.txt HTTP/1.1\r\nHost: {host}\r\n");
    for i in 0..40 {
        s.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(1000)));
    }
    s.push_str("\r\n");
    s
}

fn many_headers(total_fields: usize) -> String {
    // Host counts as one field
    let mut s = String::from("GET /f.txt HTTP/1.1\r\nHost: {host}\r\n");
    for i in 0..total_fields - 1 {
        s.push_str(&format!("X-H{i}: v\r\n"));
    }
    s.push_str("\r\n");
    s
}

framing_cases! {
    // RFC 9112 §6.1, §6.3: request smuggling vectors → 400 and close
    cl_with_te: put_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    te_with_cl: put_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    two_different_content_lengths: put_with("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!") => 400, After::Close;
    content_length_list_differing: put_with("Content-Length: 5, 6\r\n", "hello!") => 400, After::Close;
    content_length_not_a_number: put_with("Content-Length: abc\r\n", "hello") => 400, After::Close;
    content_length_negative: put_with("Content-Length: -5\r\n", "hello") => 400, After::Close;
    content_length_plus_sign: put_with("Content-Length: +5\r\n", "hello") => 400, After::Close;
    te_gzip_not_chunked: put_with("Transfer-Encoding: gzip\r\n", "hello") => 400, After::Close;
    te_chunked_then_gzip: put_with("Transfer-Encoding: chunked, gzip\r\n", "5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    te_two_headers_gzip_last: put_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", "5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    te_chunked_twice: put_with("Transfer-Encoding: chunked, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    obs_fold_space: put_with("X-Long: a\r\n b\r\nContent-Length: 5\r\n", "hello") => 400, After::Close;
    obs_fold_tab: put_with("X-Long: a\r\n\tb\r\nContent-Length: 5\r\n", "hello") => 400, After::Close;
    space_before_colon: put_with("Content-Length : 5\r\n", "hello") => 400, After::Close;
    // invalid chunk sizes (RFC 9112 §7.1: chunk-size = 1*HEXDIG)
    chunk_size_not_hex: chunked_with("zz\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_negative: chunked_with("-1\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_leading_space: chunked_with(" 5\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_trailing_space: chunked_with("5 \r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_empty: chunked_with("\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_17_hex_digits: chunked_with("10000000000000000\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_size_overflow: chunked_with("FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n") => 400, After::Close;
    chunk_data_without_crlf: chunked_with("5\r\nhelloXX0\r\n\r\n") => 400, After::Close;
    // a PUT needs a body length (RFC 9110 §8.6: 411 Length Required)
    put_without_length: "PUT /s.txt HTTP/1.1\r\nHost: {host}\r\n\r\n" => 411, After::Any;
    // Host rules (RFC 9112 §3.2)
    missing_host: "GET /f.txt HTTP/1.1\r\n\r\n" => 400, After::Any;
    two_hosts: "GET /f.txt HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\n\r\n" => 400, After::Any;
    // versions and limits
    http_2_0_version: "GET /f.txt HTTP/2.0\r\nHost: {host}\r\n\r\n" => 505, After::Any;
    request_line_over_8kib: long_request_line() => 414, After::Any;
    header_block_over_32kib: huge_header_block() => 431, After::Any;
    header_fields_101: many_headers(101) => 431, After::Any;
    expect_something_else: "GET /f.txt HTTP/1.1\r\nHost: {host}\r\nExpect: something-else\r\n\r\n" => 417, After::Any;
}

#[test]
fn header_fields_100_is_accepted() {
    let (_root, server) = start_with_file();
    let req = many_headers(100).replace("{host}", &server.host());
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    let r = c.read_response();
    assert_eq!(
        r.status,
        200,
        "100 header fields are within the limit: {:?}",
        r.body_str()
    );
    assert_eq!(r.body, F_TXT);
}

#[test]
fn pipelined_gets_are_answered_in_order() {
    let root = TempDir::new("root");
    std::fs::write(root.join("a.txt"), b"AAA").unwrap();
    std::fs::write(root.join("b.txt"), b"BBBBBB").unwrap();
    let server = Server::start(&root.path, &[]);
    let h = server.host();
    let req = format!(
        "GET /a.txt HTTP/1.1\r\nHost: {h}\r\n\r\n\
         GET /b.txt HTTP/1.1\r\nHost: {h}\r\n\r\n\
         GET /missing HTTP/1.1\r\nHost: {h}\r\n\r\n\
         GET /a.txt HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"
    );
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    let r1 = c.read_response();
    let r2 = c.read_response();
    let r3 = c.read_response();
    let r4 = c.read_response();
    assert_eq!((r1.status, r1.body.as_slice()), (200, &b"AAA"[..]));
    assert_eq!((r2.status, r2.body.as_slice()), (200, &b"BBBBBB"[..]));
    assert_json_error(&r3, 404);
    assert_eq!((r4.status, r4.body.as_slice()), (200, &b"AAA"[..]));
    assert!(
        c.wait_closed(Duration::from_secs(5)),
        "Connection: close not honoured"
    );
    assert!(
        c.leftover().is_empty(),
        "extra bytes: {:?}",
        String::from_utf8_lossy(c.leftover())
    );
}

#[test]
fn keep_alive_is_the_default_for_http_1_1() {
    let (_root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    for _ in 0..3 {
        c.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
        let r = c.read_response();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, F_TXT);
        assert!(
            !r.says_close(),
            "HTTP/1.1 response says Connection: close: {r:?}"
        );
    }
    // an error without a body does not end the connection either
    c.send(format!("GET /nope HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    assert_json_error(&c.read_response(), 404);
    c.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    assert_eq!(c.read_response().body, F_TXT);
}

#[test]
fn http_1_0_get_is_answered_and_closed() {
    let (_root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    c.send(b"GET /f.txt HTTP/1.0\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 200, "{:?}", r.body_str());
    assert_eq!(r.body, F_TXT);
    assert!(
        c.wait_closed(Duration::from_secs(5)),
        "HTTP/1.0 connection left open"
    );
}

#[test]
fn connection_close_is_honoured() {
    let (_root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "GET /f.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, F_TXT);
    assert!(
        c.wait_closed(Duration::from_secs(5)),
        "Connection: close not honoured"
    );
}

#[test]
fn put_then_pipelined_get_in_one_write() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let h = server.host();
    let req = format!(
        "PUT /p.txt HTTP/1.1\r\nHost: {h}\r\nContent-Length: 5\r\n\r\nhello\
         GET /p.txt HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"
    );
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    let r1 = c.read_response();
    assert_eq!(r1.status, 201, "{:?}", r1.body_str());
    let r2 = c.read_response();
    assert_eq!(r2.status, 200, "{:?}", r2.body_str());
    assert_eq!(r2.body, b"hello");
    assert!(c.wait_closed(Duration::from_secs(5)));
    assert_no_temp_files(&root.path, &["p.txt"]);
}

#[test]
fn head_then_get_pipelined() {
    let (_root, server) = start_with_file();
    let h = server.host();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "HEAD /f.txt HTTP/1.1\r\nHost: {h}\r\n\r\nGET /f.txt HTTP/1.1\r\nHost: {h}\r\n\r\n"
        )
        .as_bytes(),
    );
    let r1 = c.read_head_response();
    assert_eq!(r1.status, 200);
    assert_eq!(r1.header("content-length"), Some("10"));
    let r2 = c.read_response();
    assert_eq!(
        r2.status, 200,
        "HEAD response must carry no body: second response {r2:?}"
    );
    assert_eq!(r2.body, F_TXT);
}

#[test]
fn absolute_form_target_is_accepted() {
    let (_root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "GET http://{h}/f.txt HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n",
            h = server.host()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_eq!(r.status, 200, "{:?}", r.body_str());
    assert_eq!(r.body, F_TXT);
}

#[test]
fn error_with_unread_body_closes_the_connection() {
    let (root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    // upload into a missing directory: rejected on the head, body never read
    c.send(
        format!(
            "PUT /nodir/x.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let _ = c.try_send(&random_bytes(64 * 1024, 1));
    let r = c.read_response();
    assert_json_error(&r, 409);
    assert!(
        c.wait_closed(EVENT_DEADLINE),
        "connection kept open after an error with an unread body"
    );
    assert_no_temp_files(&root.path, &["f.txt"]);
}

#[test]
fn delete_without_allow_delete_is_405_with_allow() {
    let (root, server) = start_with_file();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "DELETE /f.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_json_error(&r, 405);
    let allow = r
        .header("allow")
        .unwrap_or_else(|| panic!("405 without an Allow header: {r:?}"));
    assert!(
        !allow.to_ascii_uppercase().contains("DELETE"),
        "Allow lists DELETE although it is disabled: {allow:?}"
    );
    assert!(
        allow.to_ascii_uppercase().contains("GET"),
        "Allow: {allow:?}"
    );
    assert_eq!(
        std::fs::read(root.join("f.txt")).unwrap(),
        F_TXT,
        "DELETE removed the file"
    );
}

#[test]
fn head_error_then_get_pipelined() {
    // A HEAD answer carries no body, errors included (RFC 9110 §9.3.2); a body
    // there would be read by a keep-alive client as the next response.
    let (_root, server) = start_with_file();
    let h = server.host();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "HEAD /missing HTTP/1.1\r\nHost: {h}\r\n\r\n\
             HEAD /../f.txt HTTP/1.1\r\nHost: {h}\r\n\r\n\
             GET /f.txt HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    let r1 = c.read_head_response();
    assert_eq!(r1.status, 404);
    let r2 = c
        .try_read_response_for(true, EVENT_DEADLINE)
        .unwrap_or_else(|e| panic!("second response unreadable after HEAD 404: {e}"));
    assert!(
        r2.status == 400 || r2.status == 403,
        "HEAD /../f.txt: {r2:?} (a 404 body read as a response?)"
    );
    match c.try_read_response() {
        Ok(r3) => {
            assert_eq!(r3.status, 200, "{r3:?}");
            assert_eq!(r3.body, F_TXT);
        }
        // closing after the traversal error is fine, if nothing else came
        Err(e) => assert!(
            c.is_eof() && c.leftover().is_empty(),
            "GET after two HEAD errors: {e}"
        ),
    }
    assert!(
        c.wait_closed(Duration::from_secs(5)),
        "extra bytes after the last response: {:?}",
        String::from_utf8_lossy(c.leftover())
    );
    assert!(
        c.leftover().is_empty(),
        "bytes after the last response: {:?}",
        String::from_utf8_lossy(c.leftover())
    );
}
