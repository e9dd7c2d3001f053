//! Prometheus metrics: per-worker counters with no shared atomics on the
//! hot path, summed when scraped, served on their own listener.
//!
//! ```text
//!   worker 0 ──WorkerMetrics──▶ WorkerSlots (own 128-byte-aligned block) ─┐
//!   worker 1 ──WorkerMetrics──▶ WorkerSlots                               ├─▶ Registry::render
//!   …                                                                     ┘      (sum, text 0.0.4)
//!                                        "metrics" std thread: GET /metrics ──┘
//! ```
//!
//! Calling order: the server makes one [`Registry`] at start
//! ([`Registry::new`]); each worker thread calls
//! [`Registry::register_worker`] once and keeps its [`WorkerMetrics`];
//! with `--metrics ADDR:PORT` the server calls [`serve`], which binds,
//! logs `metrics on http://ADDR:PORT/metrics` and returns the bound address.
//! The catalogue of series is in [`series`]; the README's section Metrics lists them for
//! dashboards.

pub mod exposition;
pub mod listener;
pub mod series;
pub mod worker;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

pub use exposition::CONTENT_TYPE;
pub use listener::serve;
pub use series::{AuthFailure, Counter, Gauge, Histogram, MethodLabel, TimeoutKind, UploadFailure};
pub use worker::WorkerMetrics;

use worker::WorkerSlots;

/// Every worker's cells, and the few process-wide values. Shared (in an
/// `Arc`) by the workers, which register once, and the scraper.
#[derive(Debug, Default)]
pub struct Registry {
    /// Registered at start; read at each scrape. The lock is never taken on
    /// a request's path.
    workers: Mutex<Vec<Arc<WorkerSlots>>>,
    /// `ringdrop_resumable_uploads_open`: changed when a resumable upload is
    /// created, completed, terminated or expired — rare events, from any
    /// worker, so one shared atomic.
    resumable_open: AtomicI64,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    /// Adds a worker and returns its handle. Call on the worker's thread,
    /// once.
    pub fn register_worker(&self) -> WorkerMetrics {
        let slots = Arc::new(WorkerSlots::default());
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&slots));
        WorkerMetrics::new(slots)
    }

    /// Sets `ringdrop_resumable_uploads_open` (e.g. after counting the
    /// uploads found on disk at start).
    pub fn set_resumable_uploads_open(&self, open: u64) {
        self.resumable_open
            .store(i64::try_from(open).unwrap_or(i64::MAX), Relaxed);
    }

    /// Adds `delta` to `ringdrop_resumable_uploads_open` (+1 created, −1
    /// completed, terminated or expired).
    pub fn add_resumable_uploads_open(&self, delta: i64) {
        self.resumable_open.fetch_add(delta, Relaxed);
    }

    /// The text exposition of every series, summed over the workers.
    pub fn render(&self) -> String {
        let workers: Vec<Arc<WorkerSlots>> = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let slots: Vec<&WorkerSlots> = workers.iter().map(|w| &**w).collect();
        exposition::render(
            &slots,
            exposition::Globals {
                workers: slots.len(),
                resumable_open: self.resumable_open.load(Relaxed),
            },
        )
    }
}
