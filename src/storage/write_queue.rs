//! File writes in flight while an upload goes on.
//!
//! Each filled registered buffer becomes one [`BufferWrite`]: its planned
//! ranges written in order, then the buffer handed back. Several buffers'
//! writes run at once (up to the caller's limit) while the socket reads
//! into another buffer, so a disk that wants a deeper queue than one write
//! (direct writes on most devices) gets it. Writes of different buffers may
//! finish in any order: they cover disjoint ranges of their files.
//!
//! A buffer whose writes have finished goes straight back to the pool: an
//! upload keeps no buffer it is not using.
//!
//! All futures are polled from the upload's own task (no spawning): the
//! queue is driven while the caller awaits the client
//! ([`WriteQueue::alongside`]) or one of its writes ([`WriteQueue::wait_one`]).

use std::future::{poll_fn, Future};
use std::io;
use std::ops::Range;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::BoundedBuf;

use super::staged::FileWriter;

/// One range of a buffer and where it goes.
pub struct WriteJob {
    /// The file.
    pub writer: Rc<FileWriter>,
    /// Bytes of the buffer.
    pub range: Range<usize>,
    /// Offset in the file.
    pub offset: u64,
}

/// Writes `jobs` from `buf` in order; the buffer comes back in every
/// outcome.
pub async fn write_buffer(jobs: Vec<WriteJob>, mut buf: FixedBuf) -> (io::Result<()>, FixedBuf) {
    for job in jobs {
        let (res, slice) = job
            .writer
            .write_all_at(buf.slice(job.range.clone()), job.offset)
            .await;
        buf = slice.into_inner();
        if res.is_err() {
            return (res, buf);
        }
    }
    (Ok(()), buf)
}

type BufferWrite = Pin<Box<dyn Future<Output = (io::Result<()>, FixedBuf)>>>;

/// The writes in flight of one upload.
pub struct WriteQueue {
    in_flight: Vec<BufferWrite>,
    /// The first write error, reported at the next await.
    failed: Option<io::Error>,
    /// Buffers given back to the pool since [`take_returned`](Self::take_returned).
    returned: usize,
}

impl WriteQueue {
    /// An empty queue.
    pub fn new() -> WriteQueue {
        WriteQueue {
            in_flight: Vec::new(),
            failed: None,
            returned: 0,
        }
    }

    /// Writes in flight.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether no write is in flight.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Starts writing a buffer (it runs when the queue is next driven).
    pub fn push(&mut self, write: impl Future<Output = (io::Result<()>, FixedBuf)> + 'static) {
        self.in_flight.push(Box::pin(write));
    }

    /// Polls every write once; finished ones give their buffer back to the
    /// pool.
    /// Ready when at least one finished (or none is in flight).
    fn poll_writes(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut any_finished = self.in_flight.is_empty();
        let mut i = 0;
        while i < self.in_flight.len() {
            match self.in_flight[i].as_mut().poll(cx) {
                Poll::Ready((res, buf)) => {
                    drop(self.in_flight.swap_remove(i));
                    drop(buf);
                    self.returned += 1;
                    if let Err(err) = res {
                        self.failed.get_or_insert(err);
                    }
                    any_finished = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if any_finished {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// How many buffers went back to the pool since the last call.
    pub fn take_returned(&mut self) -> usize {
        std::mem::take(&mut self.returned)
    }

    fn take_failure(&mut self) -> io::Result<()> {
        self.failed.take().map_or(Ok(()), Err)
    }

    /// Waits until at least one write has finished (at once if none is in
    /// flight). Fails with the first write error.
    pub async fn wait_one(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writes(cx)).await;
        self.take_failure()
    }

    /// Waits for every write. Fails with the first write error.
    pub async fn drain(&mut self) -> io::Result<()> {
        while !self.in_flight.is_empty() {
            self.wait_one().await?;
        }
        self.take_failure()
    }

    /// Runs `fut` (a socket read) while driving the writes. A write error
    /// ends the wait at once (dropping `fut`, which cancels its operation).
    pub async fn alongside<F: Future>(&mut self, fut: F) -> io::Result<F::Output> {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            let _ = self.poll_writes(cx);
            if let Some(err) = self.failed.take() {
                return Poll::Ready(Err(err));
            }
            fut.as_mut().poll(cx).map(Ok)
        })
        .await
    }
}

impl Default for WriteQueue {
    fn default() -> Self {
        Self::new()
    }
}
