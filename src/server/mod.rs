//! The thin io_uring server around the cores: threads, sockets, timeouts,
//! routes. It moves buffers and calls the cores; it decides nothing about
//! the protocol.
//!
//! Thread-per-core: each worker is a tokio-uring runtime with its own
//! SO_REUSEPORT listener and registered buffer pool, and shares nothing with
//! the others but the configuration and a connection counter. The main
//! thread only starts the workers, waits for SIGINT/SIGTERM, and joins them.

pub mod access_log;
pub mod body;
pub mod conn;
pub mod deadline;
pub mod error;
pub mod lifecycle;
pub mod page;
pub mod request;
pub mod routes;
pub mod sendfile;
pub mod small_body;
pub mod worker;
pub mod write_queue;

use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::Config;
use crate::storage::pool::{check_memlock, pinned_bytes, PoolSetupError};
use crate::storage::{sys, Root};

/// io_uring submission queue entries per worker.
const RING_ENTRIES: u32 = 1024;

/// Listen backlog per worker socket.
const LISTEN_BACKLOG: i32 = 1024;

/// Why the server could not start. Each says what to check.
#[derive(Debug)]
pub enum StartError {
    /// io_uring_setup failed.
    IoUringUnavailable(io::Error),
    /// The registered buffers do not fit.
    Buffers(PoolSetupError),
    /// ROOT cannot be opened as a directory.
    Root(io::Error),
    /// The address cannot be bound.
    Bind(SocketAddr, io::Error),
    /// A thread or signal set-up call failed.
    Os(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::IoUringUnavailable(err) => write!(
                f,
                "io_uring is unavailable ({err}): ringdrop needs Linux 5.11 or later with io_uring enabled; \
                 check `sysctl kernel.io_uring_disabled` (must be 0) and the container's seccomp profile"
            ),
            StartError::Buffers(err) => err.fmt(f),
            StartError::Root(err) => write!(f, "cannot serve ROOT: {err}"),
            StartError::Bind(addr, err) => write!(f, "cannot listen on {addr}: {err}"),
            StartError::Os(err) => write!(f, "start-up failed: {err}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Creates the io_uring runtime of one thread, or says io_uring is missing.
fn new_runtime() -> Result<tokio_uring::Runtime, StartError> {
    let mut builder = tokio_uring::builder();
    builder.entries(RING_ENTRIES);
    tokio_uring::Runtime::new(&builder).map_err(StartError::IoUringUnavailable)
}

/// A listening socket with SO_REUSEPORT, so every worker can have its own on
/// the same port and the kernel spreads connections among them.
fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_cloexec(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Binds one listener per worker on the same port (the first one picks the
/// port when it is 0).
fn bind_listeners(config: &Config) -> Result<(SocketAddr, Vec<TcpListener>), StartError> {
    let requested = SocketAddr::new(config.bind, config.port);
    let first = reuseport_listener(requested).map_err(|e| StartError::Bind(requested, e))?;
    let bound = first
        .local_addr()
        .map_err(|e| StartError::Bind(requested, e))?;
    let mut listeners = vec![first];
    for _ in 1..config.workers {
        listeners.push(reuseport_listener(bound).map_err(|e| StartError::Bind(bound, e))?);
    }
    Ok((bound, listeners))
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
pub fn run(config: Config) -> Result<(), StartError> {
    // Fail fast, with one clear line, where io_uring is missing.
    drop(new_runtime()?);
    let pool_bytes = pinned_bytes(
        (config.workers as u64).saturating_mul(config.buffers_per_worker as u64),
        config.buffer_size_bytes as u64,
    );
    check_memlock(pool_bytes).map_err(StartError::Buffers)?;
    let open_files = sys::raise_nofile_limit().map_err(StartError::Os)?;
    let root = Arc::new(Root::open(&config.root).map_err(StartError::Root)?);
    let (bound, listeners) = bind_listeners(&config)?;
    sys::block_termination_signals().map_err(StartError::Os)?;

    let config = Arc::new(config);
    let global_connections = Arc::new(AtomicUsize::new(0));
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let setup = worker::WorkerSetup {
            config: config.clone(),
            root: root.clone(),
            listener,
            global_connections: global_connections.clone(),
            shutdown: shutdown_rx.clone(),
            ready: ready_tx.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("ringdrop-worker-{index}"))
            .spawn(move || match new_runtime() {
                Ok(runtime) => worker::run(setup, runtime),
                Err(err) => {
                    let _ = setup.ready.send(Err(err));
                }
            })
            .map_err(StartError::Os)?;
        threads.push(thread);
    }
    drop(ready_tx);
    for _ in 0..threads.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err),
            Err(_) => {
                return Err(StartError::Os(io::Error::other(
                    "a worker thread died at start-up",
                )))
            }
        }
    }

    {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, "listening on http://{bound}/");
        let _ = stdout.flush();
    }
    tracing::info!(
        root = %config.root.display(),
        workers = config.workers,
        buffers = format!("{} x {} KiB per worker", config.buffers_per_worker, config.buffer_size_bytes / 1024),
        durable = config.durable,
        "ringdrop serving; open-file limit {open_files} allows about {} connections (--max-connections {})",
        open_files.saturating_sub(64),
        config.max_connections
    );

    let signal = sys::wait_for_termination_signal().map_err(StartError::Os)?;
    tracing::info!(
        "received signal {signal}: no new connections; finishing requests in flight (up to {:?})",
        config.shutdown_timeout
    );
    let _ = shutdown_tx.send(true);
    for thread in threads {
        let _ = thread.join();
    }
    tracing::info!("shutdown complete");
    Ok(())
}
