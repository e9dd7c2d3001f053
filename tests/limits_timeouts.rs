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
fn at_the_connection_limit_the_longest_idle_connection_makes_room() {
    let root = root_with_file();
    // one worker so the limit is counted in one place
    let server = Server::start(&root.path, &["--max-connections", "4", "--workers", "1"]);
    let req = format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host());

    // four idle keep-alive connections, oldest first, each proven accepted
    // by a completed request
    let mut held: Vec<Conn> = (0..4)
        .map(|_| {
            let mut c = Conn::connect(server.addr);
            c.send(req.as_bytes());
            assert_eq!(c.read_response().status, 200);
            thread::sleep(Duration::from_millis(20));
            c
        })
        .collect();

    // a fifth client is served, not refused ...
    let mut fifth = Conn::connect(server.addr);
    fifth.send(req.as_bytes());
    let r = fifth
        .try_read_response()
        .unwrap_or_else(|e| panic!("fifth connection: {e}"));
    assert_eq!(r.status, 200, "{}", r.body_str());
    // ... because the one that had waited longest was closed, silently
    assert!(
        held[0].wait_closed(EVENT_DEADLINE),
        "the oldest idle connection was not closed"
    );
    assert!(
        held[0].leftover().is_empty(),
        "an evicted connection gets no response"
    );
    // the others still work
    for c in &mut held[1..] {
        c.send(req.as_bytes());
        assert_eq!(c.read_response().status, 200);
    }
    fifth.send(req.as_bytes());
    assert_eq!(fifth.read_response().status, 200);
}

#[test]
fn max_connections_answers_503_when_no_connection_is_idle() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--max-connections", "4", "--workers", "1"]);
    // four connections busy with uploads (head and some body sent): none is
    // idle, so none can be closed to make room
    let mut busy: Vec<Conn> = (0..4)
        .map(|i| {
            let mut c = Conn::connect(server.addr);
            c.send(
                format!(
                    "PUT /u{i}.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: 10\r\n\r\n01234",
                    server.host()
                )
                .as_bytes(),
            );
            c
        })
        .collect();
    // the fourth upload is in (its staged file exists) before the fifth comes
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .len()
        == 4));

    let mut fifth = Conn::connect(server.addr);
    let _ = fifth
        .try_send(format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes());
    let r = fifth
        .try_read_response()
        .unwrap_or_else(|e| panic!("fifth connection: {e}"));
    assert_json_error(&r, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        fifth.wait_closed(EVENT_DEADLINE),
        "503 connection left open"
    );

    // the uploads finish and are stored
    for (i, c) in busy.iter_mut().enumerate() {
        c.send(b"56789");
        assert_eq!(c.read_response().status, 201);
        assert_eq!(
            std::fs::read(root.join(&format!("u{i}.bin"))).unwrap(),
            b"0123456789"
        );
    }
}

#[test]
fn max_connections_per_ip_refuses_the_extra_connections_of_one_address() {
    let root = root_with_file();
    let server = Server::start(&root.path, &["--max-connections-per-ip", "2"]);
    let req = format!("GET /f.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.host());
    let mut held: Vec<Conn> = (0..2)
        .map(|_| {
            let mut c = Conn::connect(server.addr);
            c.send(req.as_bytes());
            assert_eq!(c.read_response().status, 200);
            c
        })
        .collect();
    let mut third = Conn::connect(server.addr);
    let _ = third.try_send(req.as_bytes());
    let r = third
        .try_read_response()
        .unwrap_or_else(|e| panic!("third connection: {e}"));
    assert_json_error(&r, 503);
    assert_eq!(
        r.json().get("error").and_then(Json::as_str),
        Some("too_many_connections_from_address")
    );
    // when one goes, a new one is served
    drop(held.pop());
    let ok = wait_until(EVENT_DEADLINE, || {
        let mut c = Conn::connect(server.addr);
        c.try_send(req.as_bytes()).is_ok()
            && matches!(c.try_read_response(), Ok(r) if r.status == 200)
    });
    assert!(ok, "a slot freed by a closed connection was not reused");
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
