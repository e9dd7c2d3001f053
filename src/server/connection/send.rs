//! Sending a file body: with `sendfile(2)` (the kernel copies page-cache
//! pages straight into the socket — no buffer, no copy in user space), or,
//! with `--no-sendfile`, with TLS in user space, or for a file `sendfile`
//! refuses before the first byte, through one registered buffer at a time,
//! held only while bytes move (`stream_range`).
//!
//! tokio-uring has no splice or sendfile operation, so `sendfile` runs as a
//! readiness loop beside the ring: for the duration of the body the socket
//! is non-blocking, `sendfile` is called until it would block, and the task
//! then waits for writability on tokio's reactor. The socket's flags are
//! restored before this module returns, on every path: no io_uring
//! operation ever runs on the socket while it is non-blocking (io_uring
//! would hand `EAGAIN` back).
//!
//! A pause longer than `--body-idle-timeout` without a byte sent, or the
//! shutdown deadline, shuts the socket down and ends the response. A file
//! shorter than the length the head announced ends the connection.
//! `sendfile` reads from disk what is not in the page cache, synchronously,
//! on the worker thread (nginx without `aio` does the same).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use tokio::time::Instant;
use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::BoundedBuf;
use tokio_uring::fs::File;

use super::exchange::Exchange;
use crate::metrics::{Gauge, WorkerMetrics};
use crate::server::deadline::Interrupted;
use crate::server::error::RequestError;
use crate::sys;

/// Most bytes one `sendfile` call is asked for. A non-blocking call returns
/// once the send buffer is full anyway; the cap bounds how long one call
/// can run when the client drains as fast as the kernel fills.
const SENDFILE_CALL_BYTES: usize = 8 << 20;

/// After this many bytes sent without waiting for the socket, the task
/// yields to the worker's other connections (a fast client never makes
/// `sendfile` block, so without this one download would hold the worker).
const YIELD_AFTER_BYTES: u64 = 16 << 20;

/// Why `sendfile` did not send the whole range.
enum SendfileError {
    /// `sendfile` cannot read this file and nothing was sent: stream it
    /// another way.
    Unsupported(std::io::Error),
    /// The response is broken off.
    Failed(RequestError),
}

fn shrank() -> RequestError {
    RequestError::Io(std::io::Error::other("file shrank while being sent"))
}

impl Exchange<'_> {
    /// Sends `len` bytes of `file` from `offset` after a head promising
    /// them. Memory does not depend on the length.
    pub(super) async fn send_file_body(
        &mut self,
        file: OwnedFd,
        offset: u64,
        len: u64,
    ) -> Result<(), RequestError> {
        if self.io.worker.config.sendfile && self.io.transport.can_sendfile() {
            match self.sendfile_range(file.as_fd(), offset, len).await {
                Ok(()) => return Ok(()),
                Err(SendfileError::Failed(err)) => return Err(err),
                Err(SendfileError::Unsupported(err)) => {
                    tracing::debug!(
                        "sendfile refused the file ({err}); streaming it through buffers"
                    );
                }
            }
        }
        let file = File::from_std(std::fs::File::from(file));
        let result = self.stream_range(&file, offset, len).await;
        let _ = file.close().await;
        result
    }

    /// `sendfile` with the socket non-blocking for the duration.
    async fn sendfile_range(
        &mut self,
        file: BorrowedFd<'_>,
        offset: u64,
        len: u64,
    ) -> Result<(), SendfileError> {
        let flags = sys::status_flags(self.io.transport.fd())
            .map_err(|e| SendfileError::Failed(RequestError::Io(e)))?;
        let nonblocking = flags | libc::O_NONBLOCK;
        if nonblocking != flags {
            sys::set_status_flags(self.io.transport.fd(), nonblocking)
                .map_err(|e| SendfileError::Failed(RequestError::Io(e)))?;
        }
        let result = self.sendfile_loop(file, offset, len).await;
        // Blocking again before any other operation on the socket.
        let restored = if nonblocking != flags {
            sys::set_status_flags(self.io.transport.fd(), flags)
        } else {
            Ok(())
        };
        match (result, restored) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(err), _) => Err(err),
            (Ok(()), Err(err)) => Err(SendfileError::Failed(RequestError::Io(err))),
        }
    }

    async fn sendfile_loop(
        &mut self,
        file: BorrowedFd<'_>,
        offset: u64,
        len: u64,
    ) -> Result<(), SendfileError> {
        let worker = self.io.worker.clone();
        let idle_timeout = worker.config.body_idle_timeout;
        let end = offset.saturating_add(len);
        let mut pos = offset;
        let mut deadline = Instant::now() + idle_timeout;
        let mut unyielded = 0u64;
        while pos < end {
            let count = usize::try_from(end - pos)
                .unwrap_or(usize::MAX)
                .min(SENDFILE_CALL_BYTES);
            match sys::socket::sendfile(self.io.transport.fd(), file, pos, count) {
                Ok(0) => return Err(SendfileError::Failed(shrank())),
                Ok(n) => {
                    pos += n as u64;
                    self.bytes_out += n as u64;
                    deadline = Instant::now() + idle_timeout;
                    unyielded += n as u64;
                    if unyielded >= YIELD_AFTER_BYTES && pos < end {
                        unyielded = 0;
                        crate::server::yield_to_worker().await;
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    unyielded = 0;
                    if let Err(why) = self
                        .io
                        .transport
                        .wait_writable(deadline, &worker.lifecycle, true)
                        .await
                    {
                        // The connection is over.
                        self.io.transport.shutdown(libc::SHUT_RDWR);
                        return Err(SendfileError::Failed(match why {
                            Interrupted::Timeout => RequestError::Timeout,
                            Interrupted::Shutdown => RequestError::ShuttingDown,
                        }));
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

    /// Streams the range through a registered buffer, block by block,
    /// holding the buffer only while bytes move: the task waits for the
    /// socket to take bytes with no buffer, then takes one, reads into it as
    /// much of the file as the socket's send buffer has room for (at most a
    /// buffer), seals it with TLS, sends it without waiting, and gives the
    /// buffer back. What the socket did not take is read from the file again
    /// next time (plain TCP), or — sealed records cannot be sealed again —
    /// kept in a small vector of the connection's own until the socket
    /// takes it (TLS; at most what the room estimate missed). So a client
    /// that reads slowly holds no buffer, however many of them there are.
    async fn stream_range(
        &mut self,
        file: &File,
        mut offset: u64,
        len: u64,
    ) -> Result<(), RequestError> {
        let worker = self.io.worker.clone();
        let idle_timeout = worker.config.body_idle_timeout;
        // With TLS, each block is sealed in place in its buffer: it holds
        // less plaintext than the buffer's size.
        let capacity = self
            .io
            .transport
            .plaintext_capacity(worker.pool.buffer_size_bytes());
        let end = offset.saturating_add(len);
        // Sealed bytes the socket has not taken yet (TLS only).
        let mut unsent: Vec<u8> = Vec::new();
        let mut would_block = false;
        let mut deadline = Instant::now() + idle_timeout;
        loop {
            if let Err(why) = self
                .io
                .transport
                .wait_writable(deadline, &worker.lifecycle, would_block)
                .await
            {
                return Err(match why {
                    Interrupted::Timeout => RequestError::Timeout,
                    Interrupted::Shutdown => RequestError::ShuttingDown,
                });
            }
            if !unsent.is_empty() {
                let sent = send_now(self.io.transport.fd(), &unsent)?;
                unsent.drain(..sent);
                would_block = !unsent.is_empty();
                if sent > 0 {
                    deadline = Instant::now() + idle_timeout;
                }
                continue;
            }
            if offset >= end {
                return Ok(());
            }
            let room = sys::socket::send_room(self.io.transport.fd()).max(MIN_BLOCK_BYTES);
            let want = usize::try_from(end - offset)
                .unwrap_or(usize::MAX)
                .min(capacity)
                .min(room);
            let buf = worker
                .pool
                .acquire(idle_timeout)
                .await
                .ok_or(RequestError::Busy)?;
            let _counted = BufferInUse::count(&worker.metrics);
            let (mut buf, plain) =
                read_block(file, buf, offset, offset + want as u64, capacity).await?;
            let wire = self
                .io
                .transport
                .seal_in_place(&mut buf, plain)
                .map_err(RequestError::Io)?;
            let sent = send_now(self.io.transport.fd(), &buf[..wire])?;
            if self.io.transport.is_tls() {
                // The block's records are sealed: all of it counts as sent,
                // what the socket did not take waits in `unsent`.
                unsent.extend_from_slice(&buf[sent..wire]);
                offset += plain as u64;
                self.bytes_out += plain as u64;
            } else {
                // The rest is read from the file again next time.
                offset += sent as u64;
                self.bytes_out += sent as u64;
            }
            drop(buf);
            would_block = sent < wire;
            if sent > 0 {
                deadline = Instant::now() + idle_timeout;
            }
        }
    }
}

/// A registered buffer a download holds, counted in
/// `ringdrop_buffers_in_use` until it goes back (whichever way the block
/// ends).
struct BufferInUse<'a>(&'a WorkerMetrics);

impl<'a> BufferInUse<'a> {
    fn count(metrics: &'a WorkerMetrics) -> BufferInUse<'a> {
        metrics.gauge_add(Gauge::BuffersInUse, 1);
        BufferInUse(metrics)
    }
}

impl Drop for BufferInUse<'_> {
    fn drop(&mut self) {
        self.0.gauge_add(Gauge::BuffersInUse, -1);
    }
}

/// The smallest block read for a client whose send buffer looks full (the
/// socket was just reported writable, so it takes at least some bytes).
const MIN_BLOCK_BYTES: usize = 16 * 1024;

/// Sends as much of `bytes` as the socket takes now (0 when it is full).
fn send_now(socket: BorrowedFd<'_>, bytes: &[u8]) -> Result<usize, RequestError> {
    let mut sent = 0;
    while sent < bytes.len() {
        match sys::socket::send_now(socket, &bytes[sent..]) {
            Ok(n) => sent += n,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(RequestError::Io(err)),
        }
    }
    Ok(sent)
}

/// Reads the next block (at most `capacity` bytes, never past `end`) at
/// `offset` into `buf`. A read of 0 before `end` means the file shrank
/// after the head announced its length.
async fn read_block(
    file: &File,
    buf: FixedBuf,
    offset: u64,
    end: u64,
    capacity: usize,
) -> Result<(FixedBuf, usize), RequestError> {
    let want = usize::try_from(end - offset)
        .unwrap_or(usize::MAX)
        .min(capacity);
    let (res, slice) = file.read_fixed_at(buf.slice(0..want), offset).await;
    let buf = slice.into_inner();
    match res {
        Ok(0) => Err(shrank()),
        Ok(n) => Ok((buf, n)),
        Err(err) => Err(RequestError::Io(err)),
    }
}

/// `sendfile` refuses this kind of file (rather than failing on the socket).
fn unsupported(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}
