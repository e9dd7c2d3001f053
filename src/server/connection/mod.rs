//! One connection, as a state machine: the one place where a connection's
//! state changes.
//!
//! ```text
//!            ┌──────────────┐  head   ┌──────────┐  response sent, body read,
//!  accept ──▶│ AwaitingHead │────────▶│ Exchange │── keep-alive ───────┐
//!            └──────────────┘         └──────────┘                     │
//!              ▲   │ closed, idle timeout,  │ body not read            │
//!              │   │ evicted, draining      ▼                          │
//!              │   │                  ┌───────────┐                    │
//!              │   ▼                  │ Lingering │                    │
//!              │ Closed ◀─────────────└───────────┘                    │
//!              └───────────────────────────────────────────────────────┘
//! ```
//!
//! * **AwaitingHead** — bytes are read into the connection's own buffer
//!   (`rbuf`, no registered buffer) until [`HeadParser`] has a head. The
//!   connection holds no buffer at all while it waits for the first byte
//!   (see [`transport`]). A head that is not complete within
//!   `--head-timeout` gets 408; an idle keep-alive connection just closes
//!   after `--keepalive-timeout`. While it waits the connection is in the
//!   worker's idle registry, so a new client at the connection limit can
//!   take its slot ([`crate::server::slots`]).
//! * **Exchange** — one request: routes see only the narrow
//!   [`Exchange`] interface (the request, accept and receive the body into
//!   planned files, respond, send a file).
//! * **Lingering** — the answer went out before the body was read: half
//!   close, then read and discard for a bounded time and amount (as nginx
//!   does), so the client reads the status instead of a reset.
//!
//! Pipelined requests stay in `rbuf` for the next turn.

mod exchange;
mod receive;
mod send;
mod tls_accept;
mod transport;

pub(crate) use exchange::Exchange;
pub(crate) use receive::{BodyFiles, SMALL_BODY_MAX_BYTES};
pub(crate) use transport::Transport;

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;

use super::access_log::AccessLog;
use super::deadline::{Interrupted, ShutdownPolicy};
use super::error::RequestError;
use super::request::Request;
use super::slots::Slot;
use super::worker_state::Worker;
use crate::http::{HeadParser, Method, RequestHead};
use crate::metrics::TimeoutKind;
use tls_accept::Accepted;
use transport::{Read, Waited};

/// Capacity a connection's buffer gets when bytes arrive: what is waiting,
/// at least this ...
const MIN_READ_BYTES: usize = 512;

/// ... and at most this at first; it grows (up to the head limit) only for
/// large heads. An idle connection keeps none.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// A buffer grown past this (a large head, bytes over-read after a chunked
/// body) is given back once it is empty again.
const MAX_IDLE_BUFFER_BYTES: usize = 64 * 1024;

/// After answering before a body was read, read and discard for at most
/// this long (a lingering close, as nginx does) ...
const LINGER_TIME: Duration = Duration::from_secs(2);

/// ... and at most this many bytes.
const LINGER_MAX_BYTES: u64 = 16 << 20;

/// How long a TLS `close_notify` may take to leave before the socket closes.
const CLOSE_NOTIFY_TIME: Duration = Duration::from_secs(1);

/// What the connection does next.
enum State {
    /// An HTTPS connection's TLS handshake.
    Handshake,
    /// Waiting for (the rest of) a request head.
    AwaitingHead {
        /// No request was served on this connection yet.
        first: bool,
    },
    /// The response went out before the body was read.
    Lingering,
    /// Done: the socket closes.
    Closed,
}

/// How a head wait ended.
enum HeadWait {
    /// A complete head is at the front of `rbuf`.
    Head(RequestHead),
    /// Close without a response: the client closed, an idle keep-alive
    /// connection timed out or was evicted, or the worker drains.
    Close,
    /// The head is invalid or too slow: answer and close.
    Refuse(RequestError),
}

/// What an exchange leaves the connection in.
pub(crate) enum After {
    /// Ready for the next request.
    KeepAlive,
    /// Answered before the body was read.
    Linger,
    /// The connection must close.
    Close,
}

/// Serves one request: what a connection hands each exchange to.
pub(crate) trait Router {
    /// Looks at the exchange's request, decides, and answers through it;
    /// an error is answered by the connection.
    async fn route(&self, exchange: &mut Exchange<'_>) -> Result<(), RequestError>;
}

/// The parts of a connection a request uses (see [`Exchange`]).
pub(crate) struct ConnIo {
    worker: Rc<Worker>,
    transport: Transport,
    peer: SocketAddr,
    /// Bytes received and not yet used: the start of the next head, the
    /// first bytes of a body, pipelined requests, and while a body waits
    /// for its client, its carry (see `receive`).
    rbuf: Vec<u8>,
}

/// A client connection. See the module docs.
pub(crate) struct Connection<R> {
    router: R,
    io: ConnIo,
    head_parser: HeadParser,
    /// Holds the connection's place under `--max-connections` until the
    /// connection is dropped, however its task ends.
    _slot: Slot,
}

impl<R: Router> Connection<R> {
    /// Wraps an accepted socket; its requests go to `router`.
    pub(crate) fn new(
        router: R,
        worker: Rc<Worker>,
        stream: tokio_uring::net::TcpStream,
        peer: SocketAddr,
        slot: Slot,
    ) -> Connection<R> {
        let head_parser = HeadParser::new(worker.config.head_limits);
        Connection {
            router,
            io: ConnIo {
                worker,
                transport: Transport::new(stream),
                peer,
                rbuf: Vec::new(),
            },
            head_parser,
            _slot: slot,
        }
    }

    /// Serves requests until the connection closes.
    pub(crate) async fn serve(mut self) {
        let mut state = match self.io.worker.tls.is_some() {
            true => State::Handshake,
            false => State::AwaitingHead { first: true },
        };
        loop {
            state = match state {
                State::Handshake => {
                    let config = match &self.io.worker.tls {
                        Some(tls) => tls.current(),
                        None => break,
                    };
                    match self.io.accept_tls(config).await {
                        Accepted::Secure => State::AwaitingHead { first: true },
                        Accepted::PlainHttp => State::Lingering,
                        Accepted::Failed => State::Closed,
                    }
                }
                State::AwaitingHead { first } => match self.await_head(first).await {
                    HeadWait::Head(head) => {
                        // Boxed: the exchange's future is large, and an idle
                        // connection should not carry it.
                        match Box::pin(self.exchange(head)).await {
                            After::KeepAlive => State::AwaitingHead { first: false },
                            After::Linger => State::Lingering,
                            After::Close => State::Closed,
                        }
                    }
                    HeadWait::Close => State::Closed,
                    HeadWait::Refuse(err) => {
                        let log = AccessLog::start(self.io.peer, "-", "-");
                        let outcome = Exchange::refuse(&mut self.io, Method::Other, &err).await;
                        log.finish(outcome, Some(&err));
                        State::Lingering
                    }
                },
                State::Lingering => {
                    self.io.linger().await;
                    State::Closed
                }
                State::Closed => {
                    let worker = self.io.worker.clone();
                    let deadline = Instant::now() + CLOSE_NOTIFY_TIME;
                    self.io
                        .transport
                        .close_notify(deadline, &worker.lifecycle)
                        .await;
                    break;
                }
            };
        }
    }

    /// Serves one parsed request.
    async fn exchange(&mut self, head: RequestHead) -> After {
        let parsed = Request::from_head(&head, &self.io.rbuf);
        self.io.rbuf.drain(..head.head_len);
        let request = match parsed {
            Ok(request) => request,
            Err((err, method, target)) => {
                let log = AccessLog::start(self.io.peer, &method, &target);
                let outcome = Exchange::refuse(&mut self.io, head.method, &err).await;
                log.finish(outcome, Some(&err));
                return After::Linger;
            }
        };
        let log = AccessLog::start(self.io.peer, &request.method_name, &request.raw_target);
        let mut exchange = Exchange::new(&mut self.io, request);
        let result = self.router.route(&mut exchange).await;
        let (after, outcome) = exchange.finish(result.as_ref().err()).await;
        log.finish(outcome, result.as_ref().err());
        after
    }

    /// Reads until a complete head is at the front of `rbuf`.
    async fn await_head(&mut self, first: bool) -> HeadWait {
        self.head_parser.reset();
        let worker = self.io.worker.clone();
        let config = &worker.config;
        let now = Instant::now();
        // A new connection must send its head within the head timeout; a
        // kept-alive one may idle for the keep-alive timeout first, and then
        // has the head timeout from its first byte.
        let mut head_deadline =
            (first || !self.io.rbuf.is_empty()).then(|| now + config.head_timeout);
        let idle_deadline = now + config.keepalive_timeout;
        let max_buffer = config.head_limits.max_head_bytes + READ_BUFFER_BYTES;
        // While it waits, the connection can be evicted to make room.
        let _idle = worker.idle.register(self.io.transport.fd(), now);
        loop {
            if !self.io.rbuf.is_empty() {
                match self.head_parser.parse(&self.io.rbuf) {
                    Ok(Some(head)) => return HeadWait::Head(head),
                    Ok(None) => {}
                    Err(err) => return HeadWait::Refuse(err.into()),
                }
            }
            let idle = self.io.rbuf.is_empty();
            if idle && self.io.rbuf.capacity() > 0 {
                // An idle connection keeps no buffer.
                self.io.rbuf = Vec::new();
            }
            let (deadline, policy) = match head_deadline {
                Some(deadline) if !idle => (deadline, ShutdownPolicy::OnAbort),
                Some(deadline) => (deadline, ShutdownPolicy::OnDrain),
                None => (idle_deadline, ShutdownPolicy::OnDrain),
            };
            let waiting = match self
                .io
                .transport
                .wait_readable(deadline, &worker.lifecycle, policy)
                .await
            {
                Waited::Readable { waiting } => waiting,
                Waited::Closed => return HeadWait::Close,
                Waited::Interrupted(Interrupted::Timeout) if !idle || first => {
                    worker.metrics.timeout(TimeoutKind::Head);
                    return HeadWait::Refuse(RequestError::Timeout);
                }
                Waited::Interrupted(Interrupted::Timeout) => {
                    worker.metrics.timeout(TimeoutKind::KeepAlive);
                    return HeadWait::Close;
                }
                Waited::Interrupted(_) => return HeadWait::Close,
            };
            // Room for what is waiting (a small head needs a small buffer),
            // doubling as a large head keeps coming, up to the head limit.
            let spare = self.io.rbuf.capacity() - self.io.rbuf.len();
            let want = waiting.clamp(MIN_READ_BYTES, READ_BUFFER_BYTES);
            if spare < want {
                let grow = self.io.rbuf.capacity().max(want);
                let room = max_buffer.saturating_sub(self.io.rbuf.len());
                self.io.rbuf.reserve_exact(grow.min(room).max(1));
            }
            let buf = std::mem::take(&mut self.io.rbuf);
            let deadline = head_deadline.unwrap_or(idle_deadline);
            let (read, buf) = self
                .io
                .transport
                .read_into(buf, deadline, &worker.lifecycle)
                .await;
            self.io.rbuf = buf;
            match read {
                Ok(Read::Closed) => return HeadWait::Close,
                Ok(Read::Bytes { .. }) => {
                    head_deadline.get_or_insert_with(|| Instant::now() + config.head_timeout);
                }
                Err(Some(Interrupted::Timeout)) => {
                    worker.metrics.timeout(TimeoutKind::Head);
                    return HeadWait::Refuse(RequestError::Timeout);
                }
                Err(_) => return HeadWait::Close,
            }
        }
    }
}

impl ConnIo {
    /// Gives back a buffer grown for a large head or over-read bytes once
    /// it holds little.
    fn trim_buffer(&mut self) {
        if self.rbuf.capacity() > MAX_IDLE_BUFFER_BYTES && self.rbuf.len() <= READ_BUFFER_BYTES {
            self.rbuf.shrink_to(READ_BUFFER_BYTES);
        }
    }

    /// The lingering close: half-close our side, then read and discard for a
    /// bounded time and amount, so the client sees our response rather than
    /// a connection reset caused by unread data.
    async fn linger(&mut self) {
        self.transport.shutdown(libc::SHUT_WR);
        let worker = self.worker.clone();
        let deadline = Instant::now() + LINGER_TIME;
        let mut discarded = 0u64;
        let mut buf = std::mem::take(&mut self.rbuf);
        while discarded < LINGER_MAX_BYTES {
            let waited = self
                .transport
                .wait_readable(deadline, &worker.lifecycle, ShutdownPolicy::OnAbort)
                .await;
            if !matches!(waited, Waited::Readable { .. }) {
                break;
            }
            buf.reserve(READ_BUFFER_BYTES);
            let (read, back) = self
                .transport
                .discard(buf, deadline, &worker.lifecycle)
                .await;
            buf = back;
            match read {
                Ok(n) if n > 0 => discarded += n as u64,
                _ => break,
            }
        }
        drop(buf);
    }
}
