//! The thin io_uring server around the cores: threads, sockets, timeouts,
//! routes. It moves buffers and calls the cores; it decides nothing about
//! the protocol.
//!
//! Thread-per-core: each worker is a tokio-uring runtime with its own
//! SO_REUSEPORT listener and registered buffer pool, and shares nothing with
//! the others but the configuration and the connection slots
//! (`slots`). The main thread only starts the workers, waits for
//! SIGINT/SIGTERM, and joins them.
//!
//! Map: `worker` accepts; `connection` is one connection's state
//! machine — its socket (`connection::transport`), the request/response
//! interface routes get (`connection::exchange`), the upload byte path
//! (`connection::receive`) and file bodies out (`connection::send`);
//! `routes` decide per method; `listing` reads and renders
//! directories.

mod access_log;
mod connection;
mod deadline;
mod error;
mod lifecycle;
mod listing;
mod request;
mod routes;
mod slots;
mod worker;
mod worker_state;

use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use crate::auth::{Authenticator, Policy};
use crate::config::Config;
use crate::storage::pool::{check_memlock, pinned_bytes, PoolSetupError};
use crate::storage::Root;
use crate::sys;
use slots::ConnectionSlots;

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

/// Lets the worker's other tasks run. An io_uring no-op rather than
/// `yield_now`: the task then waits until the worker has parked, which is
/// when tokio-uring submits the operations the other connections queued.
pub(crate) async fn yield_to_worker() {
    if tokio_uring::no_op().await.is_err() {
        tokio::task::yield_now().await;
    }
}

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
    let open_files = sys::process::raise_nofile_limit().map_err(StartError::Os)?;
    let root = Arc::new(Root::open(&config.root).map_err(StartError::Root)?);
    let (bound, listeners) = bind_listeners(&config)?;
    sys::process::block_handled_signals().map_err(StartError::Os)?;

    let config = Arc::new(config);
    let policy = Arc::new(Policy::for_config(&config));
    let auth = Authenticator::new(&config.access).map_err(StartError::Os)?;
    if config.access.anonymous_may_upload() && !config.read_only && !config.bind.is_loopback() {
        tracing::warn!(
            "listening on {} with uploads open to anyone who can reach it; \
             restrict them with --user and --allow (see README, Access control)",
            config.bind
        );
    }
    let tls = match &config.tls {
        Some(files) => Some(Arc::new(
            crate::tls::TlsAcceptorConfig::load(files.clone())
                .map_err(|e| StartError::Os(io::Error::other(e.to_string())))?,
        )),
        None => None,
    };
    let ktls = if tls.is_some() {
        let support = crate::tls::probe_ktls();
        tracing::info!("TLS: {}", support.describe());
        support
    } else {
        crate::tls::KtlsSupport::none("plain HTTP")
    };
    let metrics = crate::metrics::Registry::new();
    if let Some(addr) = config.metrics {
        crate::metrics::serve(addr, metrics.clone()).map_err(|e| StartError::Bind(addr, e))?;
    }
    // Resumable uploads: what the staging area holds counts against the
    // limits (and in the metrics) from the first request on.
    let staging = Arc::new(crate::storage::staging::Staging::new(
        root.clone(),
        metrics.clone(),
    ));
    match routes::resumable::sweep::initial_usage(&staging) {
        Ok(usage) => staging.set_usage(usage),
        Err(err) => tracing::warn!("resumable uploads: cannot read the staging area: {err}"),
    }
    let budget = slots::FdBudget::new(
        usize::try_from(open_files).unwrap_or(usize::MAX),
        config.max_connections,
    );
    if budget.connections < config.max_connections {
        tracing::warn!(
            "the open-file limit ({open_files}) allows {} connections, not --max-connections {}: \
             raise `ulimit -n` (LimitNOFILE=)",
            budget.connections,
            config.max_connections
        );
    }
    let slots = Arc::new(ConnectionSlots::new(
        budget.connections,
        budget.upload_files,
        config.max_connections_per_ip,
        config.workers,
    ));
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let setup = worker::WorkerSetup {
            index,
            config: config.clone(),
            root: root.clone(),
            listener,
            slots: slots.clone(),
            policy: policy.clone(),
            auth: auth.clone(),
            metrics: metrics.clone(),
            tls: tls.clone(),
            ktls: ktls.clone(),
            staging: staging.clone(),
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        let _ = writeln!(stdout, "listening on {scheme}://{bound}/");
        let _ = stdout.flush();
    }
    tracing::info!(
        root = %config.root.display(),
        workers = config.workers,
        buffers = format!("{} x {} KiB per worker", config.buffers_per_worker, config.buffer_size_bytes / 1024),
        durable = config.durable,
        "ringdrop serving; open-file limit {open_files}: up to {} connections and {} files being uploaded at once",
        budget.connections,
        budget.upload_files
    );

    let signal = loop {
        match sys::process::wait_for_signal().map_err(StartError::Os)? {
            libc::SIGHUP => match &tls {
                Some(tls) => match tls.reload() {
                    Ok(()) => tracing::info!("received SIGHUP: TLS certificate reloaded"),
                    Err(err) => tracing::warn!(
                        "received SIGHUP: the TLS certificate could not be reloaded ({err}); \
                         keeping the one in use"
                    ),
                },
                None => tracing::info!("received SIGHUP: nothing to reload"),
            },
            signal => break signal,
        }
    };
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
