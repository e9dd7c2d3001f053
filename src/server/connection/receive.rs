//! Receiving a body: socket → registered buffer → files, the upload byte
//! path.
//!
//! For each batch of bytes the client has sent, the pump takes a
//! registered buffer, puts the carry (bytes the cores held back last time)
//! at its front, reads after it what is waiting in the socket — never more,
//! so a read never waits for the client — and hands the buffer to the
//! sans-IO [`BodyPipeline`], which decodes the framing and plans which
//! ranges go to which file at which offset. The buffer then goes to the
//! [`WriteQueue`] (its file writes run while the socket is read into the
//! next buffer) and comes back to the pool when they finish.
//!
//! When the socket is empty, the pump keeps the carry (at most a few KiB:
//! [`BodyPipeline::max_carry_bytes`]) in the connection's own buffer and
//! waits for readiness holding no registered buffer, so thousands of slow
//! or stalled uploads cannot take the pool from an upload that is moving
//! bytes. Waiting for the pool itself is bounded by `--body-idle-timeout`
//! (then 503).
//!
//! A `Content-Length` body of at most [`SMALL_BODY_MAX_BYTES`] written
//! through the page cache never takes a registered buffer: it is read into
//! the connection's buffer and written from there.

use std::rc::Rc;

use tokio::time::Instant;
use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::BoundedBuf;

use super::exchange::Exchange;
use super::transport::{put_front, Read, Waited};
use super::ConnIo;
use crate::metrics::Gauge;
use crate::server::deadline::{Interrupted, ShutdownPolicy};
use crate::server::error::RequestError;
use crate::storage::staged::FileWriter;
use crate::storage::write_queue::{write_buffer, WriteJob, WriteQueue};
use crate::storage::BufferPool;
use crate::tls::MAX_RECORD_BYTES;
use crate::upload::{Alignment, BodyCheck, BodyPipeline, BodyPlanner, NewFile, Plan, Processed};

/// Largest `Content-Length` body taken through the connection's own
/// buffer when its file is written through the page cache. Not above the
/// head limit (32 KiB), so a connection's buffer never grows beyond what a
/// maximal head takes already.
pub(crate) const SMALL_BODY_MAX_BYTES: usize = 32 * 1024;

/// Bytes of a body gathered in the connection's own buffer before they
/// take a registered buffer (see `Pump::gather`): small enough that a crowd
/// of trickling uploads holds little memory, large enough that each costs a
/// read per arrival and a buffer per batch.
const TRICKLE_BATCH_BYTES: usize = 16 * 1024;

/// Buffers of one upload being written at once when its writes are direct
/// (and never more than its fair share of the pool, less the one being
/// read into): a disk needs a queue deeper than one to stay busy.
/// Page-cache writes go one at a time (still overlapping the next read).
const MAX_WRITES_IN_FLIGHT: usize = 12;

/// The files a body is written to.
pub(crate) trait BodyFiles {
    /// Creates the file the planner announced.
    fn open(&mut self, file: &NewFile) -> Result<(), RequestError>;
    /// The writer of file number `index`.
    fn writer(&self, index: usize) -> &Rc<FileWriter>;
}

/// How a body read ended badly.
fn read_error(why: Option<Interrupted>) -> RequestError {
    match why {
        Some(Interrupted::Timeout) => RequestError::Timeout,
        Some(Interrupted::Shutdown) => RequestError::ShuttingDown,
        None => RequestError::Body(crate::http::BodyError::Truncated),
    }
}

impl Exchange<'_> {
    /// Receives the request body into `files` as `pipeline` plans it
    /// (first accepting it: `100 Continue` if the client waits for one).
    /// `align` is how the files want their writes cut. On success the body
    /// is consumed and the bytes after it are back in the connection's
    /// buffer; on an error the body stays unread (the connection answers,
    /// lingers and closes).
    pub(crate) async fn receive<P: BodyPlanner, C: BodyCheck, F: BodyFiles>(
        &mut self,
        pipeline: &mut BodyPipeline<P, C>,
        files: &mut F,
        align: Alignment,
    ) -> Result<(), RequestError> {
        self.receive_after(&[], pipeline, files, align).await
    }

    /// [`receive`](Self::receive) for a file that continues one already on
    /// disk: `prefix` (the file's partial last block, re-read so that
    /// direct writes stay block-aligned) goes in front of the body's bytes,
    /// and `pipeline` must have been made with
    /// [`BodyPipeline::with_held`]`(…, prefix.len())`.
    pub(crate) async fn receive_after<P: BodyPlanner, C: BodyCheck, F: BodyFiles>(
        &mut self,
        prefix: &[u8],
        pipeline: &mut BodyPipeline<P, C>,
        files: &mut F,
        align: Alignment,
    ) -> Result<(), RequestError> {
        debug_assert_eq!(pipeline.held_bytes(), prefix.len());
        self.accept_body().await?;
        if !prefix.is_empty() {
            // Decoded bytes first, then the raw bytes that came with the head.
            self.io.rbuf.splice(0..0, prefix.iter().copied());
        }
        let small = pipeline
            .exact_raw_bytes_remaining()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| {
                n <= SMALL_BODY_MAX_BYTES && align == Alignment::NONE && prefix.is_empty()
            });
        let result = match small {
            Some(len) => receive_small(self.io, len, pipeline, files).await,
            None => {
                let mut pump = Pump::new(self.io);
                pump.head_bytes_alone = align == Alignment::NONE && prefix.is_empty();
                pump.run(pipeline, files).await
            }
        };
        self.bytes_in = pipeline.decoded_bytes();
        result?;
        self.body_consumed();
        self.body_received();
        Ok(())
    }
}

/// Reads a small body into the connection's buffer and writes it from
/// there (see the module docs).
async fn receive_small<P: BodyPlanner, C: BodyCheck, F: BodyFiles>(
    io: &mut ConnIo,
    len: usize,
    pipeline: &mut BodyPipeline<P, C>,
    files: &mut F,
) -> Result<(), RequestError> {
    let worker = io.worker.clone();
    let idle = worker.config.body_idle_timeout;
    if io.rbuf.capacity() < len {
        io.rbuf.reserve_exact(len - io.rbuf.len());
    }
    while io.rbuf.len() < len {
        let deadline = Instant::now() + idle;
        match io
            .transport
            .wait_readable(deadline, &worker.lifecycle, ShutdownPolicy::OnAbort)
            .await
        {
            Waited::Readable { .. } => {}
            Waited::Closed => return Err(read_error(None)),
            Waited::Interrupted(why) => return Err(read_error(Some(why))),
        }
        let buf = std::mem::take(&mut io.rbuf);
        let (read, buf) = io
            .transport
            .read_into(buf, deadline, &worker.lifecycle)
            .await;
        io.rbuf = buf;
        match read {
            Ok(Read::Closed) => return Err(read_error(None)),
            Ok(Read::Bytes { .. }) => {}
            Err(why) => return Err(read_error(why)),
        }
    }
    let mut plan = Plan::default();
    let filled = io.rbuf.len();
    let processed = pipeline
        .process(&mut io.rbuf, filled, &mut plan)
        .map_err(RequestError::from)?;
    io.worker
        .metrics
        .gauge_add(Gauge::StagedBytes, pipeline.decoded_bytes() as i64);
    debug_assert!(processed.ended, "a Content-Length body in hand ends");
    for file in &plan.new_files {
        files.open(file)?;
    }
    let mut body = std::mem::take(&mut io.rbuf);
    for write in &plan.writes {
        let (res, slice) = files
            .writer(write.file)
            .write_all_at_unregistered(body.slice(write.range.clone()), write.offset)
            .await;
        body = slice.into_inner();
        if let Err(err) = res {
            io.rbuf = body;
            return Err(RequestError::from_io(err));
        }
    }
    // The bytes after the body are the next pipelined request.
    body.drain(..processed.raw_tail.start);
    io.rbuf = body;
    Ok(())
}

/// The overlapped pump for bodies that go through registered buffers.
struct Pump<'a> {
    io: &'a mut ConnIo,
    queue: WriteQueue,
    plan: Plan,
    /// Registered buffers taken and not yet given back (the
    /// `ringdrop_buffers_in_use` gauge's share of this upload).
    buffers_held: i64,
    /// Page-cache writes: the body bytes that came with the head are
    /// written on their own, so the full-buffer writes after them do not
    /// start on the file's large-folio boundaries. Where the page cache's
    /// large folios come from memory the host has taken back (a VM with
    /// free-page reporting), copying into them costs several times more;
    /// BENCHMARKS.md ("Page-cache write offsets") has the measurement.
    head_bytes_alone: bool,
}

impl Drop for Pump<'_> {
    fn drop(&mut self) {
        // Every buffer went back to the pool by now (the last ones when
        // their writes finished or this upload's task ended).
        self.io
            .worker
            .metrics
            .gauge_add(Gauge::BuffersInUse, -self.buffers_held);
    }
}

impl<'a> Pump<'a> {
    fn new(io: &'a mut ConnIo) -> Pump<'a> {
        Pump {
            io,
            queue: WriteQueue::new(),
            plan: Plan::default(),
            buffers_held: 0,
            head_bytes_alone: false,
        }
    }

    /// Counts a buffer taken from the pool.
    fn took_buffer(&mut self) {
        self.buffers_held += 1;
        self.io.worker.metrics.gauge_add(Gauge::BuffersInUse, 1);
    }

    /// Counts the buffers whose writes finished since the last call.
    fn count_returned_buffers(&mut self) {
        let returned = self.queue.take_returned() as i64;
        if returned > 0 {
            self.buffers_held -= returned;
            self.io
                .worker
                .metrics
                .gauge_add(Gauge::BuffersInUse, -returned);
        }
    }

    fn pool(&self) -> &BufferPool {
        &self.io.worker.pool
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.io.worker.config.body_idle_timeout
    }

    async fn run<P: BodyPlanner, C: BodyCheck, F: BodyFiles>(
        mut self,
        pipeline: &mut BodyPipeline<P, C>,
        files: &mut F,
    ) -> Result<(), RequestError> {
        let result = self.pump(pipeline, files).await;
        if result.is_err() {
            // Let the writes in flight finish: their buffers come back.
            let _ = self.queue.drain().await;
        }
        result
    }

    async fn pump<P: BodyPlanner, C: BodyCheck, F: BodyFiles>(
        &mut self,
        pipeline: &mut BodyPipeline<P, C>,
        files: &mut F,
    ) -> Result<(), RequestError> {
        let worker = self.io.worker.clone();
        let mut head_bytes_alone = self.head_bytes_alone && !self.io.rbuf.is_empty();
        loop {
            // 1. Wait until bytes are ready, holding no buffer; a trickle
            //    collects in the connection's own buffer.
            self.gather(pipeline).await?;
            // 2. A buffer with the carry at its front.
            let buf = self.take_buffer().await?;
            let _active = worker.pool.enter();
            let mut filled = self.io.rbuf.len();
            let mut buf = put_front(buf, &self.io.rbuf);
            self.io.rbuf.clear();
            let mut again = false;
            // 3. While bytes keep coming, go from buffer to buffer.
            loop {
                let raw_carried = filled - pipeline.held_bytes();
                let arrived;
                if head_bytes_alone {
                    // The bytes that came with the head go to the file on
                    // their own (see `Pump::head_bytes_alone`).
                    head_bytes_alone = false;
                    arrived = true;
                } else {
                    let (read, back) = self.read_waiting(buf, filled, pipeline).await;
                    buf = back;
                    (filled, arrived) = read?;
                }
                if !arrived && raw_carried == 0 && !again && !pipeline.body_is_complete() {
                    // Readiness without a byte: the peer is gone.
                    return Err(read_error(None));
                }
                self.plan.clear();
                let decoded_before = pipeline.decoded_bytes();
                let processed = pipeline
                    .process(&mut buf, filled, &mut self.plan)
                    .map_err(RequestError::from)?;
                let decoded = pipeline.decoded_bytes() - decoded_before;
                self.io
                    .worker
                    .metrics
                    .gauge_add(Gauge::StagedBytes, decoded as i64);
                self.count_returned_buffers();
                for file in &self.plan.new_files {
                    files.open(file)?;
                }
                let jobs = self.jobs(files);
                if processed.ended {
                    // Bytes after the body are the next pipelined request.
                    self.io
                        .rbuf
                        .extend_from_slice(&buf[processed.raw_tail.clone()]);
                    self.queue.push(write_buffer(jobs, buf));
                    self.queue.drain().await.map_err(RequestError::from_io)?;
                    return Ok(());
                }
                let direct = jobs
                    .iter()
                    .all(|job| job.writer.wants_block_aligned_writes());
                again = processed.again;
                if !again && self.io.transport.bytes_waiting() == 0 {
                    // Keep the carry aside and give the buffer to its writes.
                    self.io
                        .rbuf
                        .extend_from_slice(&buf[processed.body_tail.clone()]);
                    self.io
                        .rbuf
                        .extend_from_slice(&buf[processed.raw_tail.clone()]);
                    self.limit_in_flight(direct).await?;
                    self.queue.push(write_buffer(jobs, buf));
                    break;
                }
                (buf, filled) = self.next_buffer(buf, jobs, &processed, direct).await?;
            }
        }
    }

    /// Returns when the body's bytes are worth a registered buffer: a batch
    /// of at least [`TRICKLE_BATCH_BYTES`] is in hand or waiting, or the
    /// bytes in hand end the body. Until then the upload holds no buffer:
    /// small arrivals are read into the connection's own buffer (after the
    /// carry), and while the socket is empty it waits for readiness,
    /// driving its writes in flight. A slow or trickling client thus costs
    /// a read per arrival, not a buffer, a plan and a file write.
    async fn gather<P: BodyPlanner, C: BodyCheck>(
        &mut self,
        pipeline: &BodyPipeline<P, C>,
    ) -> Result<(), RequestError> {
        let worker = self.io.worker.clone();
        let mut waiting = self.io.transport.bytes_waiting();
        // Bytes gathered when they were last tried (`check_ahead`).
        let mut checked = 0;
        loop {
            let held = pipeline.held_bytes();
            let gathered = &self.io.rbuf[held..];
            if pipeline.body_is_complete()
                || gathered.len() + waiting >= TRICKLE_BATCH_BYTES
                || (!gathered.is_empty() && pipeline.body_ends_within(gathered))
            {
                return Ok(());
            }
            if waiting == 0 && gathered.len() > checked * 2 {
                // The client paused: a body already broken by the bytes in
                // hand is refused now, not when more arrive. Tried again
                // only once they have doubled, so a trickle costs at most
                // twice its bytes.
                checked = gathered.len();
                let mut scratch = worker.check_scratch.borrow_mut();
                let checked_ahead = pipeline.check_ahead(&self.io.rbuf, &mut scratch);
                scratch.clear();
                drop(scratch);
                checked_ahead.map_err(RequestError::from)?;
            }
            if waiting == 0 {
                let deadline = self.deadline();
                let wait = self.io.transport.wait_readable_when_empty(
                    deadline,
                    &worker.lifecycle,
                    ShutdownPolicy::OnAbort,
                );
                waiting = match self
                    .queue
                    .alongside(wait)
                    .await
                    .map_err(RequestError::from_io)?
                {
                    Waited::Readable { waiting } => waiting,
                    Waited::Closed => return Err(read_error(None)),
                    Waited::Interrupted(why) => return Err(read_error(Some(why))),
                };
                self.count_returned_buffers();
                continue;
            }
            // A small arrival: into the connection's buffer.
            let deadline = self.deadline();
            let mut rbuf = std::mem::take(&mut self.io.rbuf);
            rbuf.reserve(waiting);
            let (read, rbuf) = self
                .io
                .transport
                .read_into(rbuf, deadline, &worker.lifecycle)
                .await;
            self.io.rbuf = rbuf;
            match read {
                Ok(Read::Bytes { .. }) => {}
                Ok(Read::Closed) => return Err(read_error(None)),
                Err(why) => return Err(read_error(why)),
            }
            waiting = self.io.transport.bytes_waiting();
        }
    }

    /// The planned writes as jobs that own what they need.
    fn jobs<F: BodyFiles>(&self, files: &F) -> Vec<WriteJob> {
        self.plan
            .writes
            .iter()
            .map(|write| WriteJob {
                writer: files.writer(write.file).clone(),
                range: write.range.clone(),
                offset: write.offset,
            })
            .collect()
    }

    /// A free buffer: from the pool, else the next one this upload's own
    /// writes give back, else the first one any upload gives back (at most
    /// `--body-idle-timeout`, then 503).
    async fn take_buffer(&mut self) -> Result<FixedBuf, RequestError> {
        let buf = self.find_buffer().await?;
        self.took_buffer();
        Ok(buf)
    }

    async fn find_buffer(&mut self) -> Result<FixedBuf, RequestError> {
        if let Some(buf) = self.pool().try_acquire() {
            return Ok(buf);
        }
        while !self.queue.is_empty() {
            self.queue.wait_one().await.map_err(RequestError::from_io)?;
            if let Some(buf) = self.pool().try_acquire() {
                return Ok(buf);
            }
        }
        let wait = self.io.worker.config.body_idle_timeout;
        let began = Instant::now();
        let buf = self.pool().acquire(wait).await;
        self.io.worker.metrics.buffer_waited(began.elapsed());
        buf.ok_or(RequestError::Busy)
    }

    /// Several uploads share the pool: each keeps at most its fair share
    /// of buffers in flight (one more is being read into).
    async fn limit_in_flight(&mut self, direct: bool) -> Result<(), RequestError> {
        let max_in_flight = if direct {
            MAX_WRITES_IN_FLIGHT.min(self.pool().fair_share() - 1)
        } else {
            1
        };
        while self.queue.len() >= max_in_flight {
            self.queue.wait_one().await.map_err(RequestError::from_io)?;
        }
        Ok(())
    }

    /// Moves on to the next buffer while bytes keep coming: the current one
    /// goes to its writes and the carry to the front of the next; with no
    /// buffer to spare, the writes run first and the carry moves to the
    /// front of the same buffer.
    async fn next_buffer(
        &mut self,
        cur: FixedBuf,
        jobs: Vec<WriteJob>,
        processed: &Processed,
        direct: bool,
    ) -> Result<(FixedBuf, usize), RequestError> {
        self.limit_in_flight(direct).await?;
        let mut next = self.pool().try_acquire();
        if next.is_none() && !self.queue.is_empty() {
            self.queue.wait_one().await.map_err(RequestError::from_io)?;
            next = self.pool().try_acquire();
        }
        let (body_tail, raw_tail) = (processed.body_tail.clone(), processed.raw_tail.clone());
        let carry = processed.carry_len();
        if next.is_some() {
            self.took_buffer();
        }
        match next {
            Some(next) => {
                let next = put_front(next, &cur[body_tail.clone()]);
                let mut next = next;
                if !raw_tail.is_empty() {
                    next[body_tail.len()..carry].copy_from_slice(&cur[raw_tail]);
                }
                self.queue.push(write_buffer(jobs, cur));
                Ok((next, carry))
            }
            None => {
                let (res, mut buf) = write_buffer(jobs, cur).await;
                res.map_err(RequestError::from_io)?;
                buf.copy_within(body_tail.clone(), 0);
                buf.copy_within(raw_tail, body_tail.len());
                Ok((buf, carry))
            }
        }
    }

    /// Reads what is waiting in the socket into `buf[filled..]`, never
    /// more than the buffer holds nor (for a Content-Length body over plain
    /// TCP) past the body's end, so no read waits for the client. Returns
    /// the new fill level and whether any bytes arrived (with TLS, a part
    /// of a record brings bytes but no plaintext yet).
    async fn read_waiting<P: BodyPlanner, C: BodyCheck>(
        &mut self,
        mut buf: FixedBuf,
        mut filled: usize,
        pipeline: &BodyPipeline<P, C>,
    ) -> (Result<(usize, bool), RequestError>, FixedBuf) {
        let capacity = self.pool().buffer_size_bytes();
        let raw_in_buf = filled - pipeline.held_bytes();
        let tls = self.io.transport.is_tls();
        let limit = match pipeline.exact_raw_bytes_remaining() {
            // Over TLS the socket carries records, not the body's bytes.
            Some(owed) if !tls => {
                let owed = owed.saturating_sub(raw_in_buf as u64);
                filled
                    .saturating_add(usize::try_from(owed).unwrap_or(usize::MAX))
                    .min(capacity)
            }
            _ => capacity,
        };
        // With TLS, room for a whole record after the plaintext.
        let room_needed = if tls { MAX_RECORD_BYTES } else { 1 };
        let worker = self.io.worker.clone();
        let mut arrived = false;
        while filled < limit {
            let waiting = self.io.transport.bytes_waiting();
            if waiting == 0 || (tls && capacity - filled < room_needed) {
                break;
            }
            let to = if tls {
                capacity
            } else {
                filled.saturating_add(waiting).min(limit)
            };
            let deadline = self.deadline();
            let (read, back) = self
                .io
                .transport
                .read_fixed(buf, filled, to, deadline, &worker.lifecycle)
                .await;
            buf = back;
            match read {
                Ok(Read::Closed) => break,
                Ok(Read::Bytes { plain }) => {
                    arrived = true;
                    filled += plain;
                }
                Err(why) => return (Err(read_error(Some(why))), buf),
            }
        }
        (Ok((filled, arrived)), buf)
    }
}
