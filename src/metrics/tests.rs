//! The exposition parsed by real Prometheus parsers, through the listener:
//! Python's `prometheus_client` text parser and `promtool check metrics`.
//! Both are required (CI installs them): a missing tool fails the test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::*;

/// Prints `[sample name, {labels}, value, family type]` for every sample.
const PARSE_PY: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value, family.type])
print(json.dumps(out))
"#;

/// Samples keyed by `name{label="value",…}` (labels sorted), with their
/// family's type.
type Samples = BTreeMap<String, (f64, String)>;

fn run_with_stdin(mut cmd: Command, input: &str, what: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} is required for this test and could not run: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Parses an exposition with `prometheus_client`.
fn parse_with_python(text: &str) -> Samples {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PARSE_PY]);
    let out = run_with_stdin(
        cmd,
        text,
        "python3 with prometheus_client (pip install prometheus_client)",
    );
    assert!(
        out.status.success(),
        "prometheus_client could not parse the scrape (is it installed? pip install prometheus_client):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json from python");
    let mut samples = Samples::new();
    for row in rows.as_array().expect("array") {
        let name = row[0].as_str().expect("name");
        let labels: BTreeMap<&str, &str> = row[1]
            .as_object()
            .expect("labels")
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().expect("label value")))
            .collect();
        let key = if labels.is_empty() {
            name.to_owned()
        } else {
            let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{name}{{{}}}", inner.join(","))
        };
        let value = row[2].as_f64().expect("value");
        let kind = row[3].as_str().expect("type").to_owned();
        assert!(
            samples.insert(key.clone(), (value, kind)).is_none(),
            "duplicate sample {key}"
        );
    }
    samples
}

/// One HTTP exchange with the listener: the status code and the body.
fn get(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head[9..12].parse().expect("status code");
    (status, head.to_owned(), body.to_owned())
}

fn scrape(addr: SocketAddr) -> String {
    let (status, head, body) = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    body
}

/// A known workload on two worker threads: each thread registers its own
/// handle and counts as a worker would.
fn run_workload(registry: &Arc<Registry>, rounds: u64) {
    let threads: Vec<_> = (0..2u64)
        .map(|w| {
            let registry = Arc::clone(registry);
            std::thread::spawn(move || {
                let m = registry.register_worker();
                m.gauge_set(Gauge::Buffers, 16);
                for _ in 0..rounds {
                    m.inc(Counter::ConnectionsAccepted);
                    m.gauge_add(Gauge::ConnectionsOpen, 1);
                    m.inc(Counter::UploadsStarted);
                    m.add(Counter::ReceivedBytes, 1000 + w);
                    m.request(MethodLabel::Put, 201);
                    m.request(MethodLabel::Other, 501);
                    m.observe(Histogram::CommitDuration, Duration::from_millis(2));
                    m.observe(Histogram::LastByteToResponse, Duration::from_secs(20));
                    m.upload_failed(UploadFailure::DiskFull);
                    m.timeout(TimeoutKind::Head);
                    m.auth_failure(AuthFailure::Forbidden);
                    m.buffer_waited(Duration::from_millis(500));
                }
                m.gauge_add(Gauge::ConnectionsOpen, -1);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker thread");
    }
}

#[test]
fn scrape_parses_with_prometheus_client_and_counts_the_workload() {
    let registry = Registry::new();
    let addr = serve("127.0.0.1:0".parse().unwrap(), Arc::clone(&registry)).expect("serve");
    assert_ne!(addr.port(), 0);

    // Before any worker: every series present, all zero.
    let empty = parse_with_python(&scrape(addr));
    assert_eq!(
        empty["ringdrop_requests_total{code=\"2xx\",method=\"PUT\"}"].0,
        0.0
    );
    assert_eq!(empty["ringdrop_workers"].0, 0.0);

    run_workload(&registry, 3);
    registry.add_resumable_uploads_open(2);
    let s = parse_with_python(&scrape(addr));
    let v = |key: &str| s.get(key).unwrap_or_else(|| panic!("no sample {key}")).0;
    assert_eq!(v("ringdrop_workers"), 2.0);
    assert_eq!(
        v("ringdrop_requests_total{code=\"2xx\",method=\"PUT\"}"),
        6.0
    );
    assert_eq!(
        v("ringdrop_requests_total{code=\"5xx\",method=\"other\"}"),
        6.0
    );
    assert_eq!(
        v("ringdrop_requests_total{code=\"2xx\",method=\"GET\"}"),
        0.0
    );
    assert_eq!(
        v("ringdrop_received_bytes_total"),
        (3 * 1000 + 3 * 1001) as f64
    );
    assert_eq!(v("ringdrop_uploads_started_total"), 6.0);
    assert_eq!(
        v("ringdrop_uploads_failed_total{reason=\"disk_full\"}"),
        6.0
    );
    assert_eq!(v("ringdrop_uploads_failed_total{reason=\"timeout\"}"), 0.0);
    assert_eq!(v("ringdrop_timeouts_total{kind=\"head\"}"), 6.0);
    assert_eq!(v("ringdrop_auth_failures_total{reason=\"forbidden\"}"), 6.0);
    assert_eq!(v("ringdrop_buffer_waits_total"), 6.0);
    assert!((v("ringdrop_buffer_wait_seconds_total") - 3.0).abs() < 1e-9);
    assert_eq!(
        v("ringdrop_connections_open"),
        4.0,
        "3 opened, 1 closed, per worker"
    );
    assert_eq!(v("ringdrop_buffers"), 32.0);
    assert_eq!(v("ringdrop_resumable_uploads_open"), 2.0);
    assert_eq!(s["ringdrop_connections_open"].1, "gauge");
    assert_eq!(s["ringdrop_received_bytes_total"].1, "counter");
    // Histograms: cumulative buckets, `+Inf` = `_count`.
    let h = "ringdrop_commit_duration_seconds";
    assert_eq!(s[&format!("{h}_bucket{{le=\"0.001\"}}")].0, 0.0);
    assert_eq!(s[&format!("{h}_bucket{{le=\"0.0025\"}}")].0, 6.0);
    assert_eq!(s[&format!("{h}_bucket{{le=\"+Inf\"}}")].0, 6.0);
    assert_eq!(s[&format!("{h}_count")].0, 6.0);
    assert!((s[&format!("{h}_sum")].0 - 0.012).abs() < 1e-9);
    assert_eq!(s[&format!("{h}_count")].1, "histogram");
    let slow = "ringdrop_upload_last_byte_to_response_seconds";
    assert_eq!(s[&format!("{slow}_bucket{{le=\"10\"}}")].0, 0.0);
    assert_eq!(s[&format!("{slow}_bucket{{le=\"+Inf\"}}")].0, 6.0);

    // Counters move with more work, by exactly the work done.
    run_workload(&registry, 1);
    let again = parse_with_python(&scrape(addr));
    assert_eq!(again["ringdrop_uploads_started_total"].0, 8.0);
    assert_eq!(again["ringdrop_workers"].0, 4.0);
}

#[test]
fn scrape_passes_promtool_check_metrics() {
    let registry = Registry::new();
    let addr = serve("127.0.0.1:0".parse().unwrap(), Arc::clone(&registry)).expect("serve");
    run_workload(&registry, 2);
    let text = scrape(addr);
    let mut cmd = Command::new("promtool");
    cmd.args(["check", "metrics"]);
    let out = run_with_stdin(cmd, &text, "promtool (Debian package prometheus)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check metrics:\n{report}");
    assert!(
        report.trim().is_empty(),
        "promtool lint findings:\n{report}"
    );
}

#[test]
fn listener_answers_404_bounds_heads_and_survives_a_silent_client() {
    let registry = Registry::new();
    let addr = serve("127.0.0.1:0".parse().unwrap(), Arc::clone(&registry)).expect("serve");

    // A client that connects and says nothing holds one connection slot,
    // not the listener.
    let _silent = TcpStream::connect(addr).unwrap();
    let cases: &[(&str, &str, u16)] = &[
        ("other path", "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (
            "prefix path",
            "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
        ),
        (
            "POST",
            "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            404,
        ),
        (
            "query ignored",
            "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            200,
        ),
        ("HTTP/1.0", "GET /metrics HTTP/1.0\r\n\r\n", 200),
        ("garbage", "\x01\x02 nonsense\r\n\r\n", 400),
    ];
    for (name, request, status) in cases {
        assert_eq!(get(addr, request).0, *status, "{name}");
    }
    let (status, _, body) = get(addr, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""), "HEAD has no body");

    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(listener::MAX_METRICS_REQUEST_BYTES)
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before the whole head is written.
    let _ = stream.write_all(huge.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(
        response.starts_with(b"HTTP/1.1 431 "),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
}

#[test]
fn render_sums_workers_and_lists_every_family_once() {
    let registry = Registry::new();
    let a = registry.register_worker();
    let b = registry.register_worker();
    a.add(Counter::SentBytes, 5);
    b.add(Counter::SentBytes, 7);
    a.gauge_add(Gauge::StagedBytes, 100);
    b.gauge_add(Gauge::StagedBytes, -40);
    let text = registry.render();
    assert!(text.contains("\nringdrop_sent_bytes_total 12\n"), "{text}");
    assert!(text.contains("\nringdrop_staged_bytes 60\n"), "{text}");
    let mut types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let n = types.len();
    types.sort_unstable();
    types.dedup();
    assert_eq!(types.len(), n, "each family declared once");
    // Bounded cardinality: the whole exposition is small and fixed.
    assert!(text.lines().count() < 300, "{} lines", text.lines().count());
}

#[test]
fn worker_blocks_do_not_share_cache_lines() {
    assert_eq!(std::mem::align_of::<worker::WorkerSlots>(), 128);
    assert_eq!(std::mem::size_of::<worker::WorkerSlots>() % 128, 0);
}

/// `README.md (section Metrics)` lists exactly the families the exposition has, each
/// with its type.
#[test]
fn docs_list_every_family_with_its_type() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let text = Registry::new().render();
    let families: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    for (name, kind) in &families {
        let row = format!("| `{name}` | {kind} |");
        assert!(
            docs.contains(&row),
            "README.md (section Metrics) lacks the row {row}"
        );
    }
    let documented = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| `ringdrop_"))
        .filter_map(|l| l.split('`').next())
        .map(|rest| format!("ringdrop_{rest}"));
    for name in documented {
        assert!(
            families.iter().any(|(f, _)| *f == name),
            "README.md (section Metrics) lists {name}, which the exposition does not have"
        );
    }
}

/// The example alerts parse, fire as their unit tests expect, and are the
/// ones README.md (section Metrics) shows.
#[test]
fn alert_rules_pass_promtool() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/prometheus");
    for args in [
        ["check", "rules", "ringdrop-alerts.yml"],
        ["test", "rules", "ringdrop-alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("promtool (Debian package prometheus) is required: {e}"));
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rules = std::fs::read_to_string(format!("{dir}/ringdrop-alerts.yml")).expect("rules");
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    assert!(
        docs.contains(&rules),
        "README.md (section Metrics) must show contrib/prometheus/ringdrop-alerts.yml verbatim"
    );
}
