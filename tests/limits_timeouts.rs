//! Timeouts and connection limits: slow or idle clients cannot hold the
//! server, and an over-full server answers 503.
//!
//! Timeouts are set to 1 s; each test then awaits the server's reaction (a
//! response, a close) with a generous deadline. Nothing here measures speed.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;

fn root_with_file() -> TempDir {
    let root = TempDir::new("root");
    std::fs::write(root.join("f.txt"), b"0123456789").unwrap();
    root
}

/// Reads whatever the server sends until it closes; it must close within the
/// deadline, and whatever it sent must be a 408 (or nothing at all).
fn assert_closed_with_optional_408(c: &mut Conn, what: &str) {
    assert!(
        c.wait_closed(EVENT_DEADLINE),
        "{what}: connection still open"
    );
    let rest = c.leftover().to_vec();
    if !rest.is_empty() {
        let rs = parse_responses(&rest, &[]);
        assert_eq!(rs.len(), 1, "{what}: {rs:?}");
        assert_json_error(&rs[0], 408);
    }
}

#[test]
fn head_timeout_answers_408_and_closes() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--head-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    c.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\nX-Half", server.host()).as_bytes());
    let r = c
        .try_read_response()
        .unwrap_or_else(|e| panic!("no 408 for a half head: {e}"));
    assert_json_error(&r, 408);
    assert!(c.wait_closed(EVENT_DEADLINE), "connection open after 408");
    assert!(server_is_alive(&server));
}

#[test]
fn slowloris_dripping_head_gets_408() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--head-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    c.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n", server.host()).as_bytes());
    let stop = Arc::new(AtomicBool::new(false));
    let mut w = c.stream.try_clone().unwrap();
    let stop2 = Arc::clone(&stop);
    // a client that keeps the head coming, one byte every 50 ms, never ending it
    let dripper = thread::spawn(move || {
        let line = b"X-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut i = 0;
        while !stop2.load(Ordering::SeqCst) && i < 600 {
            if w.write_all(&line[i % line.len()..i % line.len() + 1])
                .is_err()
            {
                break;
            }
            i += 1;
            thread::sleep(Duration::from_millis(50));
        }
    });
    let r = c
        .try_read_response()
        .unwrap_or_else(|e| panic!("dripping head not cut off: {e}"));
    stop.store(true, Ordering::SeqCst);
    dripper.join().unwrap();
    assert_json_error(&r, 408);
    assert!(c.wait_closed(EVENT_DEADLINE), "connection open after 408");
}

#[test]
fn body_idle_timeout_closes_and_leaves_nothing() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--body-idle-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /idle.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 10000\r\n\r\n",
            server.host()
        )
        .as_bytes(),
    );
    c.send(&random_bytes(100, 1));
    assert_closed_with_optional_408(&mut c, "stalled body");
    let pid = server.pid();
    assert!(
        wait_until(EVENT_DEADLINE, || tmpfile_fds(pid, &root.path).is_empty()),
        "temp file still open"
    );
    assert_no_temp_files(&root.path, &["f.txt"]);
    assert!(server_is_alive(&server));
}

#[test]
fn body_idle_timeout_is_per_gap_not_total() {
    // a slow but steady body (a byte every 100 ms, 2 s in all) outlives a 1 s
    // idle timeout: the limit is on the gap between bytes
    let root = root_with_file();
    let server = Server::start(&root.path, &["--body-idle-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    let data = b"slow-but-steady-body";
    c.send(
        format!(
            "PUT /slow.txt HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    for b in data.iter() {
        c.send(&[*b]);
        thread::sleep(Duration::from_millis(100));
    }
    let r = c.read_response();
    assert_eq!(r.status, 201, "{:?}", r.body_str());
    assert_eq!(std::fs::read(root.join("slow.txt")).unwrap(), data);
}

#[test]
fn keepalive_timeout_closes_idle_connection() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--keepalive-timeout", "1"]);
    let mut c = Conn::connect(server.addr);
    c.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert_closed_with_optional_408(&mut c, "idle keep-alive connection");
}

#[test]
fn max_connections_answers_503_beyond_the_limit() {
    let root = root_with_file();
    // one worker so the limit is counted in one place
    let server = Server::start(&root.path, &["--max-connections", "4", "--workers", "1"]);
    let req = format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host());

    // four connections, each proven accepted by a completed keep-alive request
    let mut held: Vec<Conn> = (0..4)
        .map(|_| {
            let mut c = Conn::connect(server.addr);
            c.send(req.as_bytes());
            assert_eq!(c.read_response().status, 200);
            c
        })
        .collect();

    let mut fifth = Conn::connect(server.addr);
    let _ = fifth.try_send(req.as_bytes());
    let r = fifth
        .try_read_response()
        .unwrap_or_else(|e| panic!("fifth connection: {e}"));
    assert_json_error(&r, 503);
    assert!(
        fifth.wait_closed(EVENT_DEADLINE),
        "503 connection left open"
    );

    // the held ones still work
    held[0].send(req.as_bytes());
    assert_eq!(held[0].read_response().status, 200);

    drop(held);
    // once the server has seen them go, a new connection is served again
    let ok = wait_until(EVENT_DEADLINE, || {
        let mut c = Conn::connect(server.addr);
        if c.try_send(
            format!(
                "GET /f.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        )
        .is_err()
        {
            return false;
        }
        matches!(c.try_read_response(), Ok(r) if r.status == 200)
    });
    assert!(
        ok,
        "server did not recover after the held connections closed"
    );
}

#[test]
fn stalled_connections_do_not_spin() {
    let root = root_with_file();
    let server = Server::start(&root.path, &[]);
    let pid = server.pid();
    // a half head, a stalled body and an idle keep-alive connection
    let mut half = Conn::connect(server.addr);
    half.send(b"GET /f.txt HTTP/1.1\r\nHo");
    let mut body = Conn::connect(server.addr);
    body.send(
        format!(
            "PUT /s.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 100000\r\n\r\nabc",
            server.host()
        )
        .as_bytes(),
    );
    let mut idle = Conn::connect(server.addr);
    idle.send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    assert_eq!(idle.read_response().status, 200);
    // a connection that sent garbage and went away
    if let Ok(mut s) = TcpStream::connect(server.addr) {
        let _ = s.write_all(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n");
    }

    // measure the server's CPU over one second of nobody doing anything
    let before = cpu_ticks(pid);
    thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(pid) - before;
    assert!(
        used <= 20,
        "server used {used} ticks of CPU in 1 s with only stalled clients: it spins"
    );
    assert!(server_is_alive(&server));
    drop((half, body, idle));
}
