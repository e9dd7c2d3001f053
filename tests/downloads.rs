//! Downloads: ranges, conditional requests, HEAD, `?download`, the HTML
//! listing's escaping, and constant memory whatever the file's size. The
//! real binary on loopback, raw HTTP on a socket.

mod common;

use std::fs;
use std::io::Read;
use std::process::Command;

use common::*;

/// A 3 MiB + 17 bytes file: more than two 1 MiB registered buffers, and an
/// odd length so no block lines up.
const SIZE: u64 = 3 * MIB + 17;

fn setup() -> (TempDir, Server, Vec<u8>) {
    let root = TempDir::new("downloads");
    let data = random_bytes(SIZE as usize, 7);
    fs::write(root.join("data.bin"), &data).unwrap();
    let server = Server::start(&root.path, &[]);
    (root, server, data)
}

fn range(server: &Server, value: &str) -> Response {
    get(server, "/data.bin", &format!("Range: {value}\r\n"))
}

fn assert_partial(resp: &Response, data: &[u8], start: usize, end_inclusive: usize) {
    assert_eq!(resp.status, 206, "{:?}", resp.headers);
    let want = format!("bytes {start}-{end_inclusive}/{}", data.len());
    assert_eq!(resp.header("content-range"), Some(want.as_str()));
    let len = end_inclusive + 1 - start;
    assert_eq!(
        resp.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(resp.body.len(), len);
    assert!(
        resp.body == data[start..=end_inclusive],
        "206 body differs from bytes {start}-{end_inclusive}"
    );
    assert_eq!(resp.header("accept-ranges"), Some("bytes"));
}

fn assert_whole(resp: &Response, data: &[u8]) {
    assert_eq!(resp.status, 200, "{:?}", resp.headers);
    assert_eq!(resp.header("content-range"), None);
    assert_eq!(resp.body.len(), data.len());
    assert!(resp.body == data, "200 body differs from the file");
}

#[test]
fn single_ranges_answer_206_with_the_exact_bytes() {
    let (_root, server, data) = setup();
    let n = data.len();
    assert_partial(&range(&server, "bytes=0-0"), &data, 0, 0);
    assert_partial(&range(&server, "bytes=10-19"), &data, 10, 19);
    // Across the 1 MiB buffer boundaries, unaligned.
    assert_partial(
        &range(&server, "bytes=1048000-2097999"),
        &data,
        1_048_000,
        2_097_999,
    );
    // A last-pos past the end is clamped.
    assert_partial(&range(&server, "bytes=100-99999999999"), &data, 100, n - 1);
    // Open range.
    assert_partial(&range(&server, "bytes=12345-"), &data, 12_345, n - 1);
    // Suffix range.
    assert_partial(&range(&server, "bytes=-100"), &data, n - 100, n - 1);
    assert_partial(&range(&server, "bytes=-99999999"), &data, 0, n - 1);
    // The last byte.
    let last = format!("bytes={}-", n - 1);
    assert_partial(&range(&server, &last), &data, n - 1, n - 1);
}

#[test]
fn unsatisfiable_ranges_answer_416_with_the_length() {
    let (_root, server, data) = setup();
    let star = format!("bytes */{}", data.len());
    for value in [
        format!("bytes={}-", data.len()),
        "bytes=99999999-".into(),
        "bytes=-0".into(),
    ] {
        let resp = range(&server, &value);
        assert_json_error(&resp, 416);
        assert_eq!(resp.header("content-range"), Some(star.as_str()), "{value}");
    }
    // The connection stays usable after a 416.
    let mut c = Conn::connect(server.addr);
    let req = format!(
        "GET /data.bin HTTP/1.1\r\nHost: {h}\r\nRange: bytes=99999999-\r\n\r\n\
         GET /data.bin HTTP/1.1\r\nHost: {h}\r\nRange: bytes=0-3\r\nConnection: close\r\n\r\n",
        h = server.host()
    );
    c.send(req.as_bytes());
    assert_eq!(c.read_response().status, 416);
    assert_partial(&c.read_response(), &data, 0, 3);
}

#[test]
fn multiple_and_invalid_ranges_answer_200_with_the_whole_file() {
    let (_root, server, data) = setup();
    for value in [
        "bytes=0-1,5-9",
        "bytes=0-0,-1",
        "bytes=5-3",
        "items=0-1",
        "bytes=abc",
    ] {
        assert_whole(&range(&server, value), &data);
    }
}

#[test]
fn if_range_matches_by_etag_or_date() {
    let (_root, server, data) = setup();
    let full = get(&server, "/data.bin", "");
    let etag = full.header("etag").unwrap().to_owned();
    let modified = full.header("last-modified").unwrap().to_owned();
    let with = |if_range: &str| {
        get(
            &server,
            "/data.bin",
            &format!("Range: bytes=5-9\r\nIf-Range: {if_range}\r\n"),
        )
    };
    assert_partial(&with(&etag), &data, 5, 9);
    assert_partial(&with(&modified), &data, 5, 9);
    assert_whole(&with("\"something-else\""), &data);
    assert_whole(&with(&format!("W/{etag}")), &data);
    assert_whole(&with("Thu, 01 Jan 1970 00:00:00 GMT"), &data);
    // Without a Range, If-Range changes nothing.
    assert_whole(
        &get(&server, "/data.bin", &format!("If-Range: {etag}\r\n")),
        &data,
    );
}

#[test]
fn conditional_requests_answer_304() {
    let (_root, server, data) = setup();
    let full = get(&server, "/data.bin", "");
    assert_whole(&full, &data);
    let etag = full.header("etag").unwrap();
    let modified = full.header("last-modified").unwrap();

    let resp = get(&server, "/data.bin", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(resp.status, 304);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("etag"), Some(etag));
    let resp = get(&server, "/data.bin", "If-None-Match: \"x\", *\r\n");
    assert_eq!(resp.status, 304);

    let resp = get(
        &server,
        "/data.bin",
        &format!("If-Modified-Since: {modified}\r\n"),
    );
    assert_eq!(resp.status, 304);
    assert!(resp.body.is_empty());
    let resp = get(
        &server,
        "/data.bin",
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
    );
    assert_whole(&resp, &data);
    // A matching validator wins over a Range.
    let resp = get(
        &server,
        "/data.bin",
        &format!("If-None-Match: {etag}\r\nRange: bytes=0-1\r\n"),
    );
    assert_eq!(resp.status, 304);
    // A differing ETag: the file.
    assert_whole(
        &get(&server, "/data.bin", "If-None-Match: \"x\"\r\n"),
        &data,
    );
}

#[test]
fn download_query_sets_content_disposition() {
    let root = TempDir::new("downloads-disposition");
    fs::write(root.join("report 2024.pdf"), b"%PDF-").unwrap();
    let server = Server::start(&root.path, &[]);
    let resp = get(&server, "/report%202024.pdf?download", "");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename*=UTF-8''report%202024.pdf")
    );
    assert_eq!(resp.header("content-type"), Some("application/pdf"));
    let resp = get(&server, "/report%202024.pdf", "");
    assert_eq!(resp.header("content-disposition"), None);
}

#[test]
fn head_has_headers_and_no_body() {
    let (_root, server, data) = setup();
    let mut c = Conn::connect(server.addr);
    // HEAD ignores Range (RFC 9110 §14.2: only GET has range semantics),
    // and a GET follows on the same connection: nothing in between.
    let req = format!(
        "HEAD /data.bin HTTP/1.1\r\nHost: {h}\r\nRange: bytes=0-9\r\n\r\n\
         GET /data.bin HTTP/1.1\r\nHost: {h}\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n",
        h = server.host()
    );
    c.send(req.as_bytes());
    let head = c.read_head_response();
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    assert!(head.header("etag").is_some());
    assert!(head.body.is_empty());
    assert_partial(&c.read_response(), &data, 0, 9);
    assert!(c.leftover().is_empty(), "bytes after the last response");
}

#[test]
fn content_type_by_extension() {
    let root = TempDir::new("downloads-types");
    for name in ["a.html", "b.json", "c.png", "d.unknownext", "e.txt"] {
        fs::write(root.join(name), b"x").unwrap();
    }
    let server = Server::start(&root.path, &[]);
    for (name, want) in [
        ("a.html", "text/html; charset=utf-8"),
        ("b.json", "application/json"),
        ("c.png", "image/png"),
        ("d.unknownext", "application/octet-stream"),
        ("e.txt", "text/plain; charset=utf-8"),
    ] {
        let resp = get(&server, &format!("/{name}"), "Range: bytes=0-0\r\n");
        assert_eq!(resp.header("content-type"), Some(want), "{name}");
    }
}

#[test]
fn html_listing_escapes_names() {
    let root = TempDir::new("downloads-xss");
    let evil = "<img src=x onerror=alert(1)>.txt";
    fs::write(root.join(evil), b"x").unwrap();
    fs::create_dir(root.join("\"><script>alert(2)<")).unwrap();
    let server = Server::start(&root.path, &[]);
    let resp = get(&server, "/", "");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = resp.body_str();
    assert!(
        !html.contains("<img src=x"),
        "unescaped name in the listing"
    );
    assert!(
        !html.contains("<script>alert"),
        "unescaped name in the listing"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;.txt"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(2)&lt;"));
    // Links are percent-encoded.
    assert!(html.contains("href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\""));
    // The upload UI is there (not read-only), delete buttons are not.
    assert!(html.contains("type=\"file\""));
    assert!(!html.contains("data-delete="));
}

#[test]
fn directory_without_slash_redirects() {
    let root = TempDir::new("downloads-redirect");
    fs::create_dir(root.join("sub dir")).unwrap();
    let server = Server::start(&root.path, &[]);
    let resp = get(&server, "/sub%20dir", "");
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("location"), Some("/sub%20dir/"));
    let resp = get(&server, "/sub%20dir/", "");
    assert_eq!(resp.status, 200);
}

#[test]
fn one_free_buffer_still_streams_correctly() {
    // One worker with three buffers: a stalled download holds two, so the
    // next download gets one and streams read-then-write.
    let root = TempDir::new("downloads-one-buffer");
    let data = random_bytes(SIZE as usize, 9);
    fs::write(root.join("data.bin"), &data).unwrap();
    let big = fs::File::create(root.join("big.bin")).unwrap();
    big.set_len(GIB).unwrap();
    drop(big);
    let server = Server::start(&root.path, &["--workers", "1", "--buffers", "3"]);

    let mut stalled = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(
        &mut stalled,
        format!("GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes(),
    )
    .unwrap();
    // Once body bytes arrive the stalled stream holds its buffers; then it
    // stops reading.
    let mut first = [0u8; 4096];
    stalled.read_exact(&mut first).unwrap();

    let resp = get(&server, "/data.bin", "");
    assert_whole(&resp, &data);
    let resp = range(&server, "bytes=1000-");
    assert_partial(&resp, &data, 1000, data.len() - 1);
    drop(stalled);
    assert!(server_is_alive(&server));
}

/// Downloads `path` with curl into /dev/null and returns the bytes received.
fn curl_download(server: &Server, path: &str) -> u64 {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{size_download}"])
        .arg(server.url(path))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn peak_memory_does_not_depend_on_the_file_size() {
    let root = TempDir::new("downloads-rss");
    for (name, size) in [("small.bin", 4 * MIB), ("large.bin", 256 * MIB)] {
        // Sparse: the page cache is not the server's RSS either way.
        let f = fs::File::create(root.join(name)).unwrap();
        f.set_len(size).unwrap();
    }
    let server = Server::start(&root.path, &["--workers", "1"]);
    let pid = server.pid();
    // Warm up: the buffers and the code paths are touched once.
    assert_eq!(curl_download(&server, "/small.bin"), 4 * MIB);

    reset_hwm(pid);
    assert_eq!(curl_download(&server, "/small.bin"), 4 * MIB);
    let small_kib = vm_hwm_kib(pid);

    reset_hwm(pid);
    assert_eq!(curl_download(&server, "/large.bin"), 256 * MIB);
    let large_kib = vm_hwm_kib(pid);

    assert!(
        large_kib <= small_kib + 1024,
        "peak RSS {large_kib} KiB for a 256 MiB GET vs {small_kib} KiB for 4 MiB"
    );
}
