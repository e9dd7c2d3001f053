//! `POST /dir/` multipart/form-data uploads through the real binary: curl
//! `-F`, hand-built bodies over raw sockets (one byte per write, chunked with
//! chunks that split the delimiter, `Expect: 100-continue`), client
//! disconnects, collision-free naming, filename sanitizing, every error the
//! SPEC names (with all-or-nothing checks), a full disk, and flat memory.
//!
//! Every stored file is checked by sha256 on disk and ROOT is checked for
//! leftovers (temporary or half-written files) after every request.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Cursor, Read};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use common::*;

/// The boundary of hand-built bodies (what a browser would send, roughly).
const BOUNDARY: &str = "----ringdropTestBoundary7MA4YWxkTrZu0gW";

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

// ---------------------------------------------------------------------------
// building multipart bodies
// ---------------------------------------------------------------------------

/// The header block of one part, starting with its dash-boundary line.
/// `disposition` is the text after `form-data; ` (e.g. `name="a"; filename="a.txt"`).
fn part_head(disposition: &str, first: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if !first {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    out
}

/// The close delimiter that ends a body.
fn closing() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// A multipart body built in memory (small bodies only).
struct Body {
    buf: Vec<u8>,
    parts: usize,
}

impl Body {
    fn new() -> Body {
        Body {
            buf: Vec::new(),
            parts: 0,
        }
    }

    /// A part with a raw `Content-Disposition` parameter list.
    fn part(mut self, disposition: &str, content: &[u8]) -> Body {
        self.buf
            .extend_from_slice(&part_head(disposition, self.parts == 0));
        self.buf.extend_from_slice(content);
        self.parts += 1;
        self
    }

    /// A part with fully custom header lines (each ending in CRLF).
    fn raw_part(mut self, header_lines: &str, content: &[u8]) -> Body {
        if self.parts > 0 {
            self.buf.extend_from_slice(b"\r\n");
        }
        self.buf
            .extend_from_slice(format!("--{BOUNDARY}\r\n{header_lines}\r\n").as_bytes());
        self.buf.extend_from_slice(content);
        self.parts += 1;
        self
    }

    fn file(self, field: &str, filename: &str, content: &[u8]) -> Body {
        self.part(
            &format!("name=\"{field}\"; filename=\"{filename}\""),
            content,
        )
    }

    fn field(self, field: &str, value: &[u8]) -> Body {
        self.part(&format!("name=\"{field}\""), value)
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&closing());
        self.buf
    }

    /// The body without its close delimiter (a truncated multipart body).
    fn unfinished(self) -> Vec<u8> {
        self.buf
    }
}

/// A streamed body: for each `(disposition, size, seed)` a part whose
/// content is `random_body_reader(size, seed)`, then the close delimiter.
/// Returns the reader and its exact length. Nothing is held in memory.
fn streamed_body(parts: &[(&str, u64, u64)]) -> (Box<dyn Read + Send>, u64) {
    let mut reader: Box<dyn Read + Send> = Box::new(io::empty());
    let mut len = 0u64;
    for (i, &(disposition, size, seed)) in parts.iter().enumerate() {
        let head = part_head(disposition, i == 0);
        len += head.len() as u64 + size;
        reader = Box::new(
            reader
                .chain(Cursor::new(head))
                .chain(random_body_reader(size, seed)),
        );
    }
    let tail = closing();
    len += tail.len() as u64;
    (Box::new(reader.chain(Cursor::new(tail))), len)
}

// ---------------------------------------------------------------------------
// sending
// ---------------------------------------------------------------------------

/// POSTs `body` (whose framing `headers` must declare) from a writer thread
/// while this thread reads the response, so an early answer is seen even if
/// the server stops reading. `Connection: close` is added.
fn post_streaming<R: Read + Send + 'static>(
    server: &Server,
    path: &str,
    headers: &str,
    body: R,
) -> Response {
    send_streaming(server, "POST", path, headers, body).0
}

/// POSTs an in-memory multipart body with Content-Length.
fn post_body(server: &Server, path: &str, body: Vec<u8>) -> Response {
    let headers = format!(
        "Content-Type: {}\r\nContent-Length: {}\r\n",
        content_type(),
        body.len()
    );
    post_streaming(server, path, &headers, Cursor::new(body))
}

/// POSTs a streamed multipart body (see [`streamed_body`]) with Content-Length.
fn post_streamed(server: &Server, path: &str, parts: &[(&str, u64, u64)]) -> Response {
    let (reader, len) = streamed_body(parts);
    let headers = format!(
        "Content-Type: {}\r\nContent-Length: {len}\r\n",
        content_type()
    );
    post_streaming(server, path, &headers, reader)
}

// ---------------------------------------------------------------------------
// checking
// ---------------------------------------------------------------------------

/// `(name, path, size)` of each entry of `{"files":[...]}`, in order.
fn files_of(j: &Json) -> Vec<(String, String, u64)> {
    let files = j
        .get("files")
        .and_then(Json::as_array)
        .unwrap_or_else(|| panic!("no \"files\" array in {j:?}"));
    files
        .iter()
        .map(|f| {
            let name = f.get("name").and_then(Json::as_str);
            let path = f.get("path").and_then(Json::as_str);
            let size = f.get("size").and_then(Json::as_u64);
            match (name, path, size) {
                (Some(n), Some(p), Some(s)) => (n.to_string(), p.to_string(), s),
                _ => panic!("file entry lacks name/path/size: {f:?}"),
            }
        })
        .collect()
}

/// Asserts a 201 whose `files` are exactly `want` (`(name, path, size)`, in order).
fn assert_created(resp: &Response, want: &[(&str, &str, u64)]) {
    assert_eq!(
        resp.status,
        201,
        "want 201; response {resp:?} body {:?}",
        resp.body_str()
    );
    let got = files_of(&resp.json());
    // `path` may encode more than needed (`(` as `%28`): compare it decoded,
    // and require that it is a valid link (ASCII, no space, no `?`/`#`)
    let decoded = |p: &str| String::from_utf8_lossy(&percent_decode(p)).into_owned();
    let got_cmp: Vec<(String, String, u64)> = got
        .iter()
        .map(|(n, p, s)| (n.clone(), decoded(p), *s))
        .collect();
    let want: Vec<(String, String, u64)> = want
        .iter()
        .map(|&(n, p, s)| (n.to_string(), decoded(p), s))
        .collect();
    assert_eq!(got_cmp, want, "files in the 201 body: {}", resp.body_str());
    for (_, p, _) in &got {
        assert!(
            p.starts_with('/')
                && p.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'),
            "path {p:?} is not percent-encoded as in a link: {}",
            resp.body_str()
        );
    }
}

/// Waits until the server holds no unlinked temp file under ROOT, i.e. it is
/// finished with every upload it had in flight.
fn wait_uploads_settled(server: &Server) {
    let pid = server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &server.root).is_empty()),
        "server still holds temp files: {:?}",
        tmpfile_fds(pid, &server.root)
    );
}

/// After a failed request: the server let go of its temp files and ROOT
/// holds exactly `expected` (so no stored part and no temp file).
fn assert_nothing_stored(server: &Server, expected: &[&str]) {
    wait_uploads_settled(server);
    assert_no_temp_files(&server.root, expected);
}

fn make_dir(root: &TempDir, rel: &str) {
    fs::create_dir_all(root.join(rel)).unwrap();
}

// ---------------------------------------------------------------------------
// happy paths
// ---------------------------------------------------------------------------

#[test]
fn curl_two_files_and_a_field_are_stored_in_part_order() {
    let src = TempDir::new("src");
    let root = TempDir::new("root");
    make_dir(&root, "dir");
    let f1 = src.join("first.bin");
    let f2 = src.join("second.bin");
    let h1 = write_random_file(&f1, 3 * MIB, 101);
    let h2 = write_random_file(&f2, 40 * MIB, 102);
    let server = Server::start(&root.path, &[]);

    let a = format!("a=@{}", f1.display());
    let b = format!("b=@{}", f2.display());
    let r = curl_capture(&[
        "-F",
        &a,
        "-F",
        &b,
        "-F",
        "field=value",
        &server.url("/dir/"),
    ]);
    assert!(r.exit.success(), "curl failed: {}", r.stderr);
    assert_eq!(
        r.status,
        201,
        "headers: {}\nbody: {:?}",
        r.headers,
        String::from_utf8_lossy(&r.body)
    );
    let got = files_of(&r.json());
    assert_eq!(
        got,
        vec![
            (
                "first.bin".to_string(),
                "/dir/first.bin".to_string(),
                3 * MIB
            ),
            (
                "second.bin".to_string(),
                "/dir/second.bin".to_string(),
                40 * MIB
            ),
        ],
        "files in the 201 body: {:?}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(sha256_file(&root.join("dir/first.bin")), h1);
    assert_eq!(sha256_file(&root.join("dir/second.bin")), h2);
    // the field stored nothing
    assert_no_temp_files(&root.path, &["dir/", "dir/first.bin", "dir/second.bin"]);
}

/// Content that contains near-misses of the delimiter.
fn tricky_content(len: usize, seed: u64) -> Vec<u8> {
    let mut v = random_bytes(len, seed);
    let near = format!("\r\n--{}", &BOUNDARY[..BOUNDARY.len() - 1]);
    let at = len / 3;
    v[at..at + near.len()].copy_from_slice(near.as_bytes());
    let cr = b"\r\n--\r\n\r\r\n-";
    let at = len / 2;
    v[at..at + cr.len()].copy_from_slice(cr);
    v
}

#[test]
fn one_byte_per_write_body_is_stored_exactly() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let c1 = tricky_content(1500, 201);
    let c2 = tricky_content(900, 202);
    let body = Body::new()
        .field("comment", b"hello, one byte at a time")
        .file("f1", "one.bin", &c1)
        .file("f2", "two.bin", &c2)
        .finish();
    assert!((2048..=5120).contains(&body.len()), "{}", body.len());

    let mut c = Conn::connect(server.addr);
    c.stream.set_nodelay(true).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.host(),
        content_type(),
        body.len()
    );
    for b in head.as_bytes().iter().chain(body.iter()) {
        c.send(std::slice::from_ref(b));
    }
    let r = c.read_response();
    assert_created(
        &r,
        &[("one.bin", "/one.bin", 1500), ("two.bin", "/two.bin", 900)],
    );
    assert_eq!(fs::read(root.join("one.bin")).unwrap(), c1);
    assert_eq!(fs::read(root.join("two.bin")).unwrap(), c2);
    assert_no_temp_files(&root.path, &["one.bin", "two.bin"]);
}

#[test]
fn chunked_body_with_chunks_splitting_the_delimiter() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let c1 = tricky_content(20_000, 301);
    let c2 = tricky_content(5_000, 302);
    let body = Body::new()
        .file("f1", "c1.bin", &c1)
        .field("note", b"between the files")
        .file("f2", "c2.bin", &c2)
        .finish();
    let sizes = [1, 3, 5, 7, 11, 13, 17, 19, 23];
    let (chunked, cuts) = chunk_with_sizes(&body, &sizes);
    // every delimiter in the body is split by at least one chunk boundary
    let delim = format!("\r\n--{BOUNDARY}");
    let mut delimiters = 0;
    for (at, w) in body.windows(delim.len()).enumerate() {
        if w == delim.as_bytes() {
            delimiters += 1;
            assert!(
                cuts.iter().any(|&c| c > at && c < at + delim.len()),
                "delimiter at {at} not split by a chunk boundary"
            );
        }
    }
    assert_eq!(delimiters, 3);

    let headers = format!(
        "Content-Type: {}\r\nTransfer-Encoding: chunked\r\n",
        content_type()
    );
    let r = post_streaming(&server, "/", &headers, Cursor::new(chunked));
    assert_created(
        &r,
        &[("c1.bin", "/c1.bin", 20_000), ("c2.bin", "/c2.bin", 5_000)],
    );
    assert_eq!(fs::read(root.join("c1.bin")).unwrap(), c1);
    assert_eq!(fs::read(root.join("c2.bin")).unwrap(), c2);

    // a larger streamed body, in odd-sized chunks that straddle buffer edges
    let (reader, _) = streamed_body(&[
        ("name=\"big\"; filename=\"big.bin\"", 5 * MIB + 77, 303),
        ("name=\"small\"; filename=\"small.bin\"", 4099, 304),
    ]);
    let r = post_streaming(&server, "/", &headers, ChunkedReader::new(reader, 99_991));
    assert_created(
        &r,
        &[
            ("big.bin", "/big.bin", 5 * MIB + 77),
            ("small.bin", "/small.bin", 4099),
        ],
    );
    assert_eq!(
        sha256_file(&root.join("big.bin")),
        random_sha256(5 * MIB + 77, 303)
    );
    assert_eq!(
        sha256_file(&root.join("small.bin")),
        random_sha256(4099, 304)
    );
    assert_no_temp_files(&root.path, &["big.bin", "c1.bin", "c2.bin", "small.bin"]);
}

#[test]
fn expect_100_continue_then_201() {
    let root = TempDir::new("root");
    make_dir(&root, "up");
    let server = Server::start(&root.path, &[]);
    let content = random_bytes(300_000, 401);
    let body = Body::new()
        .file("f", "e.bin", &content)
        .field("x", b"y")
        .finish();

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST /up/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n",
            server.host(),
            content_type(),
            body.len()
        )
        .as_bytes(),
    );
    let interim = c.read_response();
    assert_eq!(
        interim.status, 100,
        "want 100 Continue before the body: {interim:?}"
    );
    c.send(&body);
    let r = c.read_response();
    assert_created(&r, &[("e.bin", "/up/e.bin", 300_000)]);
    assert_eq!(fs::read(root.join("up/e.bin")).unwrap(), content);

    // a missing directory is refused before `100 Continue`
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST /nodir/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n",
            server.host(),
            content_type(),
            body.len()
        )
        .as_bytes(),
    );
    let r = c.read_response();
    assert_json_error(&r, 404);
    assert_no_temp_files(&root.path, &["up/", "up/e.bin"]);
}

#[test]
fn only_fields_answers_201_with_no_files() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let body = Body::new()
        .field("a", b"1")
        .field("b", &random_bytes(100_000, 501))
        .finish();
    let r = post_body(&server, "/", body);
    assert_created(&r, &[]);
    assert_eq!(
        r.body_str().replace([' ', '\n'], ""),
        "{\"files\":[]}",
        "exact body"
    );
    assert_no_temp_files(&root.path, &[]);
}

// ---------------------------------------------------------------------------
// disconnects
// ---------------------------------------------------------------------------

#[test]
fn disconnect_in_the_second_file_leaves_nothing() {
    let root = TempDir::new("root");
    make_dir(&root, "dir");
    let server = Server::start(&root.path, &[]);
    let pid = server.pid();

    let head1 = part_head("name=\"a\"; filename=\"first.bin\"", true);
    let head2 = part_head("name=\"b\"; filename=\"second.bin\"", false);
    let tail = closing();
    let declared = head1.len() as u64 + 8 * MIB + head2.len() as u64 + 32 * MIB + tail.len() as u64;

    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST /dir/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {declared}\r\n\r\n",
            server.host(),
            content_type()
        )
        .as_bytes(),
    );
    c.send(&head1);
    io::copy(&mut random_body_reader(8 * MIB, 601), &mut c.stream).unwrap();
    c.send(&head2);
    io::copy(&mut random_body_reader(8 * MIB, 602), &mut c.stream).unwrap();

    // the event "the first file is complete and the second in flight": the
    // server holds two staged (unlinked) files under ROOT
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &root.path).len() >= 2),
        "server never held two staged files; it holds {:?}",
        tmpfile_fds(pid, &root.path)
    );
    // nothing is visible while in flight
    assert_no_temp_files(&root.path, &["dir/"]);

    let _ = c.stream.shutdown(Shutdown::Both);
    drop(c);

    wait_uploads_settled(&server);
    // the access-log line (if any) marks the end of the request
    server.wait_for_stderr(Duration::from_secs(5), |l| l.contains("POST /dir/"));
    assert_no_temp_files(&root.path, &["dir/"]);
    assert!(
        server_is_alive(&server),
        "server not answering after an aborted upload"
    );

    // and the same upload, complete, works
    let r = post_streamed(
        &server,
        "/dir/",
        &[
            ("name=\"a\"; filename=\"first.bin\"", MIB, 603),
            ("name=\"b\"; filename=\"second.bin\"", MIB, 604),
        ],
    );
    assert_created(
        &r,
        &[
            ("first.bin", "/dir/first.bin", MIB),
            ("second.bin", "/dir/second.bin", MIB),
        ],
    );
    assert_eq!(
        sha256_file(&root.join("dir/second.bin")),
        random_sha256(MIB, 604)
    );
    assert_no_temp_files(&root.path, &["dir/", "dir/first.bin", "dir/second.bin"]);
}

// ---------------------------------------------------------------------------
// collisions
// ---------------------------------------------------------------------------

#[test]
fn collisions_get_numbered_suffixes_before_the_extension() {
    let root = TempDir::new("root");
    make_dir(&root, "c");
    let server = Server::start(&root.path, &[]);

    // a.txt three times, each with its own content
    let want = ["a.txt", "a (1).txt", "a (2).txt"];
    for (i, name) in want.iter().enumerate() {
        let content = format!("version {i}");
        let r = post_body(
            &server,
            "/c/",
            Body::new().file("f", "a.txt", content.as_bytes()).finish(),
        );
        let path = format!("/c/{}", name.replace(' ', "%20"));
        assert_created(&r, &[(name, &path, content.len() as u64)]);
        assert_eq!(
            fs::read(root.join(&format!("c/{name}"))).unwrap(),
            content.as_bytes()
        );
    }

    for (upload, second) in [
        ("archive.tar.gz", "archive.tar (1).gz"),
        ("README", "README (1)"),
        (".env", ".env (1)"),
    ] {
        for (i, expect) in [upload, second].iter().enumerate() {
            let content = format!("{upload} #{i}");
            let r = post_body(
                &server,
                "/c/",
                Body::new().file("f", upload, content.as_bytes()).finish(),
            );
            let path = format!("/c/{}", expect.replace(' ', "%20"));
            assert_created(&r, &[(expect, &path, content.len() as u64)]);
            assert_eq!(
                fs::read(root.join(&format!("c/{expect}"))).unwrap(),
                content.as_bytes()
            );
        }
    }

    // two parts of one request with the same name: numbered in part order
    let r = post_body(
        &server,
        "/c/",
        Body::new()
            .file("f", "dup.txt", b"first part")
            .file("g", "dup.txt", b"second part")
            .finish(),
    );
    assert_created(
        &r,
        &[
            ("dup.txt", "/c/dup.txt", 10),
            ("dup (1).txt", "/c/dup%20(1).txt", 11),
        ],
    );
    assert_eq!(fs::read(root.join("c/dup.txt")).unwrap(), b"first part");
    assert_eq!(
        fs::read(root.join("c/dup (1).txt")).unwrap(),
        b"second part"
    );

    assert_no_temp_files(
        &root.path,
        &[
            "c/",
            "c/a.txt",
            "c/a (1).txt",
            "c/a (2).txt",
            "c/archive.tar.gz",
            "c/archive.tar (1).gz",
            "c/README",
            "c/README (1)",
            "c/.env",
            "c/.env (1)",
            "c/dup.txt",
            "c/dup (1).txt",
        ],
    );
}

#[test]
fn eight_concurrent_posts_of_one_name_never_overwrite() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    const N: u64 = 8;
    let size = 2 * MIB;

    let results: Vec<(String, String)> = thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let r = post_streamed(
                        server,
                        "/",
                        &[("name=\"f\"; filename=\"same.bin\"", size, 700 + i)],
                    );
                    assert_eq!(r.status, 201, "upload {i}: {:?}", r.body_str());
                    let files = files_of(&r.json());
                    assert_eq!(files.len(), 1, "upload {i}: {:?}", r.body_str());
                    assert_eq!(files[0].2, size);
                    (files[0].0.clone(), random_sha256(size, 700 + i))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let names: BTreeSet<String> = results.iter().map(|(n, _)| n.clone()).collect();
    let mut want_names: BTreeSet<String> = (1..N).map(|n| format!("same ({n}).bin")).collect();
    want_names.insert("same.bin".to_string());
    assert_eq!(names, want_names, "names given: {results:?}");

    // each response names the file that holds that request's bytes
    for (name, sha) in &results {
        assert_eq!(
            &sha256_file(&root.join(name)),
            sha,
            "{name} does not hold the content of the request it was reported to"
        );
    }
    // hash set equality over what is on disk
    let on_disk: BTreeSet<String> = want_names
        .iter()
        .map(|n| sha256_file(&root.join(n)))
        .collect();
    let sent: BTreeSet<String> = (0..N).map(|i| random_sha256(size, 700 + i)).collect();
    assert_eq!(on_disk, sent);
    let expected: Vec<&str> = want_names.iter().map(String::as_str).collect();
    assert_no_temp_files(&root.path, &expected);
}

// ---------------------------------------------------------------------------
// names
// ---------------------------------------------------------------------------

#[test]
fn windows_fakepath_keeps_only_the_last_component() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    // quoted with escaped backslashes, as curl sends it
    let r = post_body(
        &server,
        "/",
        Body::new()
            .file("f", "C:\\\\fakepath\\\\x.txt", b"escaped")
            .finish(),
    );
    assert_created(&r, &[("x.txt", "/x.txt", 7)]);
    assert_eq!(fs::read(root.join("x.txt")).unwrap(), b"escaped");

    // single backslashes, as a browser sends them (a backslash escapes only `"` and `\`)
    let r = post_body(
        &server,
        "/",
        Body::new()
            .file("f", "C:\\fakepath\\y.txt", b"plain")
            .finish(),
    );
    assert_created(&r, &[("y.txt", "/y.txt", 5)]);
    assert_eq!(fs::read(root.join("y.txt")).unwrap(), b"plain");
    assert_no_temp_files(&root.path, &["x.txt", "y.txt"]);
}

#[test]
fn control_characters_are_dropped_and_escaped_quotes_kept() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    for (raw, want) in [
        // C0 (tab, 0x01), DEL and C1 (U+0085) are dropped
        ("a\tb\u{85}c.txt", "abc.txt"),
        // in a quoted filename a backslash escapes `"`
        ("say \\\"hi\\\".txt", "say \"hi\".txt"),
        // Unicode is kept byte for byte
        ("日本語 ファイル.txt", "日本語 ファイル.txt"),
    ] {
        let r = post_body(
            &server,
            "/",
            Body::new().file("f", raw, want.as_bytes()).finish(),
        );
        assert_eq!(r.status, 201, "{raw:?}: {:?}", r.body_str());
        let files = files_of(&r.json());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, want, "filename {raw:?}");
        assert_eq!(fs::read(root.join(want)).unwrap(), want.as_bytes());
    }
    // controls that HTTP forbids raw in a header value (0x01, DEL) arrive
    // percent-encoded in `filename*`, and are dropped from there too
    let r = post_body(
        &server,
        "/",
        Body::new()
            .part(
                "name=\"f\"; filename*=UTF-8''a%01b%09c%7Fd%C2%85e.txt",
                b"abcde",
            )
            .finish(),
    );
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    let files = files_of(&r.json());
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "abcde.txt");
    assert_eq!(fs::read(root.join("abcde.txt")).unwrap(), b"abcde");
    assert_no_temp_files(
        &root.path,
        &[
            "abc.txt",
            "abcde.txt",
            "say \"hi\".txt",
            "日本語 ファイル.txt",
        ],
    );
}

#[test]
fn rfc5987_filename_star_is_decoded_and_path_is_percent_encoded() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let body = Body::new()
        .part(
            "name=\"f\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
            b"euro rates",
        )
        .finish();
    let r = post_body(&server, "/", body);
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    let files = files_of(&r.json());
    assert_eq!(files.len(), 1, "{:?}", r.body_str());
    let (name, path, size) = &files[0];
    assert_eq!(name, "€ rates.txt");
    assert_eq!(*size, 10);
    assert!(
        path.eq_ignore_ascii_case("/%E2%82%AC%20rates.txt"),
        "path {path:?}, want /%E2%82%AC%20rates.txt"
    );
    assert_eq!(percent_decode(path), "/€ rates.txt".as_bytes());
    assert_eq!(fs::read(root.join("€ rates.txt")).unwrap(), b"euro rates");
    // and the path from the response downloads the file
    let g = get(&server, path, "");
    assert_eq!(g.status, 200);
    assert_eq!(g.body, b"euro rates");
    assert_no_temp_files(&root.path, &["€ rates.txt"]);
}

#[test]
fn long_names_are_truncated_keeping_the_extension() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    let ascii = format!("{}.txt", "n".repeat(296));
    let multibyte = format!("{}.txt", "é".repeat(148)); // 296 bytes + .txt
    assert_eq!(ascii.len(), 300);
    assert_eq!(multibyte.len(), 300);

    let mut stored = Vec::new();
    for (label, long) in [("ascii", &ascii), ("multibyte", &multibyte)] {
        // twice: the collision suffix must fit in the 255 bytes too
        for round in 0..2 {
            let content = format!("{label} {round}");
            let r = post_body(
                &server,
                "/",
                Body::new().file("f", long, content.as_bytes()).finish(),
            );
            assert_eq!(r.status, 201, "{label} {round}: {:?}", r.body_str());
            let files = files_of(&r.json());
            assert_eq!(files.len(), 1);
            let name = files[0].0.clone();
            assert!(
                name.len() <= 255,
                "{label} {round}: stored name is {} bytes: {name:?}",
                name.len()
            );
            assert!(name.ends_with(".txt"), "{label}: extension lost: {name:?}");
            let first = long.chars().next().unwrap();
            assert!(name.starts_with(first), "{label}: stem lost: {name:?}");
            if round == 1 {
                assert!(
                    name.ends_with(" (1).txt"),
                    "{label}: second upload not suffixed: {name:?}"
                );
            } else {
                assert!(
                    name.len() >= 250,
                    "{label}: truncated more than needed: {} bytes",
                    name.len()
                );
            }
            // valid UTF-8 (no split character) is implied by the JSON string
            // and by the name existing on disk under exactly these bytes
            assert_eq!(
                fs::read(root.join(&name)).unwrap(),
                content.as_bytes(),
                "{label} {round}"
            );
            assert!(
                percent_decode(&files[0].1) == format!("/{name}").as_bytes(),
                "path {:?} does not encode {name:?}",
                files[0].1
            );
            stored.push(name);
        }
    }
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), 4, "{stored:?}");
    let expected: Vec<&str> = stored.iter().map(String::as_str).collect();
    assert_no_temp_files(&root.path, &expected);
}

#[test]
fn traversal_in_filename_is_reduced_to_the_last_component() {
    let root = TempDir::new("root");
    make_dir(&root, "dir");
    let server = Server::start(&root.path, &[]);
    let r = post_body(
        &server,
        "/dir/",
        Body::new()
            .file("f", "../../etc/passwd", b"not really")
            .finish(),
    );
    assert_created(&r, &[("passwd", "/dir/passwd", 10)]);
    assert_eq!(fs::read(root.join("dir/passwd")).unwrap(), b"not really");
    assert_no_temp_files(&root.path, &["dir/", "dir/passwd"]);
}

#[test]
fn dot_dot_filename_is_400_and_stores_nothing() {
    let root = TempDir::new("root");
    make_dir(&root, "dir");
    let server = Server::start(&root.path, &[]);
    for bad in ["..", ".", "x/..", "..\\\\..", "a\\\\."] {
        // an earlier valid part of the same request must not be stored either
        let r = post_body(
            &server,
            "/dir/",
            Body::new()
                .file("ok", "good.txt", b"valid part first")
                .file("bad", bad, b"whatever")
                .finish(),
        );
        assert_json_error(&r, 400);
        assert_nothing_stored(&server, &["dir/"]);
    }
    assert!(server_is_alive(&server));
}

#[test]
fn empty_filename_part_is_skipped_like_a_field() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let r = post_body(
        &server,
        "/",
        Body::new()
            .file("unused", "", b"")
            .file("also-unused", "", b"bytes of an empty-named part")
            .file("used", "kept.txt", b"kept")
            .finish(),
    );
    assert_created(&r, &[("kept.txt", "/kept.txt", 4)]);
    assert_eq!(fs::read(root.join("kept.txt")).unwrap(), b"kept");
    assert_no_temp_files(&root.path, &["kept.txt"]);
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

#[test]
fn post_to_a_missing_directory_is_404() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let r = post_body(
        &server,
        "/nodir/",
        Body::new().file("f", "x.txt", b"data").finish(),
    );
    assert_json_error(&r, 404);
    assert_nothing_stored(&server, &[]);
}

#[test]
fn wrong_content_type_is_415_and_missing_boundary_is_400() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let body = Body::new().file("f", "x.txt", b"data").finish();
    for (ct, status) in [
        ("text/plain".to_string(), 415),
        ("application/x-www-form-urlencoded".to_string(), 415),
        ("multipart/form-data".to_string(), 400),
        ("multipart/form-data; charset=utf-8".to_string(), 400),
        ("multipart/form-data; boundary=".to_string(), 400),
    ] {
        let headers = format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", body.len());
        let r = post_streaming(&server, "/", &headers, Cursor::new(body.clone()));
        assert_eq!(
            r.status,
            status,
            "Content-Type: {ct}: {r:?} {:?}",
            r.body_str()
        );
        assert_json_error_body(&r);
        assert_nothing_stored(&server, &[]);
    }
}

#[test]
fn body_without_close_delimiter_is_400_and_stores_nothing() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let ends = [
        // ends inside the content of the second file
        Body::new()
            .file("a", "a.txt", b"complete first file")
            .file("b", "b.txt", b"cut off mid-con")
            .unfinished(),
        // ends right after a delimiter line
        {
            let mut b = Body::new()
                .file("a", "a.txt", b"complete first file")
                .unfinished();
            b.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
            b
        },
    ];
    for body in ends {
        // Content-Length matches what is sent: the HTTP body is complete,
        // the multipart body is not; then the client half-closes
        let mut c = Conn::connect(server.addr);
        c.send(
            format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                server.host(),
                content_type(),
                body.len()
            )
            .as_bytes(),
        );
        c.send(&body);
        c.shutdown_write();
        let r = c.read_response();
        assert_json_error(&r, 400);
        assert_nothing_stored(&server, &[]);
    }

    // the same, chunked
    let body = Body::new()
        .file("a", "a.txt", b"complete first file")
        .file("b", "b.txt", b"cut off")
        .unfinished();
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.host(),
            content_type()
        )
        .as_bytes(),
    );
    c.send(&chunked_body(&body, 10));
    c.shutdown_write();
    let r = c.read_response();
    assert_json_error(&r, 400);
    assert_nothing_stored(&server, &[]);
    assert!(server_is_alive(&server));
}

#[test]
fn part_headers_over_8k_are_rejected_and_store_nothing() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let pad = "p".repeat(9 * 1024);
    let body = Body::new()
        .file("ok", "small.txt", b"a valid file before the bad part")
        .raw_part(
            &format!(
                "Content-Disposition: form-data; name=\"big\"; filename=\"big.txt\"\r\nX-Pad: {pad}\r\n"
            ),
            b"content",
        )
        .finish();
    let r = post_body(&server, "/", body);
    assert!(
        matches!(r.status, 431 | 400),
        "want 431 (or 400), got {r:?} {:?}",
        r.body_str()
    );
    assert_json_error_body(&r);
    assert_nothing_stored(&server, &[]);

    // just under the limit is fine
    let pad = "p".repeat(7 * 1024);
    let body = Body::new()
        .raw_part(
            &format!(
                "Content-Disposition: form-data; name=\"f\"; filename=\"fits.txt\"\r\nX-Pad: {pad}\r\n"
            ),
            b"fits",
        )
        .finish();
    let r = post_body(&server, "/", body);
    assert_created(&r, &[("fits.txt", "/fits.txt", 4)]);
    assert_no_temp_files(&root.path, &["fits.txt"]);
}

#[test]
fn file_over_max_file_size_is_413_and_the_whole_request_stores_nothing() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--max-file-size", "1M"]);

    // an earlier small valid file, then one over the limit
    let r = post_streamed(
        &server,
        "/",
        &[
            ("name=\"a\"; filename=\"small.bin\"", 10 * KIB, 801),
            ("name=\"b\"; filename=\"big.bin\"", 2 * MIB, 802),
        ],
    );
    assert_json_error(&r, 413);
    assert_nothing_stored(&server, &[]);

    // one byte over
    let r = post_streamed(
        &server,
        "/",
        &[("name=\"b\"; filename=\"over.bin\"", MIB + 1, 803)],
    );
    assert_json_error(&r, 413);
    assert_nothing_stored(&server, &[]);

    // exactly the limit is accepted
    let r = post_streamed(
        &server,
        "/",
        &[("name=\"b\"; filename=\"exact.bin\"", MIB, 804)],
    );
    assert_created(&r, &[("exact.bin", "/exact.bin", MIB)]);
    assert_eq!(
        sha256_file(&root.join("exact.bin")),
        random_sha256(MIB, 804)
    );
    assert_no_temp_files(&root.path, &["exact.bin"]);
}

#[test]
fn error_is_answered_as_soon_as_found_not_after_the_body() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let bad_heads = [
        // a complete header block without Content-Disposition
        format!("--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nsome content"),
        // a header line that is not a header
        format!("--{BOUNDARY}\r\nthis is not a header line\r\n\r\nsome content"),
        // a delimiter followed by garbage
        format!("--{BOUNDARY}garbage\r\n"),
    ];
    for bad in bad_heads {
        let mut c = Conn::connect(server.addr);
        // declares 64 MiB, sends only the bad start, keeps the socket open
        c.send(
            format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{bad}",
                server.host(),
                content_type(),
                64 * MIB
            )
            .as_bytes(),
        );
        let r = c
            .try_read_response_for(false, EVENT_DEADLINE)
            .unwrap_or_else(|e| {
                panic!("no response while the rest of the body is outstanding ({bad:?}): {e}")
            });
        assert_json_error(&r, 400);
        drop(c);
        assert_nothing_stored(&server, &[]);
    }

    // the same for a too-long part header block: answered once 8 KiB are
    // exceeded, without the rest of the body
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\nX-Pad: {}",
            server.host(),
            content_type(),
            64 * MIB,
            "p".repeat(12 * 1024)
        )
        .as_bytes(),
    );
    let r = c
        .try_read_response_for(false, EVENT_DEADLINE)
        .unwrap_or_else(|e| panic!("no response to over-long part headers: {e}"));
    assert!(matches!(r.status, 431 | 400), "{r:?} {:?}", r.body_str());
    drop(c);
    assert_nothing_stored(&server, &[]);
    assert!(server_is_alive(&server));
}

#[test]
fn part_file_field_and_preamble_limits() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);

    // 100 files are allowed
    let mut body = Body::new();
    for i in 0..100 {
        body = body.file("f", &format!("f{i:03}.txt"), format!("file {i}").as_bytes());
    }
    let r = post_body(&server, "/", body.finish());
    assert_eq!(r.status, 201, "100 files: {:?}", r.body_str());
    assert_eq!(files_of(&r.json()).len(), 100);
    let hundred: Vec<String> = (0..100).map(|i| format!("f{i:03}.txt")).collect();
    let expected: Vec<&str> = hundred.iter().map(String::as_str).collect();
    assert_no_temp_files(&root.path, &expected);
    for name in &hundred {
        fs::remove_file(root.join(name)).unwrap();
    }

    // 101 files: 413, and none of the first 100 is kept
    let mut body = Body::new();
    for i in 0..101 {
        body = body.file("f", &format!("g{i:03}.txt"), b"x");
    }
    let r = post_body(&server, "/", body.finish());
    assert_json_error(&r, 413);
    assert_nothing_stored(&server, &[]);

    // 1001 parts (one file, then fields): 413, the file is not kept
    let mut body = Body::new().file("f", "lonely.txt", b"lonely");
    for _ in 0..1000 {
        body = body.field("k", b"v");
    }
    let r = post_body(&server, "/", body.finish());
    assert_json_error(&r, 413);
    assert_nothing_stored(&server, &[]);

    // a field over 1 MiB is read and discarded (it is never stored, so its
    // size costs nothing): the file before it is stored
    let r = post_streamed(
        &server,
        "/",
        &[
            ("name=\"a\"; filename=\"before.bin\"", 1000, 1101),
            ("name=\"huge-field\"", MIB + 1, 1102),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_eq!(
        fs::metadata(server.root.join("before.bin")).unwrap().len(),
        1000
    );
    fs::remove_file(server.root.join("before.bin")).unwrap();

    // a preamble over 8 KiB: 400
    let mut body = vec![b'x'; 9 * 1024];
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(&Body::new().file("f", "p.txt", b"p").finish());
    let r = post_body(&server, "/", body);
    assert_json_error(&r, 400);
    assert_nothing_stored(&server, &[]);

    // a short preamble is ignored
    let mut body = b"a preamble line\r\n".to_vec();
    body.extend_from_slice(&Body::new().file("f", "p.txt", b"p").finish());
    let r = post_body(&server, "/", body);
    assert_created(&r, &[("p.txt", "/p.txt", 1)]);
    assert_no_temp_files(&root.path, &["p.txt"]);
}

#[test]
fn keep_alive_two_posts_on_one_connection() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &[]);
    let mut c = Conn::connect(server.addr);
    for (i, name) in ["k1.bin", "k2.bin"].iter().enumerate() {
        let content = random_bytes(200_000 + i, 1200 + i as u64);
        let body = Body::new().file("f", name, &content).finish();
        c.send(
            format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                server.host(),
                content_type(),
                body.len()
            )
            .as_bytes(),
        );
        c.send(&body);
        let r = c.read_response();
        let path = format!("/{name}");
        assert_created(&r, &[(name, &path, content.len() as u64)]);
        assert!(
            !r.says_close(),
            "keep-alive broken after a multipart POST: {r:?}"
        );
        assert_eq!(fs::read(root.join(name)).unwrap(), content);
    }
    assert_no_temp_files(&root.path, &["k1.bin", "k2.bin"]);
}

#[test]
fn body_idle_timeout_is_408_and_stores_nothing() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--body-idle-timeout", "1s"]);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            content_type(),
            10 * MIB
        )
        .as_bytes(),
    );
    // a complete first file, the start of a second, then silence
    c.send(
        &Body::new()
            .file("a", "a.bin", &random_bytes(100_000, 1300))
            .unfinished(),
    );
    c.send(&part_head("name=\"b\"; filename=\"b.bin\"", false));
    c.send(&random_bytes(1000, 1301));
    let r = c.read_response();
    assert_json_error(&r, 408);
    drop(c);
    assert_nothing_stored(&server, &[]);
    assert!(server_is_alive(&server));
}

#[test]
fn read_only_refuses_post() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--read-only"]);
    let r = post_body(&server, "/", Body::new().file("f", "x.txt", b"x").finish());
    assert_json_error(&r, 405);
    assert!(r.header("allow").is_some(), "405 without Allow: {r:?}");
    assert_nothing_stored(&server, &[]);
}

// ---------------------------------------------------------------------------
// disk full
// ---------------------------------------------------------------------------

#[test]
fn full_disk_is_507_and_leaves_nothing() {
    // declared before the server so the server is killed before the unmount
    let mnt = TmpfsMount::new("8m");
    let server = Server::start(&mnt.path, &[]);
    let free0 = mnt.free_bytes();

    for parts in [
        &[("name=\"f\"; filename=\"huge.bin\"", 16 * MIB, 901)][..],
        // all or nothing: the small first file goes too
        &[
            ("name=\"a\"; filename=\"small.bin\"", MIB, 902),
            ("name=\"b\"; filename=\"huge.bin\"", 16 * MIB, 903),
        ][..],
    ] {
        let r = post_streamed(&server, "/", parts);
        assert_json_error(&r, 507);
        assert_nothing_stored(&server, &[]);
        assert!(
            wait_until(EVENT_DEADLINE, || mnt.free_bytes() >= free0),
            "space not released after 507: {} free, {} before",
            mnt.free_bytes(),
            free0
        );
    }

    // chunked: the size is unknown up front
    let (reader, _) = streamed_body(&[("name=\"f\"; filename=\"huge.bin\"", 16 * MIB, 904)]);
    let headers = format!(
        "Content-Type: {}\r\nTransfer-Encoding: chunked\r\n",
        content_type()
    );
    let r = post_streaming(
        &server,
        "/",
        &headers,
        ChunkedReader::new(reader, 256 * 1024),
    );
    assert_json_error(&r, 507);
    assert_nothing_stored(&server, &[]);

    // and the disk is usable again
    let r = post_body(
        &server,
        "/",
        Body::new().file("f", "small.txt", b"still works").finish(),
    );
    assert_created(&r, &[("small.txt", "/small.txt", 11)]);
    assert_eq!(
        fs::read(mnt.path.join("small.txt")).unwrap(),
        b"still works"
    );
    assert_no_temp_files(&mnt.path, &["small.txt"]);
}

// ---------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------

#[test]
fn peak_memory_does_not_grow_with_multipart_file_size() {
    let root = TempDir::new("root");
    // one worker: one buffer pool, so both uploads exercise the same memory
    let server = Server::start(&root.path, &["--no-sync", "--workers", "1"]);
    let pid = server.pid();

    let upload = |name: &str, size: u64, seed: u64| {
        let disposition = format!("name=\"f\"; filename=\"{name}\"");
        let r = post_streamed(
            &server,
            "/",
            &[
                ("name=\"note\"", 1000, seed + 1000),
                (&disposition, size, seed),
            ],
        );
        let path = format!("/{name}");
        assert_created(&r, &[(name, &path, size)]);
        assert_eq!(fs::metadata(root.join(name)).unwrap().len(), size);
    };

    // warm up: first-use allocations (buffer pool, connection state) happen here
    upload("warm.bin", 64 * MIB, 1001);

    reset_hwm(pid);
    upload("m64.bin", 64 * MIB, 1002);
    let hwm_64m = vm_hwm_kib(pid);

    reset_hwm(pid);
    upload("m512.bin", 512 * MIB, 1003);
    let hwm_512m = vm_hwm_kib(pid);

    assert!(
        hwm_512m.abs_diff(hwm_64m) <= 1024,
        "peak RSS differs by more than 1 MiB: 64 MiB POST -> {hwm_64m} KiB, 512 MiB POST -> {hwm_512m} KiB"
    );
    assert_eq!(
        sha256_file(&root.join("m512.bin")),
        random_sha256(512 * MIB, 1003)
    );
    assert_no_temp_files(&root.path, &["m512.bin", "m64.bin", "warm.bin"]);
}
