//! Hostile clients against the real binary on loopback: slowloris heads,
//! stalled bodies, idle connection floods, multipart bombs, truncated bodies,
//! pipelined garbage and a client that never reads.
//!
//! Every case ends with [`assert_idle_and_serving`]: the server burns less
//! than 0.1 s of CPU over two idle seconds (it does not spin on what it was
//! sent) and still answers `GET /?json` with 200. That check is a behaviour
//! assertion, not a benchmark. Every read and write has a timeout and every
//! loop a bound, so a broken server fails a test instead of hanging it.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{cpu_ticks, get, list_tree, open_fd_targets, wait_until, Conn, Server, TempDir};

/// Longest any single awaited event may take.
const DEADLINE: Duration = Duration::from_secs(15);

/// CPU the server may burn while idle for [`IDLE_WINDOW`].
const IDLE_CPU_SECONDS: f64 = 0.1;
const IDLE_WINDOW: Duration = Duration::from_secs(2);

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// The server is idle (no spinning on anything a hostile client left behind)
/// and still serves a normal request.
fn assert_idle_and_serving(server: &Server, case: &str) {
    let pid = server.pid();
    let before = cpu_ticks(pid);
    // A measurement window, not a wait for an event.
    thread::sleep(IDLE_WINDOW);
    let after = cpu_ticks(pid);
    let cpu = (after.saturating_sub(before)) as f64 / clock_ticks_per_second();
    assert!(
        cpu < IDLE_CPU_SECONDS,
        "{case}: server used {cpu:.2} s of CPU over {IDLE_WINDOW:?} while idle (spinning?)"
    );
    let resp = get(server, "/?json", "");
    assert_eq!(resp.status, 200, "{case}: GET /?json afterwards: {resp:?}");
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, DEADLINE)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Reads until EOF (or reset) within `timeout`. `Ok(bytes)` when the peer
/// closed, `Err(bytes)` when the time ran out first.
fn read_until_closed(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(got);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(got)
            }
            // Reset and friends: the connection is over.
            Err(_) => return Ok(got),
        }
    }
}

fn status_of(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\r').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Sockets the server process holds (listeners and connections).
fn socket_count(server: &Server) -> usize {
    open_fd_targets(server.pid())
        .iter()
        .filter(|t| t.starts_with("socket:"))
        .count()
}

/// A multipart/form-data POST request for `body` with `boundary`.
fn multipart_request(server: &Server, boundary: &str, body: &[u8], length: usize) -> Vec<u8> {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\n\r\n",
        server.host()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

fn file_part(boundary: &str, name: &str, content: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(content);
    part.extend_from_slice(b"\r\n");
    part
}

/// Sends a request whose body the server may refuse early (it answers, then
/// drains a bounded amount and closes), from a writer thread, and returns the
/// first response's status and whether the connection then closed.
fn send_expect_early_answer(server: &Server, request: Vec<u8>) -> (Option<u16>, Vec<u8>, bool) {
    let mut stream = connect(server.addr);
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        // The server may answer and close before it read everything.
        let _ = writer.write_all(&request);
    });
    let (bytes, closed) = match read_until_closed(&mut stream, DEADLINE) {
        Ok(bytes) => (bytes, true),
        Err(bytes) => (bytes, false),
    };
    let _ = stream.shutdown(Shutdown::Both);
    sender.join().unwrap();
    (status_of(&bytes), bytes, closed)
}

/// Headers sent one byte per second never complete within `--head-timeout
/// 2`: the server answers 408 and closes.
#[test]
fn slowloris_head_is_cut_off_with_408() {
    let root = TempDir::new("hostile-slowloris");
    let server = Server::start(&root.path, &["--head-timeout", "2"]);
    let mut stream = connect(server.addr);
    let mut writer = stream.try_clone().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let done_writing = Arc::clone(&done);
    let started = Instant::now();
    let sender = thread::spawn(move || {
        let head = b"GET /?json HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let mut sent = 0;
        // At most 12 bytes, one per second: well past the 2 s head timeout.
        for &b in head.iter().take(12) {
            if done_writing.load(Ordering::SeqCst) || writer.write_all(&[b]).is_err() {
                break;
            }
            sent += 1;
            thread::sleep(Duration::from_secs(1));
        }
        sent
    });
    let result = read_until_closed(&mut stream, DEADLINE);
    done.store(true, Ordering::SeqCst);
    let elapsed = started.elapsed();
    let sent = sender.join().unwrap();
    let bytes = result.unwrap_or_else(|got| {
        panic!(
            "slowloris connection still open after {DEADLINE:?}; got {:?}",
            String::from_utf8_lossy(&got)
        )
    });
    assert_eq!(
        status_of(&bytes),
        Some(408),
        "expected 408 then close; got {:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        sent < 12 && elapsed < Duration::from_secs(12),
        "cut off only after {sent} bytes / {elapsed:?}"
    );
    assert_idle_and_serving(&server, "slowloris head");
}

/// A PUT body that stalls past `--body-idle-timeout 2`: the connection is
/// closed and neither the file nor a temporary file is left in ROOT.
#[test]
fn stalled_put_body_is_dropped_and_leaves_nothing() {
    let root = TempDir::new("hostile-stalled-put");
    let server = Server::start(&root.path, &["--body-idle-timeout", "2"]);
    let mut stream = connect(server.addr);
    let head = format!(
        "PUT /stalled.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n\r\n",
        server.host()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&[7u8; 4096]).unwrap();
    // Now stall: send nothing more, and wait for the server to give up.
    let bytes = read_until_closed(&mut stream, DEADLINE).unwrap_or_else(|got| {
        panic!(
            "stalled PUT still open after {DEADLINE:?}; got {:?}",
            String::from_utf8_lossy(&got)
        )
    });
    if let Some(status) = status_of(&bytes) {
        assert_eq!(status, 408, "{:?}", String::from_utf8_lossy(&bytes));
    }
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "stalled PUT left {tree:?} in ROOT");
    assert_idle_and_serving(&server, "stalled PUT body");
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "stalled PUT left {tree:?} in ROOT");
}

/// 500 connections opened at once and left idle: the server keeps serving
/// meanwhile, and at `--head-timeout 3` closes every one of them (EOF, or
/// 408 then EOF).
#[test]
fn five_hundred_idle_connections_are_closed_at_head_timeout() {
    const CONNECTIONS: usize = 500;
    let root = TempDir::new("hostile-idle-flood");
    let server = Server::start(&root.path, &["--head-timeout", "3"]);
    let mut idle: Vec<TcpStream> = (0..CONNECTIONS).map(|_| connect(server.addr)).collect();

    let resp = get(&server, "/?json", "");
    assert_eq!(
        resp.status, 200,
        "normal request during the flood: {resp:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut outcomes = [0usize; 2]; // [EOF, 408 then EOF]
    for (i, stream) in idle.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let bytes = read_until_closed(stream, left).unwrap_or_else(|got| {
            panic!(
                "idle connection {i} still open 30 s after the flood; got {:?}",
                String::from_utf8_lossy(&got)
            )
        });
        match status_of(&bytes) {
            None if bytes.is_empty() => outcomes[0] += 1,
            Some(408) => outcomes[1] += 1,
            _ => panic!(
                "idle connection {i}: expected EOF or 408, got {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    assert_eq!(outcomes.iter().sum::<usize>(), CONNECTIONS, "{outcomes:?}");
    drop(idle);
    assert_idle_and_serving(&server, "500 idle connections");
}

/// 2000 field parts (plus one file first) exceed the default 1000-part
/// limit: 413, and the file is not stored.
#[test]
fn two_thousand_parts_are_refused_with_413() {
    let root = TempDir::new("hostile-parts");
    let server = Server::start(&root.path, &[]);
    let boundary = "partsBOUNDARY";
    let mut body = file_part(boundary, "first.txt", b"stored only if all succeeds");
    for i in 0..2000 {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n{i}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let request = multipart_request(&server, boundary, &body, body.len());
    let (status, bytes, _closed) = send_expect_early_answer(&server, request);
    assert_eq!(
        status,
        Some(413),
        "{:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
    );
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "refused multipart left {tree:?}");
    assert_idle_and_serving(&server, "2000 multipart parts");
}

/// A part header block over the 8 KiB limit: 431 or 400, nothing stored
/// (not even the complete file part before it).
#[test]
fn oversized_part_headers_are_refused() {
    let root = TempDir::new("hostile-part-headers");
    let server = Server::start(&root.path, &[]);
    let boundary = "hdrBOUNDARY";
    let mut body = file_part(boundary, "before.txt", b"a complete file part");
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"big\"; filename=\"big.txt\"\r\n\
             X-Padding: {}\r\n\r\nxyz\r\n--{boundary}--\r\n",
            "p".repeat(9000)
        )
        .as_bytes(),
    );
    let request = multipart_request(&server, boundary, &body, body.len());
    let (status, bytes, _closed) = send_expect_early_answer(&server, request);
    assert!(
        matches!(status, Some(431 | 400)),
        "expected 431 or 400, got {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
    );
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "refused multipart left {tree:?}");
    assert_idle_and_serving(&server, "oversized part headers");
}

/// A multipart body without its close delimiter, then the client closes:
/// nothing is stored — both when the client hangs up before the declared
/// length and when the declared length ends without the close delimiter.
#[test]
fn multipart_without_final_boundary_stores_nothing() {
    let root = TempDir::new("hostile-truncated-multipart");
    let server = Server::start(&root.path, &[]);
    let boundary = "truncBOUNDARY";
    let mut body = file_part(boundary, "complete.txt", &[b'z'; 10_000]);
    body.extend_from_slice(format!("--{boundary}").as_bytes());

    // 1. The client declares more than it sends, then closes its side.
    let request = multipart_request(&server, boundary, &body, body.len() + 1000);
    let mut stream = connect(server.addr);
    stream.write_all(&request).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let bytes = read_until_closed(&mut stream, DEADLINE).unwrap_or_else(|got| {
        panic!(
            "half-closed truncated upload still open; got {:?}",
            String::from_utf8_lossy(&got)
        )
    });
    if let Some(status) = status_of(&bytes) {
        assert!(
            (400..500).contains(&status),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    drop(stream);
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "truncated upload left {tree:?}");

    // 2. The declared length ends before the close delimiter: 400.
    let request = multipart_request(&server, boundary, &body, body.len());
    let (status, bytes, _closed) = send_expect_early_answer(&server, request);
    assert_eq!(status, Some(400), "{:?}", String::from_utf8_lossy(&bytes));
    let tree = list_tree(&root.path);
    assert!(tree.is_empty(), "truncated upload left {tree:?}");
    assert_idle_and_serving(&server, "multipart without final boundary");
}

/// Garbage pipelined after a valid request: the valid one is answered 200,
/// then 400, then the connection closes.
#[test]
fn pipelined_garbage_after_a_valid_request() {
    let root = TempDir::new("hostile-pipelined-garbage");
    let server = Server::start(&root.path, &[]);
    let mut conn = Conn::connect(server.addr);
    conn.stream.set_write_timeout(Some(DEADLINE)).unwrap();
    let mut request =
        format!("GET /?json HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).into_bytes();
    request.extend_from_slice(b"\x16\x03\x01 GARBAGE \x00\xff nonsense\r\n\r\n");
    conn.send(&request);
    let first = conn.read_response();
    assert_eq!(first.status, 200, "{first:?}");
    let second = conn.read_response();
    assert_eq!(second.status, 400, "{second:?}");
    assert!(
        conn.wait_closed(DEADLINE),
        "connection still open after the 400"
    );
    assert!(
        conn.leftover().is_empty(),
        "bytes after the 400: {:?}",
        String::from_utf8_lossy(conn.leftover())
    );
    assert_idle_and_serving(&server, "pipelined garbage");
}

/// A client that asks for a 64 MiB file and never reads: with
/// `--body-idle-timeout 2` the server drops the connection (its socket
/// goes away) instead of waiting forever, and is idle afterwards.
#[test]
fn client_that_never_reads_a_large_get_is_dropped() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let root = TempDir::new("hostile-never-reads");
    let file = std::fs::File::create(root.path.join("big.bin")).unwrap();
    file.set_len(SIZE).unwrap();
    drop(file);
    let server = Server::start(&root.path, &["--body-idle-timeout", "2"]);
    let baseline = socket_count(&server);

    let mut stream = connect(server.addr);
    let request = format!("GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.host());
    stream.write_all(request.as_bytes()).unwrap();
    assert!(
        wait_until(DEADLINE, || socket_count(&server) > baseline),
        "the server never accepted the connection"
    );
    // Never read: the server's writes stall once the socket buffers fill.
    assert!(
        wait_until(Duration::from_secs(30), || socket_count(&server)
            <= baseline),
        "the server still holds the connection of a client that never reads, \
         30 s after it stalled (--body-idle-timeout 2)"
    );
    // Whatever was buffered can be read, then the connection ends early.
    let received = match read_until_closed(&mut stream, DEADLINE) {
        Ok(bytes) => bytes.len() as u64,
        Err(bytes) => panic!(
            "connection still open after the server dropped it ({} bytes read)",
            bytes.len()
        ),
    };
    assert!(
        received < SIZE,
        "received the whole file ({received} bytes) although the server dropped the connection"
    );
    assert_idle_and_serving(&server, "client that never reads");
}
