//! One tracing line per request: method, path, status, bytes in and out,
//! duration, peer.

use std::net::SocketAddr;
use std::time::Instant;

use super::conn::Conn;
use super::error::RequestError;

/// A request being timed for its access-log line.
pub struct AccessLog {
    started: Instant,
    peer: SocketAddr,
    method: String,
    target: String,
}

impl AccessLog {
    /// Starts timing a request.
    pub fn start(peer: SocketAddr, method: &str, target: &str) -> AccessLog {
        AccessLog {
            started: Instant::now(),
            peer,
            method: method.to_owned(),
            target: target.to_owned(),
        }
    }

    /// Writes the line.
    pub fn finish(self, conn: &Conn, error: Option<&RequestError>) {
        let status = conn.status.map_or(0, |s| s.as_u16());
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        match error {
            None => tracing::info!(
                target: "ringdrop::access",
                "{} {} {} in={} out={} {:.1}ms peer={}",
                self.method, self.target, status, conn.body_bytes_in, conn.bytes_out,
                duration_ms, self.peer
            ),
            Some(err) => tracing::info!(
                target: "ringdrop::access",
                "{} {} {} in={} out={} {:.1}ms peer={} error={}: {}",
                self.method, self.target, status, conn.body_bytes_in, conn.bytes_out,
                duration_ms, self.peer, err.kind(), err
            ),
        }
    }
}
