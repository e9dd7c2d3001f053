//! File bodies with `sendfile(2)`: the kernel copies page-cache pages
//! straight into the socket, with no registered buffer and no copy through
//! user space.
//!
//! tokio-uring has no splice or sendfile operation, so this is a readiness
//! loop beside the ring: for the duration of the body the socket is put in
//! non-blocking mode, `sendfile` is called until it would block, and then
//! the task waits for writability on tokio's reactor (an `AsyncFd` over a
//! *duplicate* of the socket descriptor, so dropping it closes only the
//! duplicate). The socket's flags are restored before this module returns,
//! on every path: no io_uring operation ever runs on the socket while it is
//! non-blocking (io_uring would hand `EAGAIN` back to its caller).
//!
//! The connection's rules stay those of the buffered path: a pause longer
//! than `--body-idle-timeout` without a byte sent, or the shutdown deadline,
//! shuts the socket down and ends the response. A file that is shorter than
//! the length the head announced ends the connection.
//!
//! `sendfile` reads from disk whatever is not in the page cache, and does so
//! synchronously, on the worker thread (nginx without `aio` does the same);
//! the kernel's sequential read-ahead keeps most of those waits short. An
//! explicit `POSIX_FADV_WILLNEED` window in front of the bytes being sent
//! was measured and made things worse (the advice call itself blocks the
//! worker while it allocates and submits the reads): BENCHMARKS.md.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use super::conn::Conn;
use super::error::RequestError;
use crate::storage::sys;

/// Most bytes one `sendfile` call is asked for. A non-blocking call returns
/// once the send buffer is full anyway; the cap bounds how long one call
/// can run when the client drains as fast as the kernel fills.
const CALL_BYTES: usize = 8 << 20;

/// After this many bytes sent without waiting for the socket, the task
/// yields to the worker's other connections (a fast client never makes
/// `sendfile` block, so without this one download would hold the worker).
const YIELD_AFTER_BYTES: u64 = 16 << 20;

/// Why [`send_range`] did not send the whole range.
#[derive(Debug)]
pub enum SendfileError {
    /// `sendfile` cannot read this file (`EINVAL`, `ENOSYS`, `EOPNOTSUPP`)
    /// and nothing was sent: the caller may stream it another way.
    Unsupported(std::io::Error),
    /// The response is broken off; the connection must close.
    Failed(RequestError),
}

/// Sends `len` bytes of `file` from `offset` on the connection's socket with
/// `sendfile`. Memory does not depend on the length (nothing is buffered in
/// user space). `conn.bytes_out` counts what was sent.
pub async fn send_range(
    conn: &mut Conn,
    file: &OwnedFd,
    offset: u64,
    len: u64,
) -> Result<(), SendfileError> {
    let socket = conn.stream.as_raw_fd();
    let mode =
        NonBlocking::enter(socket).map_err(|e| SendfileError::Failed(RequestError::Io(e)))?;
    let result = pump(conn, socket, file.as_raw_fd(), offset, len).await;
    // The socket goes back to blocking mode before any other operation.
    match (result, mode.restore()) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(err), _) => Err(err),
        (Ok(()), Err(err)) => Err(SendfileError::Failed(RequestError::Io(err))),
    }
}

/// The send loop of [`send_range`], with the socket non-blocking.
async fn pump(
    conn: &mut Conn,
    socket: RawFd,
    file: RawFd,
    offset: u64,
    len: u64,
) -> Result<(), SendfileError> {
    let worker = conn.worker.clone();
    let idle_timeout = worker.config.body_idle_timeout;
    let lifecycle = &worker.lifecycle;
    let end = offset.saturating_add(len);
    let mut pos = offset;
    let mut deadline = Instant::now() + idle_timeout;
    let mut unyielded = 0u64;
    // Created at the first `WouldBlock`: small files never need it.
    let mut writable: Option<AsyncFd<OwnedFd>> = None;
    let interrupted = |why: RequestError| {
        // As `deadline::bounded` does: the connection is over.
        sys::shutdown_socket(socket, libc::SHUT_RDWR);
        Err(SendfileError::Failed(why))
    };
    while pos < end {
        if lifecycle.is_aborting() {
            return interrupted(RequestError::Timeout);
        }
        let count = usize::try_from(end - pos)
            .unwrap_or(usize::MAX)
            .min(CALL_BYTES);
        match sys::sendfile(socket, file, pos, count) {
            Ok(0) => {
                return Err(SendfileError::Failed(RequestError::Io(
                    std::io::Error::other("file shrank while being sent"),
                )));
            }
            Ok(n) => {
                pos += n as u64;
                conn.bytes_out += n as u64;
                deadline = Instant::now() + idle_timeout;
                unyielded += n as u64;
                if unyielded >= YIELD_AFTER_BYTES && pos < end {
                    unyielded = 0;
                    yield_to_worker().await;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                unyielded = 0;
                let fd = match &mut writable {
                    Some(fd) => fd,
                    None => {
                        let fd = sys::write_readiness(socket)
                            .map_err(|e| SendfileError::Failed(RequestError::Io(e)))?;
                        writable.insert(fd)
                    }
                };
                let changed = lifecycle.changed();
                if lifecycle.is_aborting() {
                    return interrupted(RequestError::Timeout);
                }
                tokio::select! {
                    biased;
                    ready = fd.writable() => match ready {
                        // Readiness is cleared before the next try: a later
                        // edge sets it again, so no wake-up is lost.
                        Ok(mut guard) => guard.clear_ready(),
                        Err(err) => return Err(SendfileError::Failed(RequestError::Io(err))),
                    },
                    _ = tokio::time::sleep_until(deadline) => {
                        return interrupted(RequestError::Timeout);
                    }
                    _ = changed => {}
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) if pos == offset && unsupported(&err) => {
                return Err(SendfileError::Unsupported(err));
            }
            Err(err) => return Err(SendfileError::Failed(RequestError::Io(err))),
        }
    }
    Ok(())
}

/// `sendfile` refuses this kind of file (rather than failing on the socket).
fn unsupported(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// Lets the worker's other tasks run. An io_uring no-op rather than
/// `yield_now`: the task then waits until the worker has parked, which is
/// when tokio-uring submits the operations the other connections queued.
async fn yield_to_worker() {
    if tokio_uring::no_op().await.is_err() {
        tokio::task::yield_now().await;
    }
}

/// A socket switched to non-blocking mode; [`NonBlocking::restore`] (or, on
/// an early exit, `Drop`) puts its previous flags back.
struct NonBlocking {
    fd: RawFd,
    saved: Option<libc::c_int>,
}

impl NonBlocking {
    fn enter(fd: RawFd) -> std::io::Result<NonBlocking> {
        let flags = sys::status_flags(fd)?;
        if flags & libc::O_NONBLOCK != 0 {
            return Ok(NonBlocking { fd, saved: None });
        }
        sys::set_status_flags(fd, flags | libc::O_NONBLOCK)?;
        Ok(NonBlocking {
            fd,
            saved: Some(flags),
        })
    }

    fn restore(mut self) -> std::io::Result<()> {
        match self.saved.take() {
            Some(flags) => sys::set_status_flags(self.fd, flags),
            None => Ok(()),
        }
    }
}

impl Drop for NonBlocking {
    fn drop(&mut self) {
        if let Some(flags) = self.saved.take() {
            let _ = sys::set_status_flags(self.fd, flags);
        }
    }
}
