//! Observability (SPEC "Observability"), through the real binary: the
//! `--metrics` listener scraped while a known workload runs, the scrape
//! parsed by a real Prometheus parser (Python's `prometheus_client`, which
//! CI installs: a missing parser fails the test), and the counters checked
//! to move as the workload says.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const PARSE_PY: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        key = s.name + "".join("{%s=%s}" % (k, v) for k, v in sorted(s.labels.items()))
        out[key] = s.value
print(json.dumps(out))
"#;

/// `name{label=value}{label=value}` → value, parsed by prometheus_client.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut child = Command::new("python3")
        .args(["-c", PARSE_PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is required");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse the scrape (pip install prometheus_client):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    parse_flat_json(&json)
}

/// `{"key": number, ...}` as written by the script above.
fn parse_flat_json(json: &str) -> BTreeMap<String, f64> {
    let value: serde_json::Value = serde_json::from_str(json).expect("json");
    value
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().expect("number")))
        .collect()
}

fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    parse(body)
}

/// The metrics address from the server's start-up log line.
fn metrics_addr(server: &Server) -> SocketAddr {
    let mut found = None;
    assert!(server.wait_for_stderr(EVENT_DEADLINE, |line| line.contains("metrics on http://")));
    for line in server.stderr_lines() {
        if let Some(rest) = line.split("metrics on http://").nth(1) {
            found = rest.split('/').next().and_then(|a| a.parse().ok());
        }
    }
    found.expect("metrics address in the log")
}

/// TCP sockets the server holds for clients (established or closing),
/// from /proc: its listening sockets are not counted.
fn socket_count_of(pid: u32) -> usize {
    let inodes: Vec<String> = open_fd_targets(pid)
        .into_iter()
        .filter_map(|t| {
            t.strip_prefix("socket:[")
                .map(|s| s.trim_end_matches(']').to_owned())
        })
        .collect();
    let tcp = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    tcp.lines()
        .skip(1)
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 9 && cols[3] != "0A" && inodes.iter().any(|i| i == cols[9])
        })
        .count()
}

fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[test]
fn counters_move_as_a_known_workload_runs() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--metrics", "127.0.0.1:0"]);
    let addr = metrics_addr(&server);
    let before = scrape(addr);
    assert!(before.contains_key("ringdrop_buffers"), "{before:?}");

    // 3 uploads stored, 1 refused for its digest, 2 downloads, 1 miss.
    let data = random_bytes(300_000, 1);
    for i in 0..3 {
        assert_eq!(put(&server, &format!("/f{i}.bin"), "", &data).status, 201);
    }
    let wrong = "Content-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:\r\n";
    assert_eq!(put(&server, "/bad.bin", wrong, &data).status, 400);
    for _ in 0..2 {
        assert_eq!(get(&server, "/f0.bin", "").status, 200);
    }
    assert_eq!(get(&server, "/missing", "").status, 404);

    // A request is counted once its response is out: the last one may be
    // counted a moment after the client read it.
    let last = "ringdrop_requests_total{code=4xx}{method=GET}";
    let mut after = BTreeMap::new();
    assert!(wait_until(EVENT_DEADLINE, || {
        after = scrape(addr);
        value(&after, last) - value(&before, last) == 1.0
    }));
    let delta = |key: &str| value(&after, key) - value(&before, key);
    assert_eq!(
        delta("ringdrop_requests_total{code=2xx}{method=PUT}"),
        3.0,
        "{after:?}"
    );
    assert_eq!(delta("ringdrop_requests_total{code=4xx}{method=PUT}"), 1.0);
    assert_eq!(delta("ringdrop_requests_total{code=2xx}{method=GET}"), 2.0);
    assert_eq!(delta("ringdrop_requests_total{code=4xx}{method=GET}"), 1.0);
    assert_eq!(delta("ringdrop_uploads_started_total"), 4.0);
    assert_eq!(delta("ringdrop_uploads_committed_total"), 3.0);
    assert_eq!(
        delta("ringdrop_uploads_failed_total{reason=digest_mismatch}"),
        1.0
    );
    assert_eq!(delta("ringdrop_digest_mismatches_total"), 1.0);
    assert_eq!(delta("ringdrop_files_committed_total"), 3.0);
    assert_eq!(
        delta("ringdrop_committed_bytes_total"),
        3.0 * data.len() as f64
    );
    assert!(delta("ringdrop_received_bytes_total") >= 4.0 * data.len() as f64);
    assert!(delta("ringdrop_sent_bytes_total") >= 2.0 * data.len() as f64);
    assert_eq!(delta("ringdrop_commit_duration_seconds_count"), 3.0);
    assert_eq!(delta("ringdrop_upload_duration_seconds_count"), 3.0);
    // Every upload whose body arrived, the refused digest included.
    assert_eq!(
        delta("ringdrop_upload_last_byte_to_response_seconds_count"),
        4.0
    );
    assert!(delta("ringdrop_connections_accepted_total") >= 7.0);
    // Nothing left in flight.
    assert_eq!(value(&after, "ringdrop_staged_bytes"), 0.0);
    assert_eq!(value(&after, "ringdrop_buffers_in_use"), 0.0);
}

#[test]
fn refusals_and_timeouts_are_counted() {
    let root = TempDir::new("root");
    let server = Server::start(
        &root.path,
        &[
            "--metrics",
            "127.0.0.1:0",
            "--head-timeout",
            "1s",
            "--max-connections",
            "2",
            "--workers",
            "1",
        ],
    );
    let addr = metrics_addr(&server);
    // A head that never finishes: 408 and a head timeout.
    let mut slow = Conn::connect(server.addr);
    slow.send(b"GET / HTTP/1.1\r\n");
    assert_json_error(&slow.read_response(), 408);
    drop(slow);
    // Its slot is free once the server has closed it (after lingering).
    let free = |n| wait_until(EVENT_DEADLINE, || socket_count_of(server.pid()) == n);
    assert!(free(0), "the timed-out connection still holds its slot");
    // Two uploads in their body hold both slots: a third client gets 503.
    let mut busy: Vec<Conn> = (0..2)
        .map(|i| {
            let mut c = Conn::connect(server.addr);
            c.send(
                format!(
                    "PUT /u{i} HTTP/1.1\r\nHost: {}\r\nContent-Length: 5\r\n\r\nab",
                    server.host()
                )
                .as_bytes(),
            );
            c
        })
        .collect();
    assert!(wait_until(EVENT_DEADLINE, || tmpfile_fds(
        server.pid(),
        &root.path
    )
    .len()
        == 2));
    let mut third = Conn::connect(server.addr);
    let _ = third.try_send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_json_error(&third.try_read_response().unwrap(), 503);
    for c in &mut busy {
        c.send(b"cde");
        assert_eq!(c.read_response().status, 201);
    }
    let mut after = BTreeMap::new();
    assert!(wait_until(EVENT_DEADLINE, || {
        after = scrape(addr);
        value(&after, "ringdrop_connections_refused_total") == 1.0
    }));
    assert_eq!(
        value(&after, "ringdrop_timeouts_total{kind=head}"),
        1.0,
        "{after:?}"
    );
}

#[test]
fn auth_failures_are_counted() {
    let root = TempDir::new("root");
    let hash = {
        let mut child = Command::new(BIN)
            .arg("hash-password")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let server = Server::start(
        &root.path,
        &[
            "--metrics",
            "127.0.0.1:0",
            "--user",
            &format!("u:{hash}"),
            "--allow",
            "u:/:read",
        ],
    );
    let addr = metrics_addr(&server);
    assert_eq!(get(&server, "/", "").status, 401);
    assert_eq!(
        get(&server, "/", "Authorization: Basic dTp3cm9uZw==\r\n").status,
        401
    );
    assert_eq!(
        put(&server, "/x", "Authorization: Basic dTpwdw==\r\n", b"x").status,
        403
    );
    let forbidden = "ringdrop_auth_failures_total{reason=forbidden}";
    let mut after = BTreeMap::new();
    assert!(wait_until(EVENT_DEADLINE, || {
        after = scrape(addr);
        value(&after, forbidden) == 1.0
    }));
    assert_eq!(
        value(&after, "ringdrop_auth_failures_total{reason=missing}"),
        1.0,
        "{after:?}"
    );
    assert_eq!(
        value(&after, "ringdrop_auth_failures_total{reason=invalid}"),
        1.0
    );
    assert_eq!(
        value(&after, "ringdrop_auth_failures_total{reason=forbidden}"),
        1.0
    );
}

/// One raw request on a new connection; the final response (any 1xx
/// before it skipped).
fn tus(server: &Server, method: &str, path: &str, headers: &str, body: &[u8]) -> Response {
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nTus-Resumable: 1.0.0\r\n{headers}Content-Length: {}\r\n\r\n",
            server.host(),
            body.len()
        )
        .as_bytes(),
    );
    c.send(body);
    loop {
        let r = c.read_response();
        if r.status >= 200 {
            return r;
        }
    }
}

#[test]
fn resumable_uploads_are_counted() {
    let root = TempDir::new("root");
    let server = Server::start(&root.path, &["--metrics", "127.0.0.1:0"]);
    let addr = metrics_addr(&server);
    let before = scrape(addr);
    let data = random_bytes(100_000, 7);
    // "f.bin" in base64, for Upload-Metadata.
    let created = tus(
        &server,
        "POST",
        "/",
        "Upload-Length: 100000\r\nUpload-Metadata: filename Zi5iaW4=\r\n",
        b"",
    );
    assert_eq!(created.status, 201, "{created:?}");
    let location = created.header("location").unwrap().to_owned();
    let path = location
        .split_once("://")
        .map_or(location.as_str(), |(_, rest)| {
            &rest[rest.find('/').unwrap()..]
        });
    let octets = "Content-Type: application/offset+octet-stream\r\n";
    let mid = scrape(addr);
    assert_eq!(
        value(&mid, "ringdrop_resumable_uploads_open"),
        1.0,
        "{mid:?}"
    );
    // A PATCH at the wrong offset is refused (409): a failed upload request.
    let wrong = tus(
        &server,
        "PATCH",
        path,
        &format!("Upload-Offset: 5\r\n{octets}"),
        b"x",
    );
    assert_eq!(wrong.status, 409);
    // Two PATCHes complete it.
    let half = data.len() / 2;
    for (offset, part) in [(0, &data[..half]), (half, &data[half..])] {
        let r = tus(
            &server,
            "PATCH",
            path,
            &format!("Upload-Offset: {offset}\r\n{octets}"),
            part,
        );
        assert_eq!(r.status, 204, "{r:?}");
    }
    assert_eq!(sha256_file(&root.join("f.bin")), sha256_hex(&data));
    let mut after = BTreeMap::new();
    let last = "ringdrop_requests_total{code=2xx}{method=PATCH}";
    assert!(wait_until(EVENT_DEADLINE, || {
        after = scrape(addr);
        value(&after, last) - value(&before, last) == 2.0
    }));
    let delta = |key: &str| value(&after, key) - value(&before, key);
    assert_eq!(
        value(&after, "ringdrop_resumable_uploads_open"),
        0.0,
        "{after:?}"
    );
    assert_eq!(
        delta("ringdrop_requests_total{code=4xx}{method=PATCH}"),
        1.0
    );
    assert_eq!(delta("ringdrop_uploads_failed_total{reason=refused}"), 1.0);
    assert_eq!(delta("ringdrop_files_committed_total"), 1.0);
    assert_eq!(delta("ringdrop_committed_bytes_total"), data.len() as f64);
}
