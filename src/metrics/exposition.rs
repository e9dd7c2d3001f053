//! The Prometheus text exposition format, version 0.0.4: `# HELP`,
//! `# TYPE`, then one sample per line; histograms as cumulative
//! `_bucket{le="…"}` samples ending with `+Inf`, then `_sum` and `_count`.
//! Every labelled series is written for every label value, zeros included,
//! so `rate()` works from the first scrape.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::series::{
    AuthFailure, MethodLabel, Scale, TimeoutKind, UploadFailure, COUNTERS, GAUGES, HISTOGRAMS,
    MAX_BOUNDS, STATUS_CLASSES,
};
use super::worker::WorkerSlots;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Nanoseconds per second, for `Scale::NanosToSeconds`.
const NANOS_PER_SECOND: f64 = 1e9;

/// Sums one cell over every worker.
fn sum(workers: &[&WorkerSlots], cell: impl Fn(&WorkerSlots) -> &AtomicU64) -> u64 {
    workers
        .iter()
        .fold(0u64, |acc, w| acc.wrapping_add(cell(w).load(Relaxed)))
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Seconds from nanoseconds, as the text format writes a float.
fn seconds(ns: u64) -> f64 {
    // Exact up to 2^53 ns (104 days of summed latency); beyond, the last
    // digits round, which a float sample does anyway.
    ns as f64 / NANOS_PER_SECOND
}

/// A bucket bound in seconds as a label value (`0.0005`, `1`, `3600`).
fn bound_label(ns: u64) -> String {
    format!("{}", seconds(ns))
}

/// One counter family with a single label: `(name, label)`, and a sample
/// per label value.
fn labelled_counter(
    out: &mut String,
    (name, label): (&str, &str),
    help: &str,
    samples: &[(&str, u64)],
) {
    header(out, name, "counter", help);
    for (value, v) in samples {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {v}");
    }
}

/// Process-wide values that are not per worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Globals {
    pub(crate) workers: usize,
    pub(crate) resumable_open: i64,
}

/// Renders every series, summing the workers' cells.
pub(crate) fn render(workers: &[&WorkerSlots], globals: Globals) -> String {
    let mut out = String::with_capacity(16 * 1024);

    header(
        &mut out,
        "ringdrop_build_info",
        "gauge",
        "Always 1; the version is a label.",
    );
    let _ = writeln!(
        out,
        "ringdrop_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    header(
        &mut out,
        "ringdrop_workers",
        "gauge",
        "Worker threads serving requests.",
    );
    let _ = writeln!(out, "ringdrop_workers {}", globals.workers);

    header(
        &mut out,
        "ringdrop_requests_total",
        "counter",
        "Requests answered, by method and status class.",
    );
    for method in MethodLabel::ALL {
        for (class, code) in STATUS_CLASSES.iter().enumerate() {
            let v = sum(workers, |w| &w.requests[method as usize][class]);
            let _ = writeln!(
                out,
                "ringdrop_requests_total{{method=\"{}\",code=\"{code}\"}} {v}",
                method.as_str()
            );
        }
    }

    for (i, (_, name, help, scale)) in COUNTERS.iter().enumerate() {
        header(&mut out, name, "counter", help);
        let v = sum(workers, |w| &w.counters[i]);
        let _ = match scale {
            Scale::One => writeln!(out, "{name} {v}"),
            Scale::NanosToSeconds => writeln!(out, "{name} {}", seconds(v)),
        };
    }

    let failed: Vec<(&str, u64)> = UploadFailure::ALL
        .iter()
        .map(|&r| (r.as_str(), sum(workers, |w| &w.uploads_failed[r as usize])))
        .collect();
    labelled_counter(
        &mut out,
        ("ringdrop_uploads_failed_total", "reason"),
        "Upload requests that failed, by reason; nothing of them was stored.",
        &failed,
    );
    let timeouts: Vec<(&str, u64)> = TimeoutKind::ALL
        .iter()
        .map(|&k| (k.as_str(), sum(workers, |w| &w.timeouts[k as usize])))
        .collect();
    labelled_counter(
        &mut out,
        ("ringdrop_timeouts_total", "kind"),
        "Timeouts, by kind.",
        &timeouts,
    );
    let auth: Vec<(&str, u64)> = AuthFailure::ALL
        .iter()
        .map(|&a| (a.as_str(), sum(workers, |w| &w.auth_failures[a as usize])))
        .collect();
    labelled_counter(
        &mut out,
        ("ringdrop_auth_failures_total", "reason"),
        "Requests refused by access control, by reason.",
        &auth,
    );

    for (i, (_, name, help)) in GAUGES.iter().enumerate() {
        header(&mut out, name, "gauge", help);
        let v = workers
            .iter()
            .fold(0i64, |acc, w| acc.wrapping_add(w.gauges[i].load(Relaxed)));
        let _ = writeln!(out, "{name} {v}");
    }
    header(
        &mut out,
        "ringdrop_resumable_uploads_open",
        "gauge",
        "Unfinished resumable uploads on disk.",
    );
    let _ = writeln!(
        out,
        "ringdrop_resumable_uploads_open {}",
        globals.resumable_open
    );

    for (i, (_, name, help, bounds)) in HISTOGRAMS.iter().enumerate() {
        header(&mut out, name, "histogram", help);
        // Cumulative counts; `_count` is the `+Inf` bucket, so the two
        // always agree even while workers write.
        let mut cumulative = 0u64;
        for b in 0..=bounds.len().min(MAX_BOUNDS) {
            cumulative = cumulative.wrapping_add(sum(workers, |w| &w.histograms[i].buckets[b]));
            let le = bounds
                .get(b)
                .map_or_else(|| "+Inf".to_owned(), |&ns| bound_label(ns));
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let total_ns = sum(workers, |w| &w.histograms[i].sum_nanos);
        let _ = writeln!(out, "{name}_sum {}", seconds(total_ns));
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
    out
}
