//! Downloads: ranges, conditional requests, HEAD, `?download`, the HTML
//! listing's escaping, constant memory whatever the file's size, and large
//! bodies sent with sendfile: byte-exact, cut off when the client stops
//! reading, a disconnect or a truncated file ending only that connection.
//! The real binary on loopback, raw HTTP on a socket and curl.

mod common;

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

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
    // One worker with three buffers: a stalled buffered download holds two,
    // so the next download gets one and streams read-then-write.
    let root = TempDir::new("downloads-one-buffer");
    let data = random_bytes(SIZE as usize, 9);
    fs::write(root.join("data.bin"), &data).unwrap();
    let big = fs::File::create(root.join("big.bin")).unwrap();
    big.set_len(GIB).unwrap();
    drop(big);
    // `--no-sendfile`: the buffered path, which sendfile falls back to.
    let server = Server::start(
        &root.path,
        &["--workers", "1", "--buffers", "3", "--no-sendfile"],
    );

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

/// A large file: far more than the socket buffers hold and than one
/// sendfile call is asked for, with an odd length.
const LARGE: u64 = 128 * MIB + 4097;

/// Longest any single awaited event may take in the tests below.
const DEADLINE: Duration = Duration::from_secs(20);

/// A root with `big.bin`, [`LARGE`] pseudo-random bytes; its sha256.
fn large_root(label: &str) -> (TempDir, String) {
    let root = TempDir::new(label);
    let sha = write_random_file(&root.join("big.bin"), LARGE, 21);
    (root, sha)
}

/// `len` bytes of the file at `path` from `offset`.
fn file_bytes(path: &std::path::Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut out = vec![0u8; len];
    f.read_exact(&mut out).unwrap();
    out
}

/// A GET whose client reads the head and `body_bytes` of the body, then
/// stops reading (the rest piles up in the socket buffers).
fn stalled_get(server: &Server, path: &str, body_bytes: usize) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.host());
    stream.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let body_start = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the head");
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    assert!(
        got.starts_with(b"HTTP/1.1 200 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let mut body = got.split_off(body_start);
    while body.len() < body_bytes {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {} body bytes", body.len());
        body.extend_from_slice(&buf[..n]);
    }
    (stream, body)
}

/// Reads until EOF or reset; `None` if the connection is still open after
/// `timeout`.
fn read_to_close(stream: &mut TcpStream, timeout: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(_) => return Some(got),
        }
    }
}

/// The server's sockets: (descriptor, file status flags from fdinfo).
/// Waits until the server is in the middle of a sendfile body waiting for
/// the client to read: a connection socket (not one of `listeners`) is
/// non-blocking only then.
fn wait_until_send_blocks(server: &Server, listeners: &[(String, u32)]) {
    assert!(
        wait_until(DEADLINE, || socket_flags(server).iter().any(|s| !listeners
            .contains(s)
            && s.1 & libc::O_NONBLOCK as u32 != 0)),
        "the server never waited for the client to read: {:?}",
        socket_flags(server)
    );
}

fn socket_flags(server: &Server) -> Vec<(String, u32)> {
    let pid = server.pid();
    let mut out = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        let is_socket =
            fs::read_link(entry.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        let fd = entry.file_name().to_string_lossy().into_owned();
        let Some(flags) = fd_flags(pid, &fd) else {
            continue;
        };
        out.push((fd, flags));
    }
    out
}

/// Descriptors the server holds open on `name`.
fn open_on(server: &Server, name: &str) -> usize {
    open_fd_targets(server.pid())
        .iter()
        .filter(|t| t.ends_with(name))
        .count()
}

#[test]
fn large_file_downloads_byte_exact_with_curl() {
    let (root, sha) = large_root("downloads-large");
    let out = TempDir::new("downloads-large-out");
    // The default (sendfile) and the buffered path it falls back to.
    for extra in [&[][..], &["--no-sendfile"][..]] {
        let server = Server::start(&root.path, extra);
        let dest = out.join("big.bin");
        let _ = fs::remove_file(&dest);
        let run = curl(&[
            "-o",
            dest.to_str().unwrap(),
            "-w",
            "%{http_code} %{size_download}",
            &server.url("/big.bin"),
        ]);
        assert!(
            run.status.success(),
            "curl {extra:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            format!("200 {LARGE}"),
            "{extra:?}"
        );
        assert_eq!(
            sha256_file(&dest),
            sha,
            "{extra:?}: downloaded bytes differ"
        );
    }
}

#[test]
fn range_in_the_middle_of_a_large_file_is_byte_exact() {
    let (root, _) = large_root("downloads-large-range");
    let path = root.join("big.bin");
    let server = Server::start(&root.path, &[]);
    let (start, last) = (50 * MIB + 3, 100 * MIB + 12_344);
    let want = file_bytes(&path, start, (last + 1 - start) as usize);
    let listeners = socket_flags(&server);
    let mut c = Conn::connect(server.addr);
    // Two requests on one connection, the second sent only after the first
    // response: it is read after a sendfile body, so the socket must be
    // back in blocking mode for io_uring.
    let first = format!(
        "GET /big.bin HTTP/1.1\r\nHost: {}\r\nRange: bytes={start}-{last}\r\n\r\n",
        server.host()
    );
    c.send(first.as_bytes());
    let resp = c.read_response();
    assert_eq!(resp.status, 206, "{:?}", resp.headers);
    let range = format!("bytes {start}-{last}/{LARGE}");
    assert_eq!(resp.header("content-range"), Some(range.as_str()));
    assert_eq!(resp.body.len(), want.len());
    assert!(resp.body == want, "206 body differs from the file's bytes");
    assert!(!resp.says_close());
    // The connection's socket is blocking again (its flags restored), and
    // the duplicate used to wait for writability is closed.
    let restored = wait_until(DEADLINE, || {
        let now = socket_flags(&server);
        let conns: Vec<_> = now.iter().filter(|s| !listeners.contains(s)).collect();
        conns.len() == 1 && conns[0].1 & libc::O_NONBLOCK as u32 == 0
    });
    assert!(
        restored,
        "server sockets after the response: {:?} (listeners: {listeners:?})",
        socket_flags(&server)
    );

    let second = format!(
        "GET /big.bin HTTP/1.1\r\nHost: {}\r\nRange: bytes=-5000\r\nConnection: close\r\n\r\n",
        server.host()
    );
    c.send(second.as_bytes());
    let resp = c.read_response();
    assert_eq!(resp.status, 206, "{:?}", resp.headers);
    assert!(resp.body == file_bytes(&path, LARGE - 5000, 5000));
    assert!(c.leftover().is_empty());

    // And with curl.
    let run = curl(&["-r", &format!("{start}-{last}"), &server.url("/big.bin")]);
    assert!(run.status.success());
    assert!(
        run.stdout == want,
        "curl -r body differs from the file's bytes"
    );
}

#[test]
fn client_that_stops_reading_is_cut_off_and_others_are_served() {
    const BIG: u64 = 512 * MIB;
    let root = TempDir::new("downloads-stops-reading");
    let data = random_bytes(SIZE as usize, 5);
    fs::write(root.join("data.bin"), &data).unwrap();
    let f = fs::File::create(root.join("big.bin")).unwrap();
    f.set_len(BIG).unwrap();
    drop(f);
    // One worker: the stalled download and the others share it.
    let server = Server::start(&root.path, &["--workers", "1", "--body-idle-timeout", "2"]);
    let listeners = socket_flags(&server);
    let started = Instant::now();
    let (mut stalled, body) = stalled_get(&server, "/big.bin", MIB as usize);
    assert!(body.iter().all(|&b| b == 0));

    // While it waits for the socket, the worker serves others and does
    // not spin (CPU measured over a 700 ms window).
    wait_until_send_blocks(&server, &listeners);
    let before = cpu_ticks(server.pid());
    assert_whole(&get(&server, "/data.bin", ""), &data);
    thread::sleep(Duration::from_millis(700));
    let used = cpu_ticks(server.pid()) - before;
    assert!(
        used <= 20,
        "{used} ticks of CPU in 1 s beside a stalled download"
    );

    // After the idle timeout the server ends the response: what was
    // buffered can still be read, then the connection closes early.
    assert!(
        server.wait_for_stderr(DEADLINE, |l| l.contains("GET /big.bin 200")
            && l.contains("error=timeout")),
        "no timeout logged for the stalled download: {:?}",
        server.stderr_lines()
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
    let rest = read_to_close(&mut stalled, DEADLINE).expect("connection still open");
    let received = body.len() + rest.len();
    assert!(
        (received as u64) < BIG,
        "received the whole body ({received} bytes) although the server timed out"
    );
    assert_eq!(open_on(&server, "/big.bin"), 0, "file still open");
    assert_whole(&get(&server, "/data.bin", ""), &data);
}

#[test]
fn client_that_disconnects_mid_download_leaves_the_server_serving() {
    let (root, sha) = large_root("downloads-disconnect");
    let server = Server::start(&root.path, &["--workers", "1"]);
    for _ in 0..3 {
        let (stalled, body) = stalled_get(&server, "/big.bin", 2 * MIB as usize);
        assert!(body[..MIB as usize] == file_bytes(&root.join("big.bin"), 0, MIB as usize));
        // Unread data: closing sends a reset.
        drop(stalled);
    }
    assert!(
        wait_until(DEADLINE, || open_on(&server, "/big.bin") == 0),
        "the server still holds the file after its clients went away"
    );
    let out = TempDir::new("downloads-disconnect-out");
    let dest = out.join("big.bin");
    let run = curl(&["-o", dest.to_str().unwrap(), &server.url("/big.bin")]);
    assert!(run.status.success());
    assert_eq!(sha256_file(&dest), sha);
    assert!(server_is_alive(&server));
}

#[test]
fn file_truncated_while_sent_ends_the_connection() {
    const CUT: u64 = 48 * MIB;
    let (root, _) = large_root("downloads-truncated");
    let path = root.join("big.bin");
    let want = file_bytes(&path, 0, CUT as usize);
    let server = Server::start(&root.path, &["--workers", "1"]);
    let listeners = socket_flags(&server);
    let (mut stalled, mut body) = stalled_get(&server, "/big.bin", MIB as usize);
    // The server is stuck on full socket buffers, well before CUT.
    wait_until_send_blocks(&server, &listeners);
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(CUT)
        .unwrap();
    // The head promised LARGE bytes; the file now has CUT. The server sends
    // what there is and closes instead of leaving the client waiting.
    let rest = read_to_close(&mut stalled, DEADLINE).expect("connection still open: a hang");
    body.extend_from_slice(&rest);
    assert_eq!(body.len() as u64, CUT, "body length after the truncation");
    assert!(body == want, "bytes before the cut differ");
    assert!(server_is_alive(&server));
}

#[test]
fn shutdown_interrupts_a_stalled_download() {
    let root = TempDir::new("downloads-shutdown");
    let f = fs::File::create(root.join("big.bin")).unwrap();
    f.set_len(512 * MIB).unwrap();
    drop(f);
    let mut server = Server::start(
        &root.path,
        &["--shutdown-timeout", "1", "--body-idle-timeout", "120"],
    );
    let listeners = socket_flags(&server);
    let (_stalled, _) = stalled_get(&server, "/big.bin", MIB as usize);
    wait_until_send_blocks(&server, &listeners);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(DEADLINE)
        .expect("still running: the stalled download was not interrupted");
    assert!(status.success(), "{status:?}");
    // Interrupted at the shutdown deadline (1 s), not dropped after the
    // 5 s grace the worker gives aborted connections: the request ended and
    // was logged.
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "exit took {:?}",
        signalled.elapsed()
    );
    assert!(
        server.wait_for_stderr(Duration::from_secs(2), |l| l.contains("GET /big.bin 200")
            && l.contains("error=")),
        "the interrupted download was not logged: {:?}",
        server.stderr_lines()
    );
}

#[test]
fn pipelined_gets_through_buffers_are_answered_at_once() {
    // Two GETs in one write with --no-sendfile (the path HTTPS takes): the
    // second body must not wait for the client's next bytes. (A wait for
    // writability once cleared a readiness that was never set again.)
    let root = TempDir::new("root");
    fs::write(root.join("a.txt"), b"first").unwrap();
    fs::write(root.join("b.txt"), b"second").unwrap();
    let server = Server::start(&root.path, &["--no-sendfile", "--body-idle-timeout", "30s"]);
    let mut c = Conn::connect(server.addr);
    let host = server.host();
    c.send(format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
    let a = c.read_response();
    let b = c
        .try_read_response_for(false, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("the second response stalled: {e}"));
    assert_eq!(
        (a.body.as_slice(), b.body.as_slice()),
        (&b"first"[..], &b"second"[..])
    );
}

/// `--no-sendfile`: clients that read slowly hold no registered buffer.
/// One worker, two buffers, four downloads of a 24 MiB file whose clients
/// stop reading once the socket buffers are full; a 4 MiB upload beside
/// them is stored at once (not after `--body-idle-timeout`, 30 s here),
/// and then each slow reader gets every byte, in order (a block the socket
/// took only part of is read again from the file for the rest).
#[test]
fn slow_readers_hold_no_buffer_without_sendfile() {
    let root = TempDir::new("dl-slow-readers");
    let big = write_random_file(&root.join("big.bin"), 24 * MIB, 91);
    let mut flags = vec!["--no-sendfile"];
    flags.extend_from_slice(&TINY_POOL_FLAGS);
    let server = Server::start(&root.path, &flags);
    let mut readers: Vec<Conn> = (0..4)
        .map(|_| {
            let mut c = Conn::connect(server.addr);
            c.send(format!("GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
            c
        })
        .collect();
    // Every download is under way (its head and body bytes are coming);
    // their readers stop here, and the server soon fills their sockets.
    for c in &mut readers {
        assert!(c.wait_for_bytes(64 * 1024));
    }

    let data = random_bytes(4 << 20, 92);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /up.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    c.send(&data);
    let r = c.read_response();
    assert_eq!(
        r.status,
        201,
        "PUT beside four stalled downloads: {}",
        r.body_str()
    );
    assert_eq!(sha256_file(&root.join("up.bin")), sha256_hex(&data));

    for (i, c) in readers.iter_mut().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "reader {i}");
        assert_eq!(sha256_hex(&r.body), big, "reader {i}: body differs");
    }
}
