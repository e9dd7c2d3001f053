//! Connection slots: `--max-connections` across all workers, an optional
//! per-peer cap, and making room at the limit.
//!
//! At the limit a new client is not refused while some connection only
//! waits: the connection that has waited longest for a request (an idle
//! keep-alive connection, or one whose head has not arrived) is closed and
//! the newcomer is served, as nginx reuses idle keep-alive connections.
//! Each worker keeps its waiting connections in an [`IdleRegistry`] ordered
//! by the time they started waiting; a worker that has none to give asks
//! the worker with the most. Until the evicted connection has closed, the
//! count may pass the limit by the connections being evicted.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::metrics::{Counter, WorkerMetrics};
use crate::sys;

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `--max-connections` is reached and no connection was idle.
    Full,
    /// The peer has `--max-connections-per-ip` connections open.
    PeerFull,
}

/// What a worker publishes for the others.
#[derive(Debug, Default)]
struct WorkerDoor {
    /// Connections of this worker waiting for a request.
    idle: AtomicUsize,
    /// Evictions other workers asked this one for.
    evict_requests: AtomicUsize,
    /// Wakes the worker's evictor.
    wake: Notify,
}

/// The connection slots of the whole server, and its budget of files
/// being uploaded (each holds descriptors: the staged file and its
/// directory), so that uploads cannot exhaust the open-file limit and lock
/// every new client out.
#[derive(Debug)]
pub(crate) struct ConnectionSlots {
    open: AtomicUsize,
    max: usize,
    /// Staged files open now, and at most.
    files: AtomicUsize,
    max_files: usize,
    per_peer_max: Option<usize>,
    /// Connections per peer address, kept only with a per-peer cap.
    per_peer: Mutex<HashMap<IpAddr, usize>>,
    doors: Vec<WorkerDoor>,
}

/// One staged file's place in the budget; released when dropped.
#[derive(Debug)]
pub(crate) struct FilePermit {
    slots: Arc<ConnectionSlots>,
}

impl Drop for FilePermit {
    fn drop(&mut self) {
        self.slots.files.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How the open-file limit is shared: `connections` sockets at most (the
/// configured limit, kept below the open-file limit) and `upload_files`
/// staged files (two descriptors each: the file and its directory), with a
/// reserve for the listeners, the log, ROOT and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FdBudget {
    /// Connections open at once.
    pub(crate) connections: usize,
    /// Files being uploaded at once.
    pub(crate) upload_files: usize,
}

/// Descriptors kept aside for everything but connections and uploads.
const RESERVED_FDS: usize = 64;

/// Fewest uploads the budget leaves room for, however many connections
/// were asked for.
const MIN_UPLOAD_FILES: usize = 16;

impl FdBudget {
    /// The budget for an open-file limit of `open_files` and
    /// `--max-connections max_connections`.
    pub(crate) fn new(open_files: usize, max_connections: usize) -> FdBudget {
        let usable = open_files.saturating_sub(RESERVED_FDS);
        let connections = max_connections
            .min(usable.saturating_sub(2 * MIN_UPLOAD_FILES))
            .max(1);
        let upload_files = (usable.saturating_sub(connections) / 2).max(MIN_UPLOAD_FILES);
        FdBudget {
            connections,
            upload_files,
        }
    }
}

/// One connection's place; released when dropped, however the connection's
/// task ends (a panic included).
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<ConnectionSlots>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.open.fetch_sub(1, Ordering::AcqRel);
        self.slots.release_peer(self.peer);
    }
}

impl ConnectionSlots {
    /// Slots for `max` connections over `workers` workers, at most
    /// `per_peer_max` from one address.
    pub(crate) fn new(
        max: usize,
        max_files: usize,
        per_peer_max: Option<usize>,
        workers: usize,
    ) -> ConnectionSlots {
        ConnectionSlots {
            open: AtomicUsize::new(0),
            max,
            files: AtomicUsize::new(0),
            max_files,
            per_peer_max,
            per_peer: Mutex::new(HashMap::new()),
            doors: (0..workers).map(|_| WorkerDoor::default()).collect(),
        }
    }

    /// A place for one more file being uploaded, or `None` when the budget
    /// is spent (the upload is answered 503 at once).
    pub(crate) fn file_permit(self: &Arc<Self>) -> Option<FilePermit> {
        let taken = self.files.fetch_add(1, Ordering::AcqRel) + 1;
        let permit = FilePermit {
            slots: self.clone(),
        };
        (taken <= self.max_files).then_some(permit)
    }

    fn take_peer(&self, peer: IpAddr) -> bool {
        let Some(max) = self.per_peer_max else {
            return true;
        };
        let mut map = self.per_peer.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(peer).or_insert(0);
        if *count >= max {
            return false;
        }
        *count += 1;
        true
    }

    fn release_peer(&self, peer: IpAddr) {
        if self.per_peer_max.is_none() {
            return;
        }
        let mut map = self.per_peer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = map.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                map.remove(&peer);
            }
        }
    }

    /// A slot for a new connection from `peer` accepted by worker `worker`
    /// (whose waiting connections are `local`), making room at the limit.
    pub(crate) fn admit(
        self: &Arc<Self>,
        worker: usize,
        local: &IdleRegistry,
        metrics: &WorkerMetrics,
        peer: IpAddr,
    ) -> Result<Slot, Refusal> {
        if !self.take_peer(peer) {
            return Err(Refusal::PeerFull);
        }
        let slot = Slot {
            slots: self.clone(),
            peer,
        };
        let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        if open <= self.max {
            return Ok(slot);
        }
        if local.evict_oldest() {
            metrics.inc(Counter::ConnectionsShed);
            return Ok(slot);
        }
        if self.ask_other_worker(worker) {
            return Ok(slot);
        }
        Err(Refusal::Full) // dropping `slot` gives the place back
    }

    /// Asks the worker with the most waiting connections (other than
    /// `worker`) to close its longest-waiting one.
    fn ask_other_worker(&self, worker: usize) -> bool {
        let busiest = self
            .doors
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != worker)
            .max_by_key(|(_, door)| door.idle.load(Ordering::Relaxed));
        match busiest {
            Some((_, door)) if door.idle.load(Ordering::Relaxed) > 0 => {
                door.evict_requests.fetch_add(1, Ordering::AcqRel);
                door.wake.notify_one();
                true
            }
            _ => false,
        }
    }

    /// Runs worker `worker`'s evictor until `stop` resolves: closes its
    /// longest-waiting connections as other workers ask.
    pub(crate) async fn serve_evictions(
        &self,
        worker: usize,
        local: &IdleRegistry,
        metrics: &WorkerMetrics,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let door = &self.doors[worker];
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                _ = door.wake.notified() => {}
                _ = &mut stop => return,
            }
            while door
                .evict_requests
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
            {
                if local.evict_oldest() {
                    metrics.inc(Counter::ConnectionsShed);
                }
            }
        }
    }

    fn publish_idle(&self, worker: usize, idle: usize) {
        if let Some(door) = self.doors.get(worker) {
            door.idle.store(idle, Ordering::Relaxed);
        }
    }
}

/// One worker's connections that are waiting for a request, oldest first.
pub(crate) struct IdleRegistry {
    slots: Arc<ConnectionSlots>,
    worker: usize,
    /// (waiting since, unique id) → the connection's socket. INVARIANT: an
    /// entry is removed (its [`IdleTicket`] dropped) before its socket can
    /// close: the ticket lives inside the connection's head wait, and the
    /// socket is owned by the connection, which outlives that wait.
    waiting: RefCell<BTreeMap<(Instant, u64), RawFd>>,
    next_id: Cell<u64>,
}

/// A connection's entry in the [`IdleRegistry`]; removed when dropped.
pub(crate) struct IdleTicket<'r> {
    registry: &'r IdleRegistry,
    key: (Instant, u64),
}

impl Drop for IdleTicket<'_> {
    fn drop(&mut self) {
        let mut waiting = self.registry.waiting.borrow_mut();
        waiting.remove(&self.key);
        self.registry
            .slots
            .publish_idle(self.registry.worker, waiting.len());
    }
}

impl IdleRegistry {
    /// An empty registry for worker `worker`.
    pub(crate) fn new(slots: Arc<ConnectionSlots>, worker: usize) -> IdleRegistry {
        IdleRegistry {
            slots,
            worker,
            waiting: RefCell::new(BTreeMap::new()),
            next_id: Cell::new(0),
        }
    }

    /// Registers a connection waiting for a request since `since`.
    pub(crate) fn register(&self, socket: BorrowedFd<'_>, since: Instant) -> IdleTicket<'_> {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let key = (since, id);
        let mut waiting = self.waiting.borrow_mut();
        waiting.insert(key, socket.as_raw_fd());
        self.slots.publish_idle(self.worker, waiting.len());
        IdleTicket {
            registry: self,
            key,
        }
    }

    /// Closes the connection that has waited longest: its socket is shut
    /// down, so its wait ends at once and it closes without a response.
    /// False when no connection is waiting.
    pub(crate) fn evict_oldest(&self) -> bool {
        let mut waiting = self.waiting.borrow_mut();
        let Some((_, fd)) = waiting.pop_first() else {
            return false;
        };
        self.slots.publish_idle(self.worker, waiting.len());
        // SAFETY: by the invariant on `waiting`, an entry's socket is open
        // while the entry exists (the entry was just removed, on this
        // thread, with nothing in between), so `fd` names that socket and
        // not a reused number.
        let socket = unsafe { BorrowedFd::borrow_raw(fd) };
        sys::socket::shutdown(socket, libc::SHUT_RDWR);
        tracing::debug!("connection limit reached: closed the longest-waiting idle connection");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::FdBudget;

    #[test]
    fn the_fd_budget_keeps_room_for_uploads_and_never_exceeds_the_limit() {
        let b = FdBudget::new(20_000, 10_000);
        assert_eq!(b.connections, 10_000);
        assert_eq!(b.upload_files, (20_000 - 64 - 10_000) / 2);
        let b = FdBudget::new(1024, 10_000);
        assert_eq!(b.connections, 1024 - 64 - 32);
        assert_eq!(b.upload_files, 16);
        assert!(b.connections + 2 * b.upload_files <= 1024 - 64);
        let b = FdBudget::new(10, 10_000);
        assert_eq!(b.connections, 1);
    }
}
