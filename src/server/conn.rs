//! One connection: read a head, hand the request to its route, write the
//! response, and go round again while keep-alive allows.
//!
//! The connection buffer `rbuf` holds bytes received and not yet used: the
//! start of the next head, and while a request is being routed, the first
//! bytes of its body (the body pump copies them into a registered buffer).
//! Pipelined requests simply stay in `rbuf` for the next turn of the loop.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_uring::buf::BoundedBuf;
use tokio_uring::net::TcpStream;

use super::access_log::AccessLog;
use super::deadline::{bounded, Direction, Interrupted, ShutdownPolicy};
use super::error::RequestError;
use super::request::Request;
use super::routes;
use super::worker::Worker;
use crate::http::{error_json, HeadParser, Method, RequestHead, ResponseHead, StatusCode, Version};

/// Initial capacity of a connection's buffer; it grows (up to the head
/// limit) only for large heads. Small, because idle connections keep it.
const INITIAL_READ_BUFFER_BYTES: usize = 4 * 1024;

/// After answering before a body was read, read and discard for at most
/// this long (a lingering close, as nginx does) so the client reads the
/// status instead of a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);

/// ... and at most this many bytes.
const LINGER_MAX_BYTES: u64 = 16 << 20;

/// Where the current request's body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// The request has no body.
    Absent,
    /// A body was announced and not (fully) read.
    Unread,
    /// The body was read to its end.
    Consumed,
}

/// A client connection.
pub struct Conn {
    /// The worker this connection runs on.
    pub worker: Rc<Worker>,
    /// The socket.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Bytes received and not yet used (see the module docs).
    pub rbuf: Vec<u8>,
    head_parser: HeadParser,
    /// The current request's body.
    pub body: BodyState,
    /// Body bytes received for the current request (for the access log).
    pub body_bytes_in: u64,
    /// Bytes sent for the current request.
    pub bytes_out: u64,
    /// The response status of the current request (for the access log).
    pub status: Option<StatusCode>,
    /// The response promised to close the connection.
    pub closing: bool,
    /// The current request is a HEAD: responses carry no body (RFC 9110
    /// §9.3.2), error responses included.
    pub head_request: bool,
}

impl Conn {
    /// Wraps an accepted socket.
    pub fn new(worker: Rc<Worker>, stream: TcpStream, peer: SocketAddr) -> Conn {
        let head_parser = HeadParser::new(worker.config.head_limits);
        Conn {
            worker,
            stream,
            peer,
            rbuf: Vec::with_capacity(INITIAL_READ_BUFFER_BYTES),
            head_parser,
            body: BodyState::Absent,
            body_bytes_in: 0,
            bytes_out: 0,
            status: None,
            closing: false,
            head_request: false,
        }
    }

    /// Serves requests until the connection closes.
    pub async fn serve(mut self) {
        let mut first = true;
        loop {
            let head = match self.read_head(first).await {
                Ok(Some(head)) => head,
                Ok(None) => break,
                Err(err) => {
                    let log = AccessLog::start(self.peer, "-", "-");
                    self.body = BodyState::Unread;
                    self.closing = true;
                    self.send_error(&err).await;
                    log.finish(&self, Some(&err));
                    self.linger().await;
                    break;
                }
            };
            first = false;
            if !self.serve_one(&head).await {
                break;
            }
        }
    }

    /// Serves one parsed request; false when the connection must close.
    async fn serve_one(&mut self, head: &RequestHead) -> bool {
        self.body_bytes_in = 0;
        self.bytes_out = 0;
        self.status = None;
        self.closing = false;
        self.head_request = head.method == Method::Head;
        let parsed = Request::from_head(head, &self.rbuf);
        self.rbuf.drain(..head.head_len);
        let request = match parsed {
            Ok(request) => request,
            Err((err, method, target)) => {
                let log = AccessLog::start(self.peer, &method, &target);
                // The framing is unknown, so the body (if any) cannot be skipped.
                self.body = BodyState::Unread;
                self.closing = true;
                self.send_error(&err).await;
                log.finish(self, Some(&err));
                self.linger().await;
                return false;
            }
        };
        let log = AccessLog::start(self.peer, &request.method_name, &request.raw_target);
        self.body = if request.has_body() {
            BodyState::Unread
        } else {
            BodyState::Absent
        };
        self.closing = self.must_close(&request);
        let result = routes::route(self, &request).await;
        if let Err(err) = &result {
            if self.status.is_none() {
                if self.body != BodyState::Consumed && self.body != BodyState::Absent {
                    self.closing = true;
                }
                self.send_error(err).await;
            } else {
                // The response had started; the connection cannot be reused.
                self.closing = true;
            }
        }
        log.finish(self, result.as_ref().err());
        if self.body == BodyState::Unread {
            self.linger().await;
            return false;
        }
        !self.closing && !self.worker.lifecycle.is_draining()
    }

    /// Whether the response to `request` must close the connection.
    fn must_close(&self, request: &Request) -> bool {
        // HTTP/1.0 connections close after one response (documented choice:
        // no HTTP/1.0 keep-alive).
        !request.info.keep_alive
            || request.version == Version::Http10
            || self.worker.lifecycle.is_draining()
    }

    /// Reads until a complete head is in `rbuf`. `Ok(None)`: the client
    /// closed, or an idle keep-alive connection timed out or the worker is
    /// shutting down — close without a response.
    async fn read_head(&mut self, first: bool) -> Result<Option<RequestHead>, RequestError> {
        self.head_parser.reset();
        let config = &self.worker.config;
        let now = Instant::now();
        // A new connection must send its head within the head timeout; a
        // kept-alive one may idle for the keep-alive timeout first, and then
        // has the head timeout from its first byte.
        let mut head_deadline = (first || !self.rbuf.is_empty()).then(|| now + config.head_timeout);
        let idle_deadline = now + config.keepalive_timeout;
        let max_buffer = config.head_limits.max_head_bytes + INITIAL_READ_BUFFER_BYTES;
        loop {
            if !self.rbuf.is_empty() {
                if let Some(head) = self.head_parser.parse(&self.rbuf)? {
                    return Ok(Some(head));
                }
            }
            let idle = self.rbuf.is_empty();
            let (deadline, policy) = match head_deadline {
                Some(deadline) if !idle => (deadline, ShutdownPolicy::OnAbort),
                Some(deadline) => (deadline, ShutdownPolicy::OnDrain),
                None => (idle_deadline, ShutdownPolicy::OnDrain),
            };
            if self.rbuf.len() == self.rbuf.capacity() {
                let grow = self.rbuf.capacity().max(INITIAL_READ_BUFFER_BYTES);
                self.rbuf
                    .reserve(grow.min(max_buffer.saturating_sub(self.rbuf.len())).max(1));
            }
            let buf = std::mem::take(&mut self.rbuf);
            let (len, cap) = (buf.len(), buf.capacity());
            let read = self.stream.read(buf.slice(len..cap));
            let outcome = bounded(
                &self.stream,
                read,
                deadline,
                &self.worker.lifecycle,
                policy,
                Direction::Read,
            )
            .await;
            match outcome {
                Ok((Ok(0), slice)) | Ok((Err(_), slice)) => {
                    self.rbuf = slice.into_inner();
                    return Ok(None);
                }
                Ok((Ok(_), slice)) => {
                    self.rbuf = slice.into_inner();
                    head_deadline.get_or_insert_with(|| Instant::now() + config.head_timeout);
                }
                Err((why, (_, slice))) => {
                    self.rbuf = slice.into_inner();
                    return match why {
                        Interrupted::Timeout if !idle || first => Err(RequestError::Timeout),
                        Interrupted::Timeout | Interrupted::Shutdown => Ok(None),
                    };
                }
            }
        }
    }

    /// Writes `bytes` to the client, bounded by the body idle timeout (a
    /// client that never reads cannot hold the connection).
    pub async fn write_all(&mut self, bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let deadline = Instant::now() + self.worker.config.body_idle_timeout;
        let len = bytes.len() as u64;
        let write = self.stream.write_all(bytes);
        match bounded(
            &self.stream,
            write,
            deadline,
            &self.worker.lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Write,
        )
        .await
        {
            Ok((Ok(()), bytes)) => {
                self.bytes_out += len;
                Ok(bytes)
            }
            Ok((Err(err), _)) => Err(err),
            Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        }
    }

    /// Sends a complete response: head (with Content-Length = body length,
    /// unless `head_only_length` gives the length for a HEAD request) and body.
    pub async fn send_response(
        &mut self,
        status: StatusCode,
        headers: &[(&str, &str)],
        body: &[u8],
        head_only_length: Option<u64>,
    ) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(256 + body.len());
        ResponseHead {
            status,
            // 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6).
            content_length: (status != StatusCode::NO_CONTENT
                && status != StatusCode::NOT_MODIFIED)
                .then(|| head_only_length.unwrap_or(body.len() as u64)),
            close: self.closing,
            headers,
        }
        .encode(&mut out);
        if head_only_length.is_none() && !self.head_request {
            out.extend_from_slice(body);
        }
        self.status = Some(status);
        self.write_all(out).await.map(drop)
    }

    /// Sends a JSON response.
    pub async fn send_json(&mut self, status: StatusCode, json: &str) -> std::io::Result<()> {
        self.send_response(
            status,
            &[("Content-Type", "application/json")],
            json.as_bytes(),
            None,
        )
        .await
    }

    /// Sends the JSON error response for `err`.
    pub async fn send_error(&mut self, err: &RequestError) {
        let status = err.status();
        let body = error_json(err.kind(), &err.to_string());
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        if let Some(allow) = err.allow() {
            headers.push(("Allow", allow));
        }
        if status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::SERVICE_UNAVAILABLE {
            self.closing = true;
        }
        let _ = self
            .send_response(status, &headers, body.as_bytes(), None)
            .await;
    }

    /// Sends `100 Continue` (only for HTTP/1.1 requests that asked).
    pub async fn send_continue(&mut self) -> std::io::Result<()> {
        self.write_all(crate::http::CONTINUE_RESPONSE.to_vec())
            .await
            .map(drop)
    }

    /// The lingering close: half-close our side, then read and discard for a
    /// bounded time and amount, so the client sees our response rather than
    /// a connection reset caused by unread data.
    pub async fn linger(&mut self) {
        crate::storage::sys::shutdown_socket(
            std::os::fd::AsRawFd::as_raw_fd(&self.stream),
            libc::SHUT_WR,
        );
        let deadline = Instant::now() + LINGER_TIME;
        let mut discarded = 0u64;
        let mut buf = std::mem::take(&mut self.rbuf);
        buf.clear();
        if buf.capacity() < INITIAL_READ_BUFFER_BYTES {
            buf.reserve(INITIAL_READ_BUFFER_BYTES);
        }
        while discarded < LINGER_MAX_BYTES {
            buf.clear();
            let cap = buf.capacity();
            let read = self.stream.read(buf.slice(0..cap));
            match bounded(
                &self.stream,
                read,
                deadline,
                &self.worker.lifecycle,
                ShutdownPolicy::OnAbort,
                Direction::Read,
            )
            .await
            {
                Ok((Ok(n), slice)) if n > 0 => {
                    discarded += n as u64;
                    buf = slice.into_inner();
                }
                Ok((_, slice)) | Err((_, (_, slice))) => {
                    buf = slice.into_inner();
                    break;
                }
            }
        }
        buf.clear();
        self.rbuf = buf;
    }
}
