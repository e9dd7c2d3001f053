//! One tracing line per request: method, path, status, bytes in and out,
//! duration, peer.

use std::net::SocketAddr;
use std::time::Instant;

use super::error::RequestError;
use crate::http::StatusCode;

/// What the access log says of a request's end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// The response status, if one was sent.
    pub(crate) status: Option<StatusCode>,
    /// Body bytes received (decoded).
    pub(crate) bytes_in: u64,
    /// Bytes sent.
    pub(crate) bytes_out: u64,
}

/// A request being timed for its access-log line.
pub(crate) struct AccessLog {
    started: Instant,
    peer: SocketAddr,
    method: String,
    target: String,
}

impl AccessLog {
    /// Starts timing a request.
    pub(crate) fn start(peer: SocketAddr, method: &str, target: &str) -> AccessLog {
        AccessLog {
            started: Instant::now(),
            peer,
            method: method.to_owned(),
            target: target.to_owned(),
        }
    }

    /// Writes the line.
    pub(crate) fn finish(self, outcome: Outcome, error: Option<&RequestError>) {
        let status = outcome.status.map_or(0, |s| s.as_u16());
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        match error {
            None => tracing::info!(
                target: "ringdrop::access",
                "{} {} {} in={} out={} {:.1}ms peer={}",
                self.method, self.target, status, outcome.bytes_in, outcome.bytes_out,
                duration_ms, self.peer
            ),
            Some(err) => tracing::info!(
                target: "ringdrop::access",
                "{} {} {} in={} out={} {:.1}ms peer={} error={}: {}",
                self.method, self.target, status, outcome.bytes_in, outcome.bytes_out,
                duration_ms, self.peer, err.kind(), err
            ),
        }
    }
}
