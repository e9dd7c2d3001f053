//! A worker's shutdown state, shared by its connections.
//!
//! Two phases after SIGINT/SIGTERM: *draining* (stop accepting; idle
//! keep-alive connections close; requests in flight go on, and their
//! connections close after the response) and *aborting* (the shutdown
//! deadline passed: every pending socket operation is interrupted, so the
//! requests fail, clean up their staged files and end).

use std::cell::Cell;

use tokio::sync::Notify;

/// The shutdown phase of one worker. Single-threaded (one per runtime).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: Cell<bool>,
    aborting: Cell<bool>,
    changed: Notify,
}

impl Lifecycle {
    /// Stop accepting and close idle connections.
    pub fn start_draining(&self) {
        self.draining.set(true);
        self.changed.notify_waiters();
    }

    /// Interrupt everything still running.
    pub fn abort(&self) {
        self.draining.set(true);
        self.aborting.set(true);
        self.changed.notify_waiters();
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.get()
    }

    /// True once the shutdown deadline has passed.
    pub fn is_aborting(&self) -> bool {
        self.aborting.get()
    }

    /// Resolves at the next phase change. Create it *before* checking the
    /// flags: a `Notified` future sees every `notify_waiters` call made after
    /// its creation, even before its first poll, so no change is missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}
