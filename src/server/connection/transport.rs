//! The socket of one connection: reads and writes with deadlines, waiting
//! for bytes without holding any buffer, and the lingering close.
//!
//! A connection waits for its client in two ways, and never with a buffer:
//! before a read that might block it waits for *readiness* on tokio's
//! reactor (an epoll registration of the socket, made the first time the
//! connection has to wait), and only then reads — into the connection's
//! own buffer for a head, into a registered buffer for a body. A read that
//! follows readiness completes at once, so a stalled or trickling client
//! holds no registered buffer and no read in the kernel.
//!
//! With HTTPS the transport also holds the connection's TLS session after
//! its handshake: reads decrypt records **in place** in the buffer they
//! were read into (the plaintext ends up contiguous at the front, as plain
//! TCP bytes would; an incomplete record waits in a small side buffer until
//! its rest arrives), and writes seal what they send. Everything above the
//! transport sees plaintext only.
//!
//! Every io_uring operation is still bounded by a deadline
//! ([`super::super::deadline::bounded`]): an operation cannot be
//! cancelled, so on a timeout the socket is shut down and the operation
//! awaited, which hands its buffer back.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;
use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::{BoundedBuf, BoundedBufMut};
use tokio_uring::net::TcpStream;

use crate::server::deadline::{bounded, Direction, Interrupted, ShutdownPolicy};
use crate::server::lifecycle::Lifecycle;
use crate::sys;
use crate::tls::{OpenStop, Outgoing, TlsSession, MAX_RECORD_BYTES};

/// How long a socket the reactor would not register waits before a write
/// is tried again (see `Transport::wait_writable`).
const UNREGISTERED_RETRY: std::time::Duration = std::time::Duration::from_millis(10);
/// The socket's descriptor as tokio's reactor sees it. It does not own the
/// descriptor: [`Transport`] drops its registration before the stream.
struct Registered(RawFd);

impl AsRawFd for Registered {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// What a wait for the client ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// `waiting` bytes are in the socket (at least 1): a read of at most
    /// that many will not block.
    Readable {
        /// What `FIONREAD` said.
        waiting: usize,
    },
    /// The peer closed its side (or reset the connection) and nothing is
    /// left to read.
    Closed,
    /// The deadline passed or shutdown interrupted the wait.
    Interrupted(Interrupted),
}

/// What a read brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Bytes arrived: `plain` bytes of plaintext were appended (with TLS
    /// possibly 0, when only part of a record came).
    Bytes {
        /// Plaintext bytes appended.
        plain: usize,
    },
    /// The peer closed (or reset, or its TLS session ended): nothing more
    /// will come.
    Closed,
}

/// A connection's TLS state after the handshake.
pub(crate) struct Tls {
    session: TlsSession,
    /// Ciphertext of a record not complete yet (at most one record).
    pending: Vec<u8>,
    /// The session broke (a record failed to open): nothing more is sent
    /// on it but its fatal alert.
    failed: bool,
}

impl Tls {
    /// The session after its handshake; `pending` are bytes read after the
    /// handshake that were not opened yet.
    pub(crate) fn new(session: TlsSession, pending: Vec<u8>) -> Tls {
        Tls {
            session,
            pending,
            failed: false,
        }
    }
}

/// What opening the records just read gave.
enum Opened {
    /// Plaintext up to here.
    Plain(usize),
    /// The peer closed its TLS session (`close_notify`).
    PeerClosed,
    /// A record was invalid: send this alert (if any) and close.
    Failed(Option<Vec<u8>>),
}

/// One connection's socket.
pub(crate) struct Transport {
    /// The socket's readiness registration, made at the first wait.
    /// Declared before `stream`: it must be dropped (deregistered) while
    /// the descriptor is still open.
    readiness: Option<AsyncFd<Registered>>,
    /// The TLS session, for HTTPS (boxed: a plain connection pays a word).
    tls: Option<Box<Tls>>,
    stream: TcpStream,
}

impl Transport {
    /// Wraps an accepted socket.
    pub(crate) fn new(stream: TcpStream) -> Transport {
        Transport {
            readiness: None,
            tls: None,
            stream,
        }
    }

    /// Speaks TLS from now on (after the handshake).
    pub(crate) fn start_tls(&mut self, tls: Tls) {
        self.tls = Some(Box::new(tls));
    }

    /// Whether the connection speaks TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether file bodies may go out with `sendfile` (plain TCP, or TLS
    /// whose sending side the kernel runs).
    pub(crate) fn can_sendfile(&self) -> bool {
        self.tls
            .as_ref()
            .map_or(true, |tls| tls.session.can_sendfile())
    }

    /// How many plaintext bytes fit, sealed, in `out_len` bytes.
    pub(crate) fn plaintext_capacity(&self, out_len: usize) -> usize {
        self.tls
            .as_ref()
            .map_or(out_len, |tls| tls.session.plaintext_capacity(out_len))
    }

    /// Seals `buf[..len]` in place for sending; the sealed length (`len`
    /// itself without TLS). `buf` must hold the sealed bytes.
    pub(crate) fn seal_in_place(&mut self, buf: &mut [u8], len: usize) -> std::io::Result<usize> {
        match &mut self.tls {
            None => Ok(len),
            Some(tls) => tls
                .session
                .seal_in_place(buf, 0..len, 0)
                .map_err(std::io::Error::other),
        }
    }

    /// Opens the records read into `buf[plain_end..filled]` (after the
    /// pending ciphertext was put at `plain_end`): the plaintext ends up at
    /// `buf[plain_end..]`, an incomplete last record goes back to pending.
    fn open(tls: &mut Tls, buf: &mut [u8], plain_end: usize, filled: usize) -> Opened {
        let opened = match tls.session.open(buf, plain_end, filled) {
            Ok(opened) => opened,
            Err(err) => {
                tracing::debug!("TLS record refused: {err}");
                tls.failed = true;
                let mut alert = vec![0u8; 64];
                let bytes = match tls.session.fatal_alert(&err, &mut alert) {
                    Some(Ok(Outgoing::Bytes(n))) => {
                        alert.truncate(n);
                        Some(alert)
                    }
                    _ => None,
                };
                return Opened::Failed(bytes);
            }
        };
        tls.pending
            .extend_from_slice(&buf[opened.plain_end..opened.filled]);
        match opened.stop {
            OpenStop::PeerClosed if opened.plain_end == plain_end => Opened::PeerClosed,
            _ => Opened::Plain(opened.plain_end),
        }
    }

    /// The socket's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        sys::fd_of(&self.stream)
    }

    /// Bytes waiting in the socket: a read of at most this many will not
    /// block.
    pub(crate) fn bytes_waiting(&self) -> usize {
        sys::socket::bytes_waiting(self.fd())
    }

    /// Registers the socket with tokio's reactor, once.
    fn register(&mut self) -> std::io::Result<()> {
        if self.readiness.is_none() {
            let fd = Registered(self.stream.as_raw_fd());
            // SAFETY: the registration is the `readiness` field, declared
            // (so dropped) before `stream`, which owns the descriptor: the
            // descriptor stays open, and its number is not reused, until
            // the registration is gone.
            let registered = unsafe {
                AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE)
            }?;
            self.readiness = Some(registered);
        }
        Ok(())
    }

    /// Ends a session whose records could not be opened: its fatal alert
    /// goes out (best effort), then the socket shuts down — no response
    /// follows inside a broken session.
    async fn fail_tls(&self, alert: Option<Vec<u8>>, deadline: Instant, lifecycle: &Lifecycle) {
        if let Some(alert) = alert {
            let _ = self.write_raw(alert, deadline, lifecycle).await;
        }
        self.shutdown(libc::SHUT_RDWR);
    }

    /// Waits, holding no buffer, until a read will not block (bytes are
    /// waiting, or the peer closed or reset), `deadline` passes, or the
    /// worker's shutdown reaches `policy`.
    pub(crate) async fn wait_readable(
        &mut self,
        deadline: Instant,
        lifecycle: &Lifecycle,
        policy: ShutdownPolicy,
    ) -> Waited {
        // Once registered, the readiness says whether bytes may be waiting
        // (it is cleared only after the socket was found empty), so the
        // wait asks the socket itself; before, one question may spare the
        // registration.
        if self.readiness.is_none() {
            let waiting = self.bytes_waiting();
            if waiting > 0 {
                return Waited::Readable { waiting };
            }
        }
        self.wait_readable_when_empty(deadline, lifecycle, policy)
            .await
    }

    /// [`wait_readable`](Self::wait_readable) without first asking the
    /// socket: for a caller that has just found it empty (one `FIONREAD`
    /// fewer per wait). Registers the socket if it is not yet.
    pub(crate) async fn wait_readable_when_empty(
        &mut self,
        deadline: Instant,
        lifecycle: &Lifecycle,
        policy: ShutdownPolicy,
    ) -> Waited {
        loop {
            let changed = lifecycle.changed();
            if lifecycle.is_aborting()
                || (policy == ShutdownPolicy::OnDrain && lifecycle.is_draining())
            {
                return Waited::Interrupted(Interrupted::Shutdown);
            }
            if self.register().is_err() {
                // Without a registration, let a read find out.
                return Waited::Readable { waiting: 1 };
            }
            let Some(readiness) = &self.readiness else {
                return Waited::Readable { waiting: 1 };
            };
            tokio::select! {
                biased;
                ready = readiness.readable() => match ready {
                    Ok(mut guard) => {
                        let waiting = sys::socket::bytes_waiting(sys::fd_of(&self.stream));
                        if waiting > 0 {
                            return Waited::Readable { waiting };
                        }
                        let ready = guard.ready();
                        if ready.is_read_closed() || ready.is_error() {
                            return Waited::Closed;
                        }
                        // Readiness from bytes already read: clear it. A
                        // later arrival sets it again, so none is missed.
                        guard.clear_ready();
                    }
                    Err(_) => return Waited::Readable { waiting: 1 },
                },
                _ = tokio::time::sleep_until(deadline) => {
                    return Waited::Interrupted(Interrupted::Timeout)
                }
                _ = changed => {}
            }
        }
    }

    /// Waits until the socket can take more bytes, or `deadline` passes, or
    /// the worker aborts. `after_would_block`: a non-blocking write just
    /// failed with `WouldBlock`, so the readiness tokio remembers may be
    /// stale: the socket is asked again (`poll`) *after* that readiness is
    /// in hand, and only if it is still full is the readiness cleared —
    /// tokio clears only the readiness this guard saw, so an edge that came
    /// after the question is kept and no wake-up is lost (clearing without
    /// asking again would drop an edge that came between the failed write
    /// and the wait: the client has drained everything, no edge follows,
    /// and the response stalls). Otherwise a socket known to be writable
    /// returns at once.
    pub(crate) async fn wait_writable(
        &mut self,
        deadline: Instant,
        lifecycle: &Lifecycle,
        after_would_block: bool,
    ) -> Result<(), Interrupted> {
        loop {
            let changed = lifecycle.changed();
            if lifecycle.is_aborting() {
                return Err(Interrupted::Shutdown);
            }
            let Some(readiness) = self.register().ok().and(self.readiness.as_ref()) else {
                // No readiness to wait on (the reactor refused the socket):
                // look again a little later, so that a caller whose write
                // would block does not spin; never past the deadline.
                let retry = Instant::now() + UNREGISTERED_RETRY;
                if retry >= deadline {
                    return Err(Interrupted::Timeout);
                }
                tokio::time::sleep_until(retry).await;
                return Ok(());
            };
            tokio::select! {
                biased;
                ready = readiness.writable() => {
                    let Ok(mut guard) = ready else {
                        return Ok(());
                    };
                    if !after_would_block || sys::socket::is_writable_now(sys::fd_of(&self.stream)) {
                        return Ok(());
                    }
                    guard.clear_ready();
                }
                _ = tokio::time::sleep_until(deadline) => return Err(Interrupted::Timeout),
                _ = changed => {}
            }
        }
    }

    /// Reads into the spare capacity of `buf` (appending). Meant to follow
    /// [`wait_readable`](Self::wait_readable), so it does not wait; still
    /// bounded by `deadline`. With TLS the plaintext is appended (the
    /// buffer grows to hold a whole record).
    pub(crate) async fn read_into(
        &mut self,
        mut buf: Vec<u8>,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> (Result<Read, Option<Interrupted>>, Vec<u8>) {
        let plain_end = buf.len();
        if let Some(tls) = &mut self.tls {
            buf.reserve(tls.pending.len() + MAX_RECORD_BYTES);
            buf.extend_from_slice(&tls.pending);
            tls.pending.clear();
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let read = self.stream.read(buf.slice(len..cap));
        let (n, mut buf) = match bounded(
            &self.stream,
            read,
            deadline,
            lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Read,
        )
        .await
        {
            Ok((Ok(n), slice)) => (n, slice.into_inner()),
            Ok((Err(_), slice)) => (0, slice.into_inner()),
            Err((why, (_, slice))) => return (Err(Some(why)), slice.into_inner()),
        };
        if n == 0 {
            buf.truncate(plain_end);
            return (Ok(Read::Closed), buf);
        }
        let Some(tls) = &mut self.tls else {
            return (Ok(Read::Bytes { plain: n }), buf);
        };
        let filled = buf.len();
        match Self::open(tls, &mut buf, plain_end, filled) {
            Opened::Plain(end) => {
                buf.truncate(end);
                let plain = end - plain_end;
                (Ok(Read::Bytes { plain }), buf)
            }
            Opened::PeerClosed => {
                buf.truncate(plain_end);
                (Ok(Read::Closed), buf)
            }
            Opened::Failed(alert) => {
                buf.truncate(plain_end);
                self.fail_tls(alert, deadline, lifecycle).await;
                (Ok(Read::Closed), buf)
            }
        }
    }

    /// Reads and discards raw bytes (the lingering close: nothing is
    /// decrypted). `Ok(0)`: the peer closed.
    pub(crate) async fn discard(
        &self,
        mut buf: Vec<u8>,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> (Result<usize, Option<Interrupted>>, Vec<u8>) {
        buf.clear();
        self.read_raw(buf, deadline, lifecycle).await
    }

    /// Reads into `buf[from..to)` of a registered buffer, which must follow
    /// a wait for readiness (or a non-zero [`bytes_waiting`]). With TLS the
    /// pending ciphertext is put at `from` first, the read goes after it
    /// (up to `to`, which must leave room for a whole record), and the
    /// records are opened in place. Returns the plaintext bytes now at
    /// `buf[from..]`.
    pub(crate) async fn read_fixed(
        &mut self,
        mut buf: FixedBuf,
        from: usize,
        to: usize,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> (Result<Read, Interrupted>, FixedBuf) {
        let mut at = from;
        if let Some(tls) = &mut self.tls {
            buf[from..from + tls.pending.len()].copy_from_slice(&tls.pending);
            at += tls.pending.len();
            tls.pending.clear();
        }
        let read = self.stream.read_fixed(buf.slice(at..to.max(at + 1)));
        let (n, mut buf) = match bounded(
            &self.stream,
            read,
            deadline,
            lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Read,
        )
        .await
        {
            Ok((Ok(n), slice)) => (n, slice.into_inner()),
            Ok((Err(_), slice)) => (0, slice.into_inner()),
            Err((why, (_, slice))) => return (Err(why), slice.into_inner()),
        };
        if n == 0 {
            return (Ok(Read::Closed), buf);
        }
        let Some(tls) = &mut self.tls else {
            return (Ok(Read::Bytes { plain: n }), buf);
        };
        match Self::open(tls, &mut buf, from, at + n) {
            Opened::Plain(end) => (Ok(Read::Bytes { plain: end - from }), buf),
            Opened::PeerClosed => (Ok(Read::Closed), buf),
            Opened::Failed(alert) => {
                self.fail_tls(alert, deadline, lifecycle).await;
                (Ok(Read::Closed), buf)
            }
        }
    }

    /// Writes all of `bytes`, bounded by `deadline` (a client that does not
    /// read cannot hold the connection). The vector comes back for reuse.
    pub(crate) async fn write_all(
        &mut self,
        bytes: Vec<u8>,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> Result<Vec<u8>, std::io::Error> {
        let bytes = match &mut self.tls {
            None => bytes,
            Some(tls) if tls.failed => return Err(std::io::ErrorKind::ConnectionAborted.into()),
            Some(tls) => {
                let mut sealed = vec![0u8; tls.session.sealed_len(bytes.len())];
                let n = tls
                    .session
                    .seal(&bytes, &mut sealed)
                    .map_err(std::io::Error::other)?;
                sealed.truncate(n);
                sealed
            }
        };
        self.write_raw(bytes, deadline, lifecycle).await
    }

    /// Ends a TLS session with `close_notify` (best effort, bounded by
    /// `deadline`); nothing without TLS.
    pub(crate) async fn close_notify(&mut self, deadline: Instant, lifecycle: &Lifecycle) {
        let Some(tls) = self.tls.as_mut().filter(|tls| !tls.failed) else {
            return;
        };
        let mut out = vec![0u8; 64];
        if let Ok(Outgoing::Bytes(n)) = tls.session.close_notify(&mut out) {
            out.truncate(n);
            let _ = self.write_raw(out, deadline, lifecycle).await;
        }
    }

    /// Writes bytes as they are (before TLS starts: handshake records, the
    /// answer to plain HTTP on an HTTPS port; after it: sealed records),
    /// bounded by `deadline`.
    pub(crate) async fn write_raw(
        &self,
        bytes: Vec<u8>,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> Result<Vec<u8>, std::io::Error> {
        let write = self.stream.write_all(bytes);
        match bounded(
            &self.stream,
            write,
            deadline,
            lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Write,
        )
        .await
        {
            Ok((Ok(()), bytes)) => Ok(bytes),
            Ok((Err(err), _)) => Err(err),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// Reads raw bytes into the spare capacity of `buf` (the handshake),
    /// bounded by `deadline`. `Ok(0)`: the peer closed.
    pub(crate) async fn read_raw(
        &self,
        buf: Vec<u8>,
        deadline: Instant,
        lifecycle: &Lifecycle,
    ) -> (Result<usize, Option<Interrupted>>, Vec<u8>) {
        let (len, cap) = (buf.len(), buf.capacity());
        let read = self.stream.read(buf.slice(len..cap));
        match bounded(
            &self.stream,
            read,
            deadline,
            lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Read,
        )
        .await
        {
            Ok((Ok(n), slice)) => (Ok(n), slice.into_inner()),
            Ok((Err(_), slice)) => (Ok(0), slice.into_inner()),
            Err((why, (_, slice))) => (Err(Some(why)), slice.into_inner()),
        }
    }

    /// Hands what the kernel can take of the TLS session to it (kTLS).
    pub(crate) fn offer_kernel(&mut self, support: &crate::tls::KtlsSupport) {
        let fd = self.stream.as_raw_fd();
        if let Some(tls) = &mut self.tls {
            if support.available() {
                tls.session.offer_kernel(fd, support);
            }
        }
    }

    /// Shuts down one or both directions of the socket.
    pub(crate) fn shutdown(&self, how: libc::c_int) {
        sys::socket::shutdown(self.fd(), how);
    }
}

/// Copies `bytes` to the front of a registered buffer.
pub(crate) fn put_front(buf: FixedBuf, bytes: &[u8]) -> FixedBuf {
    let mut front = buf.slice(0..bytes.len().max(1));
    if !bytes.is_empty() {
        front.put_slice(bytes);
    }
    front.into_inner()
}
