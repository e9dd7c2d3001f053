//! The per-worker pool of registered (fixed) buffers that every upload byte
//! moves through.
//!
//! The pool is fixed at start-up: when it is empty a connection waits for a
//! buffer — always with a deadline, since tokio-uring's `next()` "will never
//! resolve" if no buffer is ever returned — and nothing allocates a new one.

use std::cell::Cell;
use std::io;
use std::time::Duration;

use tokio_uring::buf::fixed::{FixedBuf, FixedBufPool};

use super::aligned::AlignedBuf;

/// A worker's registered buffers, all of one size.
pub struct BufferPool {
    pool: FixedBufPool<AlignedBuf>,
    buffer_size_bytes: usize,
    /// Buffers in the pool.
    count: usize,
    /// Uploads currently using the pool (see [`BufferPool::enter`]).
    users: Cell<usize>,
}

/// One upload's claim on a fair share of the pool; gone when dropped.
pub struct PoolUser<'a> {
    pool: &'a BufferPool,
}

impl Drop for PoolUser<'_> {
    fn drop(&mut self) {
        self.pool.users.set(self.pool.users.get().saturating_sub(1));
    }
}

/// Why the pool could not be set up, in words a user can act on.
#[derive(Debug)]
pub struct PoolSetupError {
    /// Bytes the buffers of all workers need locked.
    pub needed_bytes: u64,
    /// The RLIMIT_MEMLOCK soft limit, when one applies.
    pub memlock_limit_bytes: Option<u64>,
    /// What the kernel said, when registering failed.
    pub source: Option<io::Error>,
}

impl std::fmt::Display for PoolSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "registered buffers need {} KiB of locked memory",
            self.needed_bytes / 1024
        )?;
        if let Some(limit) = self.memlock_limit_bytes {
            write!(f, " but RLIMIT_MEMLOCK allows {} KiB", limit / 1024)?;
        }
        if let Some(err) = &self.source {
            write!(f, " (io_uring buffer registration failed: {err})")?;
        }
        f.write_str("; raise `ulimit -l`, or lower --buffers / --buffer-size / --workers")
    }
}

impl std::error::Error for PoolSetupError {}

/// Bytes the kernel charges for pinning `count` buffers of `size` bytes,
/// with two pages per buffer of headroom (a size that is not a whole number
/// of pages is rounded up).
pub fn pinned_bytes(count: u64, buffer_size_bytes: u64) -> u64 {
    const PAGE_BYTES: u64 = 4096;
    count.saturating_mul(buffer_size_bytes.saturating_add(2 * PAGE_BYTES))
}

/// Checks, before any worker starts, that `needed_bytes` of registered
/// buffers fit under RLIMIT_MEMLOCK (raised to its hard limit first). With
/// CAP_IPC_LOCK the kernel does not charge them, so anything fits.
pub fn check_memlock(needed_bytes: u64) -> Result<(), PoolSetupError> {
    if crate::sys::process::has_cap_ipc_lock() {
        return Ok(());
    }
    match crate::sys::process::memlock_limit() {
        Ok(Some(limit)) if limit < needed_bytes => Err(PoolSetupError {
            needed_bytes,
            memlock_limit_bytes: Some(limit),
            source: None,
        }),
        _ => Ok(()),
    }
}

/// The default number of buffers per worker when `--buffers` is not given:
/// `preferred`, or fewer if that many would not fit under RLIMIT_MEMLOCK
/// (the usual 8 MiB for a non-root user), but never fewer than `minimum` —
/// if even that does not fit, [`check_memlock`] says so at start-up.
pub fn buffers_that_fit(
    workers: usize,
    buffer_size_bytes: usize,
    preferred: usize,
    minimum: usize,
) -> usize {
    if crate::sys::process::has_cap_ipc_lock() {
        return preferred;
    }
    match crate::sys::process::memlock_limit() {
        Ok(Some(limit)) => {
            let per_buffer = pinned_bytes(workers as u64, buffer_size_bytes as u64).max(1);
            let fit = usize::try_from(limit / per_buffer).unwrap_or(usize::MAX);
            fit.clamp(minimum, preferred.max(minimum))
        }
        _ => preferred,
    }
}

impl BufferPool {
    /// Allocates `count` page-aligned buffers of `buffer_size_bytes` (a
    /// multiple of [`BLOCK_ALIGN_BYTES`](super::aligned::BLOCK_ALIGN_BYTES),
    /// so direct file writes can come straight from them) and registers them
    /// with the current tokio-uring runtime. Must run inside the runtime,
    /// before any I/O (registration waits for in-flight operations).
    pub fn register(count: usize, buffer_size_bytes: usize) -> Result<BufferPool, PoolSetupError> {
        let buffer_size_bytes = super::aligned::round_up_to_block(buffer_size_bytes);
        let pool = FixedBufPool::new(
            std::iter::repeat_with(|| AlignedBuf::zeroed(buffer_size_bytes)).take(count),
        );
        pool.register().map_err(|source| PoolSetupError {
            needed_bytes: (count as u64).saturating_mul(buffer_size_bytes as u64),
            memlock_limit_bytes: crate::sys::process::memlock_limit().ok().flatten(),
            source: Some(source),
        })?;
        Ok(BufferPool {
            pool,
            buffer_size_bytes,
            count,
            users: Cell::new(0),
        })
    }

    /// Counts an upload among the pool's users until the guard drops.
    pub fn enter(&self) -> PoolUser<'_> {
        self.users.set(self.users.get() + 1);
        PoolUser { pool: self }
    }

    /// How many buffers one user may hold if every current user held as
    /// many: the pool divided among them, but at least two (one being
    /// written, one being read into).
    pub fn fair_share(&self) -> usize {
        (self.count / self.users.get().max(1)).max(2)
    }

    /// Size of every buffer in the pool.
    pub fn buffer_size_bytes(&self) -> usize {
        self.buffer_size_bytes
    }

    /// A free buffer now, or `None`.
    pub fn try_acquire(&self) -> Option<FixedBuf> {
        self.pool.try_next(self.buffer_size_bytes)
    }

    /// A free buffer, waiting at most `wait` for one to be returned.
    pub async fn acquire(&self, wait: Duration) -> Option<FixedBuf> {
        if let Some(buf) = self.try_acquire() {
            return Some(buf);
        }
        tokio::time::timeout(wait, self.pool.next(self.buffer_size_bytes))
            .await
            .ok()
    }
}
