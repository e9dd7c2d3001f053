//! The hot-path cost of counting: one `WorkerMetrics` call per iteration,
//! as a worker makes them per request or per buffer, against a plain local
//! `u64` add (the floor) and a `fetch_add` on an `AtomicU64` (what a shared
//! counter would cost even uncontended). Each iteration is one call, so
//! criterion's time per iteration is the cost per call.
//!
//! Run: `cargo bench --bench metrics`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ringdrop::metrics::{Counter, Histogram, MethodLabel, Registry};

fn bench(c: &mut Criterion) {
    let registry = Registry::new();
    let m = registry.register_worker();
    let mut group = c.benchmark_group("metrics");

    let mut local = 0u64;
    group.bench_function("local u64 add (floor)", |b| {
        b.iter(|| local = local.wrapping_add(black_box(1)))
    });
    let shared = AtomicU64::new(0);
    group.bench_function("AtomicU64::fetch_add (not used)", |b| {
        b.iter(|| shared.fetch_add(black_box(1), Ordering::Relaxed))
    });
    group.bench_function("WorkerMetrics::add", |b| {
        b.iter(|| m.add(black_box(Counter::ReceivedBytes), black_box(4096)))
    });
    group.bench_function("WorkerMetrics::request", |b| {
        b.iter(|| m.request(black_box(MethodLabel::Put), black_box(201)))
    });
    group.bench_function("WorkerMetrics::observe", |b| {
        b.iter(|| {
            m.observe(
                Histogram::CommitDuration,
                black_box(Duration::from_micros(700)),
            )
        })
    });
    group.finish();

    // The calls above were counted: the scrape shows them.
    let text = registry.render();
    assert!(!text.contains("\nringdrop_received_bytes_total 0\n"));
    black_box(local);
}

criterion_group!(benches, bench);
criterion_main!(benches);
