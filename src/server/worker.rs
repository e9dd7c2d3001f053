//! One worker thread: a tokio-uring runtime with its own SO_REUSEPORT
//! listener and its own registered buffer pool.

use std::cell::{Cell, OnceCell};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_uring::net::TcpListener;

use super::conn::Conn;
use super::error::RequestError;
use super::lifecycle::Lifecycle;
use crate::config::{Config, DirectIo};
use crate::http::{error_json, ResponseHead};
use crate::storage::dirty_pages::DirtyPageGauge;
use crate::storage::staged::WriteMode;
use crate::storage::{sys, BufferPool, Root};

/// How long aborted connections get to clean up after the shutdown
/// deadline before the worker stops waiting for them.
const ABORT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The unit of `/proc/vmstat`'s page counters.
const PAGE_BYTES: u64 = 4096;

/// What a worker's connections share.
pub struct Worker {
    /// The configuration.
    pub config: Arc<Config>,
    /// The served directory.
    pub root: Arc<Root>,
    /// This worker's registered buffers.
    pub pool: BufferPool,
    /// Shutdown phase.
    pub lifecycle: Lifecycle,
    /// Connections open on this worker.
    open_connections: Cell<usize>,
    /// Signalled when a connection closes.
    connection_closed: Notify,
    /// Connections open across all workers (for `--max-connections`).
    global_connections: Arc<AtomicUsize>,
    /// ROOT opened as a target directory, once, for uploads into ROOT itself.
    root_dir: OnceCell<Rc<OwnedFd>>,
    /// Whether small buffered file writes may run inline, and whether an
    /// upload fits in the dirty-page headroom (see [`DirtyPageGauge`]).
    pub dirty_pages: Rc<DirtyPageGauge>,
    /// Declared bytes of the uploads on this worker that are being written
    /// through the page cache because they fit in the headroom.
    page_cache_claims_bytes: Cell<u64>,
}

/// How a new upload writes its file, and its claim on the dirty-page
/// headroom while it goes through the page cache.
pub struct UploadWrites {
    /// How its files are written.
    pub mode: WriteMode,
    _headroom: Option<HeadroomClaim>,
}

/// Declared bytes of a page-cache upload, counted against the headroom
/// until the upload ends (however it ends).
struct HeadroomClaim {
    worker: Rc<Worker>,
    bytes: u64,
}

impl Drop for HeadroomClaim {
    fn drop(&mut self) {
        let claims = &self.worker.page_cache_claims_bytes;
        claims.set(claims.get().saturating_sub(self.bytes));
    }
}

impl Worker {
    /// Uploads being received and other connections open on this worker,
    /// besides the caller's own connection: a hint that a new upload will
    /// not be the only stream writing to the disk.
    pub fn other_activity(&self) -> usize {
        self.pool.users() + self.open_connections.get().saturating_sub(1)
    }

    /// Decides whether a new upload of `declared_len` bytes (`None`: not
    /// known, e.g. chunked) writes with `O_DIRECT`
    /// ([`Config::direct_writes`]). With `--direct-io auto`, a `--no-sync`
    /// upload goes through the page cache when its declared length, with
    /// the page-cache uploads already claimed on this worker (counted once
    /// per worker, as the other workers' claims are not known here), keeps
    /// the system's dirty pages below the background writeback threshold:
    /// it then goes at memory speed and never meets throttling. Anything
    /// larger, or of unknown length, is written direct.
    pub fn plan_upload_writes(self: &Rc<Self>, declared_len: Option<u64>) -> UploadWrites {
        let config = &self.config;
        let claim = match (config.direct_io, config.durable, declared_len) {
            (DirectIo::Auto, false, Some(len)) => {
                let claimed = self.page_cache_claims_bytes.get().saturating_add(len);
                let pages = claimed
                    .saturating_mul(config.workers as u64)
                    .div_ceil(PAGE_BYTES);
                self.dirty_pages
                    .reading()
                    .is_some_and(|counts| counts.room_below_background_threshold(pages))
                    .then_some(len)
            }
            _ => None,
        };
        let direct = config.direct_writes(self.other_activity(), claim.is_some());
        let headroom = claim.filter(|_| !direct).map(|bytes| {
            let claims = &self.page_cache_claims_bytes;
            claims.set(claims.get().saturating_add(bytes));
            HeadroomClaim {
                worker: self.clone(),
                bytes,
            }
        });
        UploadWrites {
            mode: WriteMode {
                direct,
                eager_writeback: config.durable,
                inline_gauge: config.inline_writes.then(|| self.dirty_pages.clone()),
            },
            _headroom: headroom,
        }
    }

    /// Opens the directory `rel` beneath ROOT (see [`Root::open_dir`]) as a
    /// target for uploads. ROOT itself is opened once per worker and shared:
    /// it is the same directory for the life of the process, so opening it
    /// again for every upload would only cost two syscalls.
    pub fn open_target_dir(&self, rel: &str) -> io::Result<Rc<OwnedFd>> {
        if !rel.is_empty() {
            return self.root.open_dir(rel).map(Rc::new);
        }
        if let Some(dir) = self.root_dir.get() {
            return Ok(dir.clone());
        }
        let dir = Rc::new(self.root.open_dir("")?);
        Ok(self.root_dir.get_or_init(|| dir).clone())
    }
}

/// Everything a worker thread is started with.
pub struct WorkerSetup {
    /// The configuration.
    pub config: Arc<Config>,
    /// The served directory.
    pub root: Arc<Root>,
    /// This worker's listening socket (SO_REUSEPORT, already bound).
    pub listener: std::net::TcpListener,
    /// Connections open across all workers.
    pub global_connections: Arc<AtomicUsize>,
    /// Becomes true on SIGINT/SIGTERM.
    pub shutdown: watch::Receiver<bool>,
    /// Reports start-up success or failure to the main thread.
    pub ready: std::sync::mpsc::Sender<Result<(), super::StartError>>,
}

/// Runs a worker until shutdown completes.
pub fn run(setup: WorkerSetup, runtime: tokio_uring::Runtime) {
    runtime.block_on(async move {
        let pool = match BufferPool::register(
            setup.config.buffers_per_worker,
            setup.config.buffer_size_bytes,
        ) {
            Ok(pool) => pool,
            Err(err) => {
                let _ = setup.ready.send(Err(super::StartError::Buffers(err)));
                return;
            }
        };
        let worker = Rc::new(Worker {
            config: setup.config,
            root: setup.root,
            pool,
            lifecycle: Lifecycle::default(),
            open_connections: Cell::new(0),
            connection_closed: Notify::new(),
            global_connections: setup.global_connections,
            root_dir: OnceCell::new(),
            dirty_pages: Rc::new(DirtyPageGauge::new()),
            page_cache_claims_bytes: Cell::new(0),
        });
        let listener = TcpListener::from_std(setup.listener);
        let _ = setup.ready.send(Ok(()));
        accept_loop(&worker, &listener, setup.shutdown).await;
        // New connections are refused from here on.
        drop(listener);
        drain(&worker).await;
    });
}

async fn accept_loop(
    worker: &Rc<Worker>,
    listener: &TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let accept = listener.accept();
        tokio::pin!(accept);
        let accepted = tokio::select! {
            accepted = &mut accept => accepted,
            _ = shutdown.changed() => {
                // Wake the pending accept (the kernel holds the socket while
                // it is in flight), then let it finish.
                sys::shutdown_socket(listener.as_raw_fd(), libc::SHUT_RD);
                if let Ok((stream, _)) = accept.await {
                    drop(stream);
                }
                break;
            }
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // EMFILE and friends: log, pause briefly, go on. Never spin.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let global = worker.global_connections.fetch_add(1, Ordering::AcqRel) + 1;
        if global > worker.config.max_connections {
            worker.global_connections.fetch_sub(1, Ordering::AcqRel);
            tokio_uring::spawn(refuse(stream));
            continue;
        }
        worker
            .open_connections
            .set(worker.open_connections.get() + 1);
        let w = worker.clone();
        tokio_uring::spawn(async move {
            let conn = Conn::new(w.clone(), stream, peer);
            conn.serve().await;
            w.global_connections.fetch_sub(1, Ordering::AcqRel);
            w.open_connections.set(w.open_connections.get() - 1);
            w.connection_closed.notify_waiters();
        });
    }
}

/// Answers a connection over `--max-connections` with 503 and closes it.
async fn refuse(stream: tokio_uring::net::TcpStream) {
    let err = RequestError::TooManyConnections;
    let body = error_json(err.kind(), &err.to_string());
    let mut out = Vec::with_capacity(256);
    ResponseHead {
        status: err.status(),
        content_length: Some(body.len() as u64),
        close: true,
        headers: &[("Content-Type", "application/json"), ("Retry-After", "1")],
    }
    .encode(&mut out);
    out.extend_from_slice(body.as_bytes());
    let write = stream.write_all(out);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
    sys::shutdown_socket(stream.as_raw_fd(), libc::SHUT_RDWR);
}

/// Waits for in-flight requests up to the shutdown deadline, then aborts
/// the rest and gives them a moment to clean up.
async fn drain(worker: &Rc<Worker>) {
    worker.lifecycle.start_draining();
    let deadline = Instant::now() + worker.config.shutdown_timeout;
    if !wait_for_connections(worker, deadline).await {
        tracing::warn!(
            "shutdown deadline passed with {} connection(s) open: aborting them",
            worker.open_connections.get()
        );
        worker.lifecycle.abort();
        wait_for_connections(worker, Instant::now() + ABORT_GRACE).await;
    }
}

/// True when every connection closed before `deadline`.
async fn wait_for_connections(worker: &Rc<Worker>, deadline: Instant) -> bool {
    loop {
        let closed = worker.connection_closed.notified();
        if worker.open_connections.get() == 0 {
            return true;
        }
        tokio::select! {
            _ = closed => {}
            _ = tokio::time::sleep_until(deadline) => return worker.open_connections.get() == 0,
        }
    }
}
