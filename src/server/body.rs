//! The upload pipeline: socket → registered buffer → file, with the next
//! socket read overlapping the file writes of the buffers before it.
//!
//! Registered buffers take turns. While the body bytes of up to
//! [`MAX_WRITES_IN_FLIGHT`] filled buffers are being written to their
//! file(s) (see [`super::write_queue`]), the socket reads into another. Each filled
//! buffer goes through the sans-IO cores: the body decoder (Content-Length or
//! chunked) finds the body bytes and compacts them to the front of the
//! buffer (a chunked body's framing is squeezed out in place); the
//! [`BodySink`] (a single PUT file, or the multipart parser) decides which
//! byte ranges go to which file at which offset. Bytes a core holds back (a
//! partial chunk header, a possible partial multipart delimiter) are copied
//! to the front of the next buffer: at most a few KiB, never file data.
//!
//! Buffer layout while a buffer is processed:
//!
//! ```text
//! [0 .. body_len)        decoded body bytes not yet absorbed by the sink
//! [body_len .. raw_pos)  framing bytes already decoded (dead)
//! [raw_pos .. filled)    raw bytes not yet decoded
//! ```
//! with `0 <= body_len <= raw_pos <= filled <= capacity`.
//!
//! Only the first buffer is waited for. Further ones are taken when free;
//! when none is, the upload waits for one of its own writes to finish, and
//! with no write in flight it runs on one buffer (write, then read): two
//! uploads each holding one buffer and waiting for a second would deadlock.

use std::cell::Cell;
use std::ops::Range;
use std::rc::Rc;

use tokio::time::Instant;
use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::{BoundedBuf, BoundedBufMut};

use super::conn::{BodyState, Conn};
use super::deadline::{bounded, Direction, Interrupted, ShutdownPolicy};
use super::error::RequestError;
use super::write_queue::{write_buffer, WriteJob, WriteQueue};
use crate::http::{BodyDecoder, BodyEvent};
use crate::storage::staged::FileWriter;
use crate::storage::sys;
use std::os::fd::AsRawFd;

/// Buffers of one upload being written at once when its writes are direct
/// (and never more than its fair share of the pool, less the one being read
/// into): a disk needs a queue deeper than one to stay busy, and a deeper
/// one rides out its latency spikes (durable 4 GiB, 8 interleaved reps:
/// 12 in flight median 1.57 GiB/s, mean 1.75; 4 in flight 1.49, 1.56;
/// BENCHMARKS.md). Page-cache writes run one at a time (still overlapping
/// the next socket read).
pub const MAX_WRITES_IN_FLIGHT: usize = 12;

/// One write the sink asks for: bytes `range` of the current buffer go to
/// file number `file` at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    /// Index of the file in the sink.
    pub file: usize,
    /// Bytes of the buffer.
    pub range: Range<usize>,
    /// Offset in the file.
    pub offset: u64,
}

/// Where decoded body bytes go. Implemented by the PUT and the multipart
/// routes; decides, does no I/O.
pub trait BodySink {
    /// Takes the decoded body bytes `body` and plans writes (ranges relative
    /// to `body`, which starts at the front of a block-aligned registered
    /// buffer). Returns how many bytes of `body` it is finished with; the
    /// rest is presented again at the front of the next buffer, followed by
    /// more bytes. `body_complete` says no more bytes will follow: then
    /// everything must be absorbed.
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        writes: &mut Vec<PlannedWrite>,
    ) -> Result<usize, RequestError>;
    /// The body ended; `held_back` bytes were never absorbed.
    fn end(&mut self, held_back: usize) -> Result<(), RequestError>;
    /// The writer of staged file number `index`.
    fn writer(&self, index: usize) -> &Rc<FileWriter>;
}

/// Awaits one body read: at most `--body-idle-timeout`, interrupted only
/// when a shutdown aborts requests in flight.
pub(crate) async fn bounded_body_read<F: std::future::Future>(
    conn: &Conn,
    read: F,
) -> Result<F::Output, (Interrupted, F::Output)> {
    let deadline = Instant::now() + conn.worker.config.body_idle_timeout;
    bounded(
        &conn.stream,
        read,
        deadline,
        &conn.worker.lifecycle,
        ShutdownPolicy::OnAbort,
        Direction::Read,
    )
    .await
}

/// How a body read ended badly.
pub(crate) fn read_error(why: Option<Interrupted>) -> RequestError {
    match why {
        Some(Interrupted::Timeout) => RequestError::Timeout,
        Some(Interrupted::Shutdown) => RequestError::ShuttingDown,
        None => RequestError::Body(crate::http::BodyError::Truncated),
    }
}

/// The planned writes as jobs that own what they need.
fn jobs<S: BodySink>(sink: &S, writes: &[PlannedWrite]) -> Vec<WriteJob> {
    writes
        .iter()
        .map(|write| WriteJob {
            writer: sink.writer(write.file).clone(),
            range: write.range.clone(),
            offset: write.offset,
        })
        .collect()
}

/// Copies `src` of `from` to the front of `to`.
fn copy_to_front(from: &FixedBuf, src: Range<usize>, to: FixedBuf) -> FixedBuf {
    let mut front = to.slice(0..src.len().max(1));
    if !src.is_empty() {
        front.put_slice(&from[src]);
    }
    front.into_inner()
}

/// Reads the request body through `sink`. On return the body is consumed
/// (and bytes after it are back in `conn.rbuf`), or an error says why not.
pub async fn pump_body<S: BodySink>(
    conn: &mut Conn,
    mut decoder: BodyDecoder,
    sink: &mut S,
) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let config = &worker.config;
    let pool = &worker.pool;
    let mut cur = pool
        .acquire(config.body_idle_timeout)
        .await
        .ok_or(RequestError::Busy)?;
    let _pool_user = pool.enter();
    let mut queue = WriteQueue::new();
    let writing = queue.writing();
    let capacity = pool.buffer_size_bytes();

    // The body's first bytes arrived with the head.
    let prefix = conn.rbuf.len().min(capacity);
    if prefix > 0 {
        let mut front = cur.slice(0..prefix);
        front.put_slice(&conn.rbuf[..prefix]);
        cur = front.into_inner();
    }
    conn.rbuf.drain(..prefix);
    let mut filled = prefix;
    let mut body_len = 0usize;
    let mut raw_pos = 0usize;
    let mut writes: Vec<PlannedWrite> = Vec::new();

    loop {
        // 1. Decode raw bytes into body bytes, compacted to the front.
        let mut ended = false;
        loop {
            let step = decoder.decode(&cur[raw_pos..filled])?;
            let needs_more = step.needs_more();
            raw_pos += step.consumed;
            match step.event {
                Some(BodyEvent::Data(range)) => {
                    let at = raw_pos - step.consumed;
                    let src = at + range.start..at + range.end;
                    if src.start != body_len {
                        cur.copy_within(src.clone(), body_len);
                    }
                    body_len += src.len();
                }
                Some(BodyEvent::End) => ended = true,
                None => {}
            }
            if ended || needs_more {
                break;
            }
        }
        conn.body_bytes_in = decoder.decoded_so_far();

        // 2. The sink decides where the body bytes go.
        writes.clear();
        let absorbed = sink.absorb(&cur[..body_len], ended, &mut writes)?;

        let jobs = jobs(&*sink, &writes);

        if ended {
            sink.end(body_len - absorbed)?;
            // Bytes after the body are the next pipelined request.
            conn.rbuf.extend_from_slice(&cur[raw_pos..filled]);
            queue.push(write_buffer(jobs, cur));
            queue.drain().await.map_err(RequestError::from_io)?;
            conn.body = BodyState::Consumed;
            return Ok(());
        }

        // 3. Overlap: write this buffer's planned ranges while reading into
        //    the next buffer (or, with one buffer, write then read).
        let body_tail = absorbed..body_len;
        let raw_tail = raw_pos..filled;
        let tail_len = body_tail.len() + raw_tail.len();
        // Read no further than the bytes a valid body must still bring: a
        // read that blocks is then always a read the client owes us, and
        // bytes after the body (the next request) stay in the kernel.
        let owed = decoder
            .min_bytes_remaining()
            .saturating_sub(raw_tail.len() as u64)
            .max(1);
        let read_limit = tail_len
            .saturating_add(usize::try_from(owed).unwrap_or(usize::MAX))
            .min(capacity);
        // Page-cache writes gain nothing from running side by side (they
        // serialise on the inode lock); direct writes want a queue.
        let direct = jobs
            .iter()
            .all(|job| job.writer.wants_block_aligned_writes());
        // Several uploads share the pool: each keeps at most its fair share
        // (one buffer is the one being read into).
        let max_in_flight = if direct {
            MAX_WRITES_IN_FLIGHT.min(pool.fair_share() - 1)
        } else {
            1
        };
        let mut next = queue.take_finished().or_else(|| {
            (queue.len() < max_in_flight)
                .then(|| pool.try_acquire())
                .flatten()
        });
        if next.is_none() && !queue.is_empty() {
            queue.wait_one().await.map_err(RequestError::from_io)?;
            next = queue.take_finished();
        }
        let (read_res, next_buf) = match next {
            Some(next) => {
                let mut next = copy_to_front(&cur, body_tail.clone(), next);
                if !raw_tail.is_empty() {
                    let mut s = next.slice(body_tail.len()..tail_len);
                    s.put_slice(&cur[raw_tail.clone()]);
                    next = s.into_inner();
                }
                queue.push(write_buffer(jobs, cur));
                queue
                    .alongside(read_body(conn, next, tail_len, read_limit, &writing))
                    .await
                    .map_err(RequestError::from_io)?
            }
            None => {
                let (res, mut buf) = write_buffer(jobs, cur).await;
                res.map_err(RequestError::from_io)?;
                if body_tail.start > 0 {
                    buf.copy_within(body_tail.clone(), 0);
                }
                if !raw_tail.is_empty() {
                    buf.copy_within(raw_tail.clone(), body_tail.len());
                }
                read_body(conn, buf, tail_len, read_limit, &writing).await
            }
        };
        cur = next_buf;
        filled = read_res?;
        body_len = body_tail.len();
        raw_pos = body_len;
    }
}

/// Reads body bytes into `buf[start..limit)`, where `limit` never exceeds
/// what the client still owes: one read, then more while room remains and
/// either writes are still in flight (`writing`: keep the network busy) or
/// bytes are already waiting in the socket. Returns the new fill level.
async fn read_body(
    conn: &Conn,
    mut buf: FixedBuf,
    start: usize,
    limit: usize,
    writing: &Cell<usize>,
) -> (Result<usize, RequestError>, FixedBuf) {
    let mut filled = start;
    loop {
        if filled >= limit {
            return (Ok(filled), buf);
        }
        let read = conn.stream.read_fixed(buf.slice(filled..limit));
        let (n, slice) = match bounded_body_read(conn, read).await {
            Ok((Ok(n), slice)) if n > 0 => (n, slice),
            Ok((Ok(_), slice)) | Ok((Err(_), slice)) => {
                return (Err(read_error(None)), slice.into_inner())
            }
            Err((why, (_, slice))) => return (Err(read_error(Some(why))), slice.into_inner()),
        };
        buf = slice.into_inner();
        filled += n;
        if writing.get() == 0 && sys::bytes_readable(conn.stream.as_raw_fd()) == 0 {
            return (Ok(filled), buf);
        }
    }
}
