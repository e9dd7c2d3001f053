//! One worker's counters: written by that worker's thread only, read by the
//! scraper.
//!
//! Why this is cheap and correct without shared atomics on the hot path:
//!
//! * each worker's `WorkerSlots` is its own allocation, aligned (and so
//!   sized) to 128 bytes — two cache lines, the unit the x86 adjacent-line
//!   prefetcher pulls in — so no two workers ever write the same line;
//! * the only writer is the thread that holds the [`WorkerMetrics`], which
//!   is neither `Clone` nor `Sync`: an increment is a relaxed load and a
//!   relaxed store (plain `mov`s on x86_64, no `lock` prefix), and no
//!   update can be lost because nobody else writes;
//! * the scraper's relaxed loads see each value whole (64-bit atomics do
//!   not tear), at most an increment or two behind; a scrape pulls the
//!   lines into its own cache once, which the next write takes back.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use super::series::{
    bucket_index, nanos, status_class, AuthFailure, Counter, Gauge, Histogram, MethodLabel,
    TimeoutKind, UploadFailure, COUNTERS, GAUGES, HISTOGRAMS, MAX_BOUNDS, STATUS_CLASSES,
};

/// One histogram's cells: a count per bucket (not cumulative; the last is
/// `+Inf`) and the sum of observations in nanoseconds.
#[derive(Debug, Default)]
pub(crate) struct HistogramCells {
    pub(crate) buckets: [AtomicU64; MAX_BOUNDS + 1],
    pub(crate) sum_nanos: AtomicU64,
}

/// Every cell of one worker. Written by one thread (see the module doc).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct WorkerSlots {
    pub(crate) counters: [AtomicU64; COUNTERS.len()],
    pub(crate) gauges: [AtomicI64; GAUGES.len()],
    pub(crate) requests: [[AtomicU64; STATUS_CLASSES.len()]; MethodLabel::ALL.len()],
    pub(crate) uploads_failed: [AtomicU64; UploadFailure::ALL.len()],
    pub(crate) timeouts: [AtomicU64; TimeoutKind::ALL.len()],
    pub(crate) auth_failures: [AtomicU64; AuthFailure::ALL.len()],
    pub(crate) histograms: [HistogramCells; HISTOGRAMS.len()],
}

/// Adds `n` to a cell only this thread writes: a relaxed load and store,
/// no read-modify-write instruction.
#[inline(always)]
fn bump(cell: &AtomicU64, n: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
}

/// The metrics handle of one worker thread. Get it from
/// [`Registry::register_worker`](super::Registry::register_worker) on the
/// worker's own thread and keep it there (share it between the worker's
/// tasks with an `Rc`); it cannot be cloned or shared across threads, which
/// is what makes its plain load-and-store increments exact.
///
/// ```
/// use std::time::Duration;
/// use ringdrop::metrics::{Counter, Histogram, MethodLabel, Registry};
/// let registry = Registry::new();
/// let m = registry.register_worker();
/// m.add(Counter::ReceivedBytes, 4096);
/// m.request(MethodLabel::Put, 201);
/// m.observe(Histogram::CommitDuration, Duration::from_millis(3));
/// assert!(registry.render().contains("ringdrop_received_bytes_total 4096\n"));
/// ```
#[derive(Debug)]
pub struct WorkerMetrics {
    slots: Arc<WorkerSlots>,
    /// `Cell` is `Send` but not `Sync`: the handle may move to its worker
    /// thread, and cannot be used from two threads at once.
    _single_writer: PhantomData<Cell<()>>,
}

impl WorkerMetrics {
    pub(crate) fn new(slots: Arc<WorkerSlots>) -> WorkerMetrics {
        WorkerMetrics {
            slots,
            _single_writer: PhantomData,
        }
    }

    /// Adds `n` to a counter.
    #[inline]
    pub fn add(&self, counter: Counter, n: u64) {
        bump(&self.slots.counters[counter as usize], n);
    }

    /// Adds 1 to a counter.
    #[inline]
    pub fn inc(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Adds `delta` (may be negative) to this worker's part of a gauge.
    /// Parts are summed at scrape, so an increment on one worker and the
    /// matching decrement on another still sum right.
    #[inline]
    pub fn gauge_add(&self, gauge: Gauge, delta: i64) {
        let cell = &self.slots.gauges[gauge as usize];
        cell.store(cell.load(Relaxed).wrapping_add(delta), Relaxed);
    }

    /// Sets this worker's part of a gauge (e.g. its pool size at start).
    #[inline]
    pub fn gauge_set(&self, gauge: Gauge, value: i64) {
        self.slots.gauges[gauge as usize].store(value, Relaxed);
    }

    /// Records one observation of a histogram.
    #[inline]
    pub fn observe(&self, histogram: Histogram, duration: Duration) {
        let (_, _, _, bounds) = HISTOGRAMS[histogram as usize];
        let cells = &self.slots.histograms[histogram as usize];
        let ns = nanos(duration);
        bump(&cells.buckets[bucket_index(bounds, ns)], 1);
        bump(&cells.sum_nanos, ns);
    }

    /// Counts one answered request (`ringdrop_requests_total{method,code}`).
    #[inline]
    pub fn request(&self, method: MethodLabel, status: u16) {
        bump(
            &self.slots.requests[method as usize][status_class(status)],
            1,
        );
    }

    /// Counts one failed upload (`ringdrop_uploads_failed_total{reason}`).
    #[inline]
    pub fn upload_failed(&self, reason: UploadFailure) {
        bump(&self.slots.uploads_failed[reason as usize], 1);
    }

    /// Counts one timeout (`ringdrop_timeouts_total{kind}`).
    #[inline]
    pub fn timeout(&self, kind: TimeoutKind) {
        bump(&self.slots.timeouts[kind as usize], 1);
    }

    /// Counts one refused request (`ringdrop_auth_failures_total{reason}`).
    #[inline]
    pub fn auth_failure(&self, reason: AuthFailure) {
        bump(&self.slots.auth_failures[reason as usize], 1);
    }

    /// Counts one wait for a registered buffer and its length
    /// (`ringdrop_buffer_waits_total`, `ringdrop_buffer_wait_seconds_total`).
    #[inline]
    pub fn buffer_waited(&self, waited: Duration) {
        self.inc(Counter::BufferWaits);
        self.add(Counter::BufferWaitNanos, nanos(waited));
    }
}
