//! One worker thread: a tokio-uring runtime with its own SO_REUSEPORT
//! listener, its own registered buffer pool, and the connections it
//! accepted.

use std::cell::{Cell, OnceCell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_uring::net::{TcpListener, TcpStream};

use super::connection::Connection;
use super::error::RequestError;
use super::lifecycle::Lifecycle;
use super::routes::Routes;
use super::slots::{ConnectionSlots, IdleRegistry, Refusal};
use super::worker_state::Worker;
use crate::auth::{Authenticator, Policy};
use crate::config::Config;
use crate::http::{error_json, ResponseHead};
use crate::metrics::{Counter, Gauge};
use crate::storage::write_policy::WritePolicy;
use crate::storage::{BufferPool, Root};
use crate::sys;

/// How long aborted connections get to clean up after the shutdown
/// deadline before the worker stops waiting for them.
const ABORT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Failed accepts are logged at most this often.
const ACCEPT_WARNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Counts a connection on its worker until dropped (however its task ends).
struct OpenConnection(Rc<Worker>);

impl OpenConnection {
    fn new(worker: &Rc<Worker>) -> OpenConnection {
        worker
            .open_connections
            .set(worker.open_connections.get() + 1);
        worker.metrics.inc(Counter::ConnectionsAccepted);
        worker.metrics.gauge_add(Gauge::ConnectionsOpen, 1);
        OpenConnection(worker.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let worker = &self.0;
        worker.metrics.gauge_add(Gauge::ConnectionsOpen, -1);
        worker
            .open_connections
            .set(worker.open_connections.get() - 1);
        worker.connection_closed.notify_waiters();
    }
}

/// Everything a worker thread is started with.
pub(crate) struct WorkerSetup {
    /// Its number (0-based).
    pub(crate) index: usize,
    /// The configuration.
    pub(crate) config: Arc<Config>,
    /// The served directory.
    pub(crate) root: Arc<Root>,
    /// This worker's listening socket (SO_REUSEPORT, already bound).
    pub(crate) listener: std::net::TcpListener,
    /// The connection slots of the whole server.
    pub(crate) slots: Arc<ConnectionSlots>,
    /// The access policy.
    pub(crate) policy: Arc<Policy>,
    /// The credential checker.
    pub(crate) auth: Authenticator,
    /// Where this worker registers its metrics.
    pub(crate) metrics: Arc<crate::metrics::Registry>,
    /// HTTPS configuration, if any.
    pub(crate) tls: Option<Arc<crate::tls::TlsAcceptorConfig>>,
    /// kTLS support detected at start.
    pub(crate) ktls: crate::tls::KtlsSupport,
    /// The resumable uploads' staging area.
    pub(crate) staging: Arc<crate::storage::staging::Staging>,
    /// Becomes true on SIGINT/SIGTERM.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Reports start-up success or failure to the main thread.
    pub(crate) ready: std::sync::mpsc::Sender<Result<(), super::StartError>>,
}

/// Runs a worker until shutdown completes.
pub(crate) fn run(setup: WorkerSetup, runtime: tokio_uring::Runtime) {
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
        let metrics = setup.metrics.register_worker();
        metrics.gauge_set(Gauge::Buffers, setup.config.buffers_per_worker as i64);
        let worker = Rc::new(Worker {
            metrics,
            tls: setup.tls,
            ktls: setup.ktls,
            writes: WritePolicy::new(&setup.config),
            config: setup.config,
            root: setup.root,
            pool,
            lifecycle: Lifecycle::default(),
            idle: IdleRegistry::new(setup.slots.clone(), setup.index),
            slots: setup.slots.clone(),
            policy: setup.policy,
            auth: setup.auth,
            open_connections: Cell::new(0),
            connection_closed: Notify::new(),
            root_dir: OnceCell::new(),
            staging: setup.staging,
            check_scratch: RefCell::default(),
        });
        let listener = TcpListener::from_std(setup.listener);
        let _ = setup.ready.send(Ok(()));
        if setup.index == 0 && !worker.config.read_only {
            // One sweeper for the process: expired resumable uploads,
            // commits a crash interrupted, the staging usage.
            super::routes::resumable::sweep::spawn(worker.clone(), setup.shutdown.clone());
        }
        let evictor = {
            let worker = worker.clone();
            let slots = setup.slots.clone();
            let mut shutdown = setup.shutdown.clone();
            tokio_uring::spawn(async move {
                let stop = async move {
                    let _ = shutdown.wait_for(|down| *down).await;
                };
                slots
                    .serve_evictions(setup.index, &worker.idle, &worker.metrics, stop)
                    .await;
            })
        };
        accept_loop(
            &worker,
            &listener,
            &setup.slots,
            setup.index,
            setup.shutdown,
        )
        .await;
        // New connections are refused from here on.
        drop(listener);
        let _ = evictor.await;
        drain(&worker).await;
    });
}

async fn accept_loop(
    worker: &Rc<Worker>,
    listener: &TcpListener,
    slots: &Arc<ConnectionSlots>,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_accept_warning: Option<Instant> = None;
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
                sys::socket::shutdown(sys::fd_of(listener), libc::SHUT_RD);
                if let Ok((stream, _)) = accept.await {
                    drop(stream);
                }
                break;
            }
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // EMFILE and friends: log (at most once a second), pause
                // briefly, go on. Never spin.
                let now = Instant::now();
                if last_accept_warning
                    .map_or(true, |at| now.duration_since(at) >= ACCEPT_WARNING_INTERVAL)
                {
                    tracing::warn!("accept failed: {err}");
                    last_accept_warning = Some(now);
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = match slots.admit(index, &worker.idle, &worker.metrics, peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                worker.metrics.inc(Counter::ConnectionsRefused);
                tokio_uring::spawn(refuse(stream, peer, why));
                continue;
            }
        };
        let open = OpenConnection::new(worker);
        let worker = worker.clone();
        tokio_uring::spawn(async move {
            let _open = open;
            Connection::new(Routes, worker, stream, peer, slot)
                .serve()
                .await;
        });
    }
}

/// Answers a connection over the limits with 503 and closes it.
async fn refuse(stream: TcpStream, peer: SocketAddr, why: Refusal) {
    let err = match why {
        Refusal::Full => RequestError::TooManyConnections,
        Refusal::PeerFull => RequestError::TooManyPeerConnections,
    };
    tracing::info!(target: "ringdrop::access", "- - 503 peer={peer} error={}: {err}", err.kind());
    let body = error_json(err.kind(), &err.public_message());
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
    sys::socket::shutdown(sys::fd_of(&stream), libc::SHUT_RDWR);
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
