//! One request and its response: the narrow interface routes get.
//!
//! A route sees the [`Request`], decides, and then does at most these
//! things, in this order: [`Exchange::receive`] the body into planned files
//! (which first sends `100 Continue` when the client asked for it: every
//! check a route makes before calling it is made before the client sends
//! its body), and answer once — [`Exchange::respond`] /
//! [`Exchange::respond_json`] for a complete response, or
//! [`Exchange::send_file`] for a file. A route that fails returns its
//! error; [`Exchange::finish`] answers it (or closes the connection when
//! a response had started) and says what the connection does next.

use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;

use super::{After, ConnIo};
use crate::auth::{challenge_for, Action, AuthOutcome, Decision, Identity, Perms};
use crate::digest::DigestError;
use crate::http::{
    error_json, response_framing, Method, ResponseContext, ResponseFraming, StatusCode, Version,
};
use crate::metrics::{
    AuthFailure, Counter, Gauge, Histogram, MethodLabel, TimeoutKind, UploadFailure,
};
use crate::server::access_log::Outcome;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::server::worker_state::Worker;

/// Where the request's body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// The request has no body.
    Absent,
    /// A body was announced and not (fully) read.
    Unread,
    /// The body was read to its end.
    Consumed,
}

/// Where the response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseState {
    /// Nothing sent yet.
    Pending,
    /// A complete response went out.
    Sent(StatusCode),
    /// A response started and could not be completed: the connection
    /// cannot be reused.
    Broken(StatusCode),
}

/// One request on its connection. See the module docs.
pub(crate) struct Exchange<'c> {
    pub(super) io: &'c mut ConnIo,
    request: Rc<Request>,
    body: BodyState,
    response: ResponseState,
    /// The response closes the connection (HTTP/1.0, `Connection: close`,
    /// shutdown).
    close_after: bool,
    continue_sent: bool,
    /// Who is asking (anonymous until [`authenticate`](Self::authenticate)).
    identity: Identity,
    /// When the route declared this request an upload (for the upload
    /// metrics), and when its body's last byte arrived.
    upload_began: Option<Instant>,
    body_done: Option<Instant>,
    /// The route answered the upload itself with a refusal (see
    /// [`upload_refused`](Self::upload_refused)).
    upload_refused: Option<UploadFailure>,
    pub(super) bytes_in: u64,
    pub(super) bytes_out: u64,
}

/// Unix seconds now, for token expiry.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl<'c> Exchange<'c> {
    pub(super) fn new(io: &'c mut ConnIo, request: Request) -> Exchange<'c> {
        let body = if request.has_body() {
            BodyState::Unread
        } else {
            BodyState::Absent
        };
        // The framing rules decide the rest when the response goes out
        // (HTTP/1.0, draining, an unread body, a 408 or 503).
        let close_after = !request.info.keep_alive;
        Exchange {
            io,
            request: Rc::new(request),
            body,
            response: ResponseState::Pending,
            close_after,
            continue_sent: false,
            identity: Identity::Anonymous,
            upload_began: None,
            body_done: None,
            upload_refused: None,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// Counts this request as an upload (PUT, POST, resumable): started
    /// now, committed or failed (with a reason) when it ends.
    pub(crate) fn begin_upload(&mut self) {
        self.upload_began.get_or_insert_with(Instant::now);
        self.io.worker.metrics.inc(Counter::UploadsStarted);
    }

    /// The upload this request began was refused by a response the route
    /// sent itself (a protocol answer such as 409 or 460, not an error
    /// returned to [`finish`](Self::finish)): it counts as failed for
    /// `reason`, not as committed.
    pub(crate) fn upload_refused(&mut self, reason: UploadFailure) {
        self.upload_refused = Some(reason);
    }

    /// Records a commit: how long it took (data sync, link, directory
    /// sync), how many files and bytes it made visible.
    pub(crate) fn committed(&self, took: std::time::Duration, files: u64, bytes: u64) {
        let metrics = &self.io.worker.metrics;
        metrics.observe(Histogram::CommitDuration, took);
        metrics.add(Counter::FilesCommitted, files);
        metrics.add(Counter::CommittedBytes, bytes);
    }

    /// Records a verified digest.
    pub(crate) fn digest_verified(&self) {
        self.io.worker.metrics.inc(Counter::DigestsVerified);
    }

    /// The body's last byte has arrived.
    pub(super) fn body_received(&mut self) {
        self.body_done = Some(Instant::now());
    }

    /// Checks the request's credentials (the `Authorization` header),
    /// before anything else is done for it. Wrong or expired credentials,
    /// a full verification pool and a throttled address are errors; with
    /// no access rules everyone is anonymous and nothing is checked.
    pub(crate) async fn authenticate(&mut self) -> Result<(), RequestError> {
        let worker = self.io.worker.clone();
        if worker.policy.is_open() {
            return Ok(());
        }
        let header = self.request.headers.authorization.as_deref();
        match worker.auth.authenticate(header, self.io.peer.ip()).await {
            AuthOutcome::Identity(identity) => {
                self.identity = identity;
                Ok(())
            }
            AuthOutcome::Unauthenticated => Err(RequestError::Unauthenticated {
                challenge: challenge_for(header),
            }),
            AuthOutcome::Busy { retry_after_secs } => {
                delay_refusal(&worker, retry_after_secs).await;
                Err(RequestError::AuthBusy { retry_after_secs })
            }
            AuthOutcome::Throttled { retry_after_secs } => {
                delay_refusal(&worker, retry_after_secs).await;
                Err(RequestError::Throttled { retry_after_secs })
            }
        }
    }

    /// What the identity may do at the ROOT-relative `path` (caps applied).
    pub(crate) fn capabilities(&self, path: &str) -> Perms {
        self.io
            .worker
            .policy
            .capabilities(self.identity, path, now_unix())
    }

    /// Whether a listing of a readable directory shows the entry at
    /// `entry_path` to this identity.
    pub(crate) fn listing_shows(&self, entry_path: &str, is_dir: bool) -> bool {
        let policy = &self.io.worker.policy;
        policy.is_open() || policy.listing_shows(self.identity, entry_path, is_dir, now_unix())
    }

    /// Whether the identity may do `action` at the ROOT-relative `path`;
    /// `allow` is the `Allow` header of a 405 if the action is disabled for
    /// everyone. Decided from the request alone, before anything is taken.
    pub(crate) fn authorize(
        &self,
        action: Action,
        path: &str,
        allow: &'static str,
    ) -> Result<(), RequestError> {
        let decision = self
            .io
            .worker
            .policy
            .decide(self.identity, action, path, now_unix());
        self.refusal(decision, allow)
    }

    /// For a request that acts on `name` in the open directory `dir` (whose
    /// request path is `path`): when a symlink on the way led elsewhere
    /// beneath ROOT, the identity must be allowed `action` there too.
    pub(crate) fn authorize_where_resolved(
        &self,
        action: Action,
        dir: std::os::fd::BorrowedFd<'_>,
        name: &str,
        path: &str,
        allow: &'static str,
    ) -> Result<(), RequestError> {
        let worker = &self.io.worker;
        if worker.policy.is_open() {
            return Ok(());
        }
        let dir_path = worker.root.path_of(dir).ok_or(RequestError::Forbidden)?;
        let resolved = match (dir_path.is_empty(), name.is_empty()) {
            (_, true) => dir_path,
            (true, false) => name.to_owned(),
            (false, false) => format!("{dir_path}/{name}"),
        };
        if resolved == path {
            return Ok(());
        }
        self.authorize(action, &resolved, allow)
    }

    /// The error that refuses this identity something no rule grants: 401
    /// for anonymous (credentials might help), 403 otherwise.
    pub(crate) fn denied(&self) -> RequestError {
        let decision = self.io.worker.policy.refusal(self.identity);
        match self.refusal(decision, "") {
            Err(err) => err,
            Ok(()) => RequestError::NotPermitted { token: false },
        }
    }

    /// `decision` as a result (see [`authorize`](Self::authorize)).
    pub(crate) fn refusal(
        &self,
        decision: Decision,
        allow: &'static str,
    ) -> Result<(), RequestError> {
        match decision {
            Decision::Allow => Ok(()),
            Decision::Unauthenticated => Err(RequestError::Unauthenticated {
                challenge: challenge_for(self.request.headers.authorization.as_deref()),
            }),
            Decision::Forbidden => Err(RequestError::NotPermitted {
                token: matches!(self.identity, Identity::Token(_)),
            }),
            Decision::Disabled => Err(RequestError::MethodNotAllowed { allow }),
        }
    }

    /// Who is asking, as [`authenticate`](Self::authenticate) found
    /// (anonymous before it, and always without access rules).
    pub(crate) fn identity(&self) -> Identity {
        self.identity
    }

    /// The request (shared, so a route can hold it while it answers).
    pub(crate) fn request(&self) -> Rc<Request> {
        self.request.clone()
    }

    /// The worker the connection runs on.
    pub(crate) fn worker(&self) -> &Rc<Worker> {
        &self.io.worker
    }

    /// Accepts the body: sends `100 Continue` when the client (HTTP/1.1)
    /// asked and is waiting for it. Called by [`receive`](Self::receive);
    /// call it directly only to accept a body that is read some other way.
    pub(crate) async fn accept_body(&mut self) -> Result<(), RequestError> {
        let wants_continue = self.request.info.expect_continue
            && self.request.version == Version::Http11
            && self.body == BodyState::Unread
            && !self.continue_sent;
        if !wants_continue {
            return Ok(());
        }
        self.continue_sent = true;
        self.write(crate::http::CONTINUE_RESPONSE.to_vec())
            .await
            .map(drop)
            .map_err(RequestError::Io)
    }

    /// Sends an interim (1xx) response such as `104 Upload Resumption
    /// Supported`, before the final one: its head only, never framing
    /// headers. Nothing is sent to an HTTP/1.0 client, which cannot take
    /// a 1xx (RFC 9110 §15.2).
    pub(crate) async fn send_interim(
        &mut self,
        status: StatusCode,
        headers: &[(&str, &str)],
    ) -> Result<(), RequestError> {
        debug_assert!((101..200).contains(&status.as_u16()), "an interim status");
        debug_assert_eq!(self.response, ResponseState::Pending, "before the response");
        if self.request.version != Version::Http11 {
            return Ok(());
        }
        let mut out = Vec::with_capacity(256);
        let head = crate::http::ResponseHead {
            status,
            content_length: None,
            close: false,
            headers,
        };
        head.encode(&mut out);
        self.write(out).await.map(drop).map_err(RequestError::Io)
    }

    /// The body was read to its end.
    pub(super) fn body_consumed(&mut self) {
        self.body = BodyState::Consumed;
    }

    /// Writes bytes to the client, bounded by the body idle timeout; the
    /// vector comes back emptied, for reuse.
    async fn write(&mut self, bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let worker = self.io.worker.clone();
        let deadline = Instant::now() + worker.config.body_idle_timeout;
        let len = bytes.len() as u64;
        let mut bytes = self
            .io
            .transport
            .write_all(bytes, deadline, &worker.lifecycle)
            .await?;
        self.bytes_out += len;
        bytes.clear();
        Ok(bytes)
    }

    /// The response framing rules (`http::response_framing`) applied to
    /// this request: Content-Length `length` (what a GET would send, also
    /// for HEAD), none for 1xx, 204 and 304, no body for HEAD, and whether
    /// the connection closes after the response. The head goes into `out`.
    fn encode_head(
        &mut self,
        out: &mut Vec<u8>,
        status: StatusCode,
        headers: &[(&str, &str)],
        length: u64,
    ) -> ResponseFraming {
        let context = ResponseContext {
            method: self.request.method,
            version: self.request.version,
            keep_alive: !self.close_after,
            body_unread: self.body == BodyState::Unread,
            draining: self.io.worker.lifecycle.is_draining(),
        };
        let framing = response_framing(&context, status, length);
        if framing.close {
            self.close_after = true;
        }
        framing.head(status, headers).encode(out);
        framing
    }

    /// Sends a complete response with `body`.
    pub(crate) async fn respond(
        &mut self,
        status: StatusCode,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), RequestError> {
        debug_assert_eq!(self.response, ResponseState::Pending, "one response");
        let mut out = Vec::with_capacity(256 + body.len());
        let framing = self.encode_head(&mut out, status, headers, body.len() as u64);
        if framing.send_body {
            out.extend_from_slice(body);
        }
        match self.write(out).await {
            Ok(_) => {
                self.response = ResponseState::Sent(status);
                if let Some(done) = self.body_done.take() {
                    let metrics = &self.io.worker.metrics;
                    metrics.observe(Histogram::LastByteToResponse, done.elapsed());
                }
                Ok(())
            }
            Err(err) => {
                self.response = ResponseState::Broken(status);
                Err(RequestError::Io(err))
            }
        }
    }

    /// Sends a response whose `len`-byte body `next_part` produces a part
    /// at a time (appending to the vector it is given; false when it has
    /// appended the last part): memory stays at one part, whatever `len`.
    pub(crate) async fn respond_in_parts(
        &mut self,
        status: StatusCode,
        headers: &[(&str, &str)],
        len: u64,
        mut next_part: impl FnMut(&mut Vec<u8>) -> bool,
    ) -> Result<(), RequestError> {
        let mut out = Vec::with_capacity(64 * 1024);
        let framing = self.encode_head(&mut out, status, headers, len);
        self.response = ResponseState::Broken(status);
        let mut more = framing.send_body;
        loop {
            if more {
                more = next_part(&mut out);
            }
            out = self.write(out).await.map_err(RequestError::Io)?;
            if !more {
                break;
            }
        }
        self.response = ResponseState::Sent(status);
        Ok(())
    }

    /// Sends a JSON response.
    pub(crate) async fn respond_json(
        &mut self,
        status: StatusCode,
        json: &str,
    ) -> Result<(), RequestError> {
        self.respond(
            status,
            &[("Content-Type", "application/json")],
            json.as_bytes(),
        )
        .await
    }

    /// Sends a response whose body is `len` bytes of `file` from `offset`
    /// (none for HEAD): the head, then the bytes with `sendfile` or through
    /// registered buffers (`send`). A failure after the head breaks the
    /// response: the connection closes.
    pub(crate) async fn send_file(
        &mut self,
        status: StatusCode,
        headers: &[(&str, &str)],
        file: OwnedFd,
        offset: u64,
        len: u64,
    ) -> Result<(), RequestError> {
        let mut out = Vec::with_capacity(512);
        let framing = self.encode_head(&mut out, status, headers, len);
        if let Err(err) = self.write(out).await {
            self.response = ResponseState::Broken(status);
            return Err(RequestError::Io(err));
        }
        self.response = ResponseState::Broken(status);
        if framing.send_body && len > 0 {
            self.send_file_body(file, offset, len).await?;
        }
        self.response = ResponseState::Sent(status);
        Ok(())
    }

    /// Answers `err` (JSON body, `Allow` for a 405, `Retry-After` for a 503).
    async fn respond_error(&mut self, err: &RequestError) {
        let status = err.status();
        let body = error_json(err.kind(), &err.public_message());
        let retry_after = err.retry_after_secs().map(|secs| secs.to_string());
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        if let Some(allow) = err.allow() {
            headers.push(("Allow", allow));
        }
        if let Some(challenge) = err.challenge() {
            headers.push(("WWW-Authenticate", challenge));
        }
        if let Some(secs) = &retry_after {
            headers.push(("Retry-After", secs));
        }
        let _ = self.respond(status, &headers, body.as_bytes()).await;
    }

    /// Ends the exchange: answers `error` if no response started (or marks
    /// the connection broken if one did), and decides what the connection
    /// does next.
    pub(super) async fn finish(mut self, error: Option<&RequestError>) -> (After, Outcome) {
        if let Some(err) = error {
            match self.response {
                ResponseState::Pending => self.respond_error(err).await,
                ResponseState::Sent(status) | ResponseState::Broken(status) => {
                    self.response = ResponseState::Broken(status)
                }
            }
        }
        let status = match self.response {
            ResponseState::Pending => None,
            ResponseState::Sent(status) | ResponseState::Broken(status) => Some(status),
        };
        let outcome = Outcome {
            status,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
        };
        self.count(status, error);
        let after = match (self.response, self.body) {
            (ResponseState::Broken(_) | ResponseState::Pending, _) => After::Close,
            (_, BodyState::Unread) => After::Linger,
            _ if self.close_after || self.io.worker.lifecycle.is_draining() => After::Close,
            _ => {
                self.io.trim_buffer();
                After::KeepAlive
            }
        };
        (after, outcome)
    }

    /// The metrics of the finished request.
    fn count(&self, status: Option<StatusCode>, error: Option<&RequestError>) {
        let metrics = &self.io.worker.metrics;
        let method = MethodLabel::of(self.request.method, self.request.method_name.as_bytes());
        metrics.request(method, status.map_or(0, StatusCode::as_u16));
        metrics.add(Counter::ReceivedBytes, self.bytes_in);
        metrics.add(Counter::SentBytes, self.bytes_out);
        if self.upload_began.is_some() && self.bytes_in > 0 {
            metrics.gauge_add(Gauge::StagedBytes, -(self.bytes_in as i64));
        }
        match (self.upload_began, error) {
            (Some(_), Some(err)) => metrics.upload_failed(err.upload_failure()),
            (Some(_), None) if self.upload_refused.is_some() => {
                metrics.upload_failed(self.upload_refused.unwrap_or(UploadFailure::Refused))
            }
            (Some(began), None) => {
                metrics.inc(Counter::UploadsCommitted);
                metrics.observe(Histogram::UploadDuration, began.elapsed());
            }
            (None, _) => {}
        }
        let Some(err) = error else {
            return;
        };
        match err {
            RequestError::Timeout if self.body == BodyState::Unread => {
                metrics.timeout(TimeoutKind::BodyIdle)
            }
            RequestError::Timeout => metrics.timeout(TimeoutKind::Send),
            RequestError::Busy => metrics.timeout(TimeoutKind::BufferWait),
            RequestError::ShuttingDown => metrics.timeout(TimeoutKind::Shutdown),
            RequestError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                metrics.timeout(TimeoutKind::Send)
            }
            RequestError::Unauthenticated { .. }
                if self.request.headers.authorization.is_some() =>
            {
                metrics.auth_failure(AuthFailure::Invalid)
            }
            RequestError::Unauthenticated { .. } => metrics.auth_failure(AuthFailure::Missing),
            RequestError::Throttled { .. } => metrics.auth_failure(AuthFailure::Invalid),
            RequestError::NotPermitted { .. } => metrics.auth_failure(AuthFailure::Forbidden),
            RequestError::Digest(
                DigestError::Mismatch { .. } | DigestError::ChecksumMismatch { .. },
            ) => metrics.inc(Counter::DigestMismatches),
            _ => {}
        }
    }

    /// Answers a request whose head could not be used (`err`), on a
    /// connection that will linger and close: its framing is unknown, so
    /// its body cannot be skipped.
    pub(super) async fn refuse(io: &'c mut ConnIo, method: Method, err: &RequestError) -> Outcome {
        let mut exchange = Exchange::new(io, Request::unusable(method));
        // Whatever follows the head cannot be told from a body.
        exchange.body = BodyState::Unread;
        exchange.close_after = true;
        exchange.respond_error(err).await;
        exchange.finish(None).await.1
    }
}

/// The longest a sign-in refused without a check (429: the address failed
/// too often; 503: the verification queue is full) waits for its answer.
const MAX_REFUSAL_DELAY: Duration = Duration::from_secs(1);

/// Holds a refused sign-in's answer back for its `Retry-After` (at most
/// [`MAX_REFUSAL_DELAY`]), as nginx's `limit_req` delays what exceeds a
/// rate: a client that asks again at once gains nothing by it, and a
/// flood of such requests costs the server a timer per connection per
/// second instead of an answer per round trip. The connection holds no
/// registered buffer meanwhile; shutdown cuts the wait short.
async fn delay_refusal(worker: &Worker, retry_after_secs: u32) {
    let delay = MAX_REFUSAL_DELAY.min(Duration::from_secs(u64::from(retry_after_secs)));
    let until = Instant::now() + delay;
    let lifecycle = &worker.lifecycle;
    while !lifecycle.is_draining() {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return,
            _ = lifecycle.changed() => {}
        }
    }
}
