//! Small PUT bodies: completed in the connection buffer and written to the
//! staged file from there, without the registered-buffer pool.
//!
//! The body pump ([`super::body`]) is built for streams: two registered
//! buffers (1 MiB each by default) taking turns between overlapped socket
//! reads and file writes. For a body of a few KiB — which arrives with its
//! head or in the next segment — that machinery is overhead: taking two
//! buffers from the pool, copying the first bytes out of `conn.rbuf`,
//! `read_fixed` sized to what is owed, `FIONREAD`, the join of a read and a
//! write. So when durability is off, a `Content-Length` body of at most
//! [`SMALL_BODY_MAX_BYTES`] is read into `conn.rbuf` (which already holds
//! its first bytes) and written with one io_uring write straight from it.
//! Such an upload never waits for, or is refused for want of, a registered
//! buffer.
//!
//! The file write is a plain `pwrite` on the worker thread while the
//! system's dirty pages are far below the point where the kernel throttles
//! writers ([`DirtyPageGauge`](crate::storage::dirty_pages::DirtyPageGauge)):
//! through io_uring the kernel hands a buffered write to an io-wq thread,
//! a wake-up and two context switches per upload. Under writeback pressure
//! the kernel may pause the writing thread (`balance_dirty_pages`) for up
//! to hundreds of milliseconds, which would stall every connection of the
//! worker, so then the write goes through io_uring as before
//! (BENCHMARKS.md, "Small uploads").
//!
//! The bound keeps memory where it was: a connection buffer already grows
//! to the head limit (32 KiB) for a large head, and a small body is never
//! larger than that.

use tokio_uring::buf::BoundedBuf;

use super::body::{bounded_body_read, read_error};
use super::conn::{BodyState, Conn};
use super::error::RequestError;
use crate::http::BodyFraming;
use crate::storage::StagedFile;

/// Largest `Content-Length` body taken through the connection buffer. Not
/// above `HeadLimits::max_head_bytes` (32 KiB), so a connection's buffer
/// never grows beyond what a maximal head takes already.
pub const SMALL_BODY_MAX_BYTES: usize = 32 * 1024;

/// The body length when a PUT body takes the small path: `Content-Length`
/// framing of at most [`SMALL_BODY_MAX_BYTES`], durability off. (A durable
/// upload is dominated by its syncs, and its file may be written in ways a
/// byte vector cannot feed, e.g. `O_DIRECT`; it keeps the pump.)
pub fn small_body_len(framing: BodyFraming, durable: bool) -> Option<usize> {
    match framing {
        BodyFraming::Length(n) if !durable => usize::try_from(n)
            .ok()
            .filter(|&n| n <= SMALL_BODY_MAX_BYTES),
        _ => None,
    }
}

/// Reads the rest of a `len`-byte body into `conn.rbuf`, writes it to
/// `file` at offset 0, and leaves any bytes after it (a pipelined request)
/// in `conn.rbuf`. Each read waits at most `--body-idle-timeout`. On an
/// error the body stays unread (the connection answers and closes).
pub async fn store_small_body(
    conn: &mut Conn,
    len: usize,
    file: &StagedFile,
) -> Result<(), RequestError> {
    let filled = fill_rbuf(conn, len).await;
    conn.body_bytes_in = conn.rbuf.len().min(len) as u64;
    filled?;
    if len > 0 {
        let buf = std::mem::take(&mut conn.rbuf);
        let (res, slice) = file
            .writer()
            .write_all_at_unregistered(buf.slice(0..len), 0)
            .await;
        conn.rbuf = slice.into_inner();
        res.map_err(RequestError::from_io)?;
    }
    conn.rbuf.drain(..len);
    conn.body = BodyState::Consumed;
    Ok(())
}

/// Reads until `conn.rbuf` holds at least `len` bytes.
async fn fill_rbuf(conn: &mut Conn, len: usize) -> Result<(), RequestError> {
    if conn.rbuf.capacity() < len {
        conn.rbuf.reserve_exact(len - conn.rbuf.len());
    }
    while conn.rbuf.len() < len {
        let buf = std::mem::take(&mut conn.rbuf);
        let (filled, capacity) = (buf.len(), buf.capacity());
        let read = conn.stream.read(buf.slice(filled..capacity));
        let (why, slice) = match bounded_body_read(conn, read).await {
            Ok((Ok(n), slice)) if n > 0 => {
                conn.rbuf = slice.into_inner();
                continue;
            }
            Ok((_, slice)) => (None, slice),
            Err((why, (_, slice))) => (Some(why), slice),
        };
        conn.rbuf = slice.into_inner();
        return Err(read_error(why));
    }
    Ok(())
}
