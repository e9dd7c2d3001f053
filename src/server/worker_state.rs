//! What a worker's connections share: the configuration, the served
//! directory, the registered buffer pool, the shutdown phase, the write
//! policy, the registry of idle connections and the resumable uploads'
//! staging area. One per worker thread,
//! behind an `Rc`.

use std::cell::{Cell, OnceCell, RefCell};
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use tokio::sync::Notify;

use super::lifecycle::Lifecycle;
use super::slots::{ConnectionSlots, IdleRegistry};
use crate::auth::{Authenticator, Policy};
use crate::config::Config;
use crate::metrics::WorkerMetrics;
use crate::storage::staging::Staging;
use crate::storage::write_policy::WritePolicy;
use crate::storage::{BufferPool, Root};
use crate::tls::{KtlsSupport, TlsAcceptorConfig};

/// What a worker's connections share.
pub(crate) struct Worker {
    /// The configuration.
    pub(crate) config: Arc<Config>,
    /// The served directory.
    pub(crate) root: Arc<Root>,
    /// This worker's registered buffers.
    pub(crate) pool: BufferPool,
    /// Shutdown phase.
    pub(crate) lifecycle: Lifecycle,
    /// How new uploads write their files.
    pub(crate) writes: WritePolicy,
    /// This worker's connections waiting for a request (for eviction at
    /// the connection limit).
    pub(crate) idle: IdleRegistry,
    /// The server's connection slots and upload-file budget.
    pub(crate) slots: Arc<ConnectionSlots>,
    /// Who may do what where (shared by all workers).
    pub(crate) policy: Arc<Policy>,
    /// Checks credentials (its pool and cache are shared by all workers).
    pub(crate) auth: Authenticator,
    /// This worker's metrics (single writer: only this thread counts).
    pub(crate) metrics: WorkerMetrics,
    /// HTTPS: the certificate and key (reloaded on SIGHUP); `None` for
    /// plain HTTP.
    pub(crate) tls: Option<Arc<TlsAcceptorConfig>>,
    /// What the kernel's TLS (kTLS) can take over after a handshake.
    pub(crate) ktls: KtlsSupport,
    /// Connections open on this worker.
    pub(super) open_connections: Cell<usize>,
    /// Signalled when a connection closes.
    pub(super) connection_closed: Notify,
    /// ROOT opened as a target directory, once, for uploads into ROOT itself.
    pub(super) root_dir: OnceCell<Rc<OwnedFd>>,
    /// The resumable uploads' staging area (shared by all workers).
    pub(crate) staging: Arc<Staging>,
    /// Working space for trying a slow body's bytes before they are worth
    /// a buffer (`BodyPipeline::check_ahead`; borrowed only between awaits).
    pub(crate) check_scratch: RefCell<Vec<u8>>,
}

impl Worker {
    /// Opens the directory `rel` beneath ROOT (see [`Root::open_dir`]) as a
    /// target for uploads. ROOT itself is opened once per worker and shared:
    /// it is the same directory for the life of the process.
    pub(crate) fn open_target_dir(&self, rel: &str) -> io::Result<Rc<OwnedFd>> {
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
