//! Deadlines on socket operations: the slowloris defence.
//!
//! Dropping an in-flight io_uring operation does not cancel it in
//! tokio-uring: the kernel keeps the buffer (and the socket) until the
//! operation completes. So on a timeout we shut the socket down, which makes
//! the pending receive or send complete at once, and then await the
//! operation, getting the buffer back. No operation is ever abandoned.

use std::future::Future;
use std::pin::pin;

use tokio::time::Instant;
use tokio_uring::net::TcpStream;

use super::lifecycle::Lifecycle;
use crate::sys;

/// Why a socket operation was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The deadline passed.
    Timeout,
    /// The worker is shutting down.
    Shutdown,
}

/// When a bounded operation should also give way to shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownPolicy {
    /// Only when the shutdown deadline passes (a request in flight).
    OnAbort,
    /// As soon as draining starts (an idle keep-alive connection).
    OnDrain,
}

/// Which direction of the socket an operation uses, so an interruption
/// shuts down the right half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A receive: shut down the read side (the response can still be sent).
    Read,
    /// A send: shut down both sides.
    Write,
}

/// Runs the socket operation `op` on `stream` until it completes, `deadline`
/// passes, or the worker's shutdown reaches `policy`. On an interruption the
/// socket is shut down and the operation awaited to completion, so its
/// buffer comes back: `Err((why, output))`.
pub async fn bounded<F: Future>(
    stream: &TcpStream,
    op: F,
    deadline: Instant,
    lifecycle: &Lifecycle,
    policy: ShutdownPolicy,
    direction: Direction,
) -> Result<F::Output, (Interrupted, F::Output)> {
    let mut op = pin!(op);
    let why = loop {
        let changed = lifecycle.changed();
        let stop = lifecycle.is_aborting()
            || (policy == ShutdownPolicy::OnDrain && lifecycle.is_draining());
        if stop {
            break Interrupted::Shutdown;
        }
        tokio::select! {
            biased;
            output = &mut op => return Ok(output),
            _ = tokio::time::sleep_until(deadline) => break Interrupted::Timeout,
            _ = changed => continue,
        }
    };
    let how = match direction {
        Direction::Read => libc::SHUT_RD,
        Direction::Write => libc::SHUT_RDWR,
    };
    sys::socket::shutdown(sys::fd_of(stream), how);
    let output = op.await;
    Err((why, output))
}
