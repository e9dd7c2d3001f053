//! The TLS handshake of a new HTTPS connection, before its first request:
//! handshake records go through a small buffer of the connection's own
//! (never a registered buffer: a client has not proved it speaks TLS yet),
//! under the head timeout, and the connection counts as waiting for a
//! request (it can be evicted to make room at the connection limit).

use std::sync::Arc;

use tokio::time::Instant;

use super::transport::{Tls, Waited};
use super::ConnIo;
use crate::server::deadline::ShutdownPolicy;
use crate::tls::{Handshake, TlsError, HANDSHAKE_BUFFER_BYTES, PLAIN_HTTP_RESPONSE};

/// How a handshake ended.
pub(super) enum Accepted {
    /// TLS is on; the client's first plaintext bytes (if any came with the
    /// handshake) are in the connection's buffer.
    Secure,
    /// The client spoke plain HTTP to the HTTPS port: it was told so;
    /// linger and close.
    PlainHttp,
    /// The handshake failed or timed out: close.
    Failed,
}

impl ConnIo {
    /// Runs the server side of a TLS handshake with `config`.
    pub(super) async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> Accepted {
        let worker = self.worker.clone();
        let lifecycle = &worker.lifecycle;
        let deadline = Instant::now() + worker.config.head_timeout;
        let _idle = worker.idle.register(self.transport.fd(), Instant::now());
        let Ok(mut handshake) = Handshake::new(config) else {
            return Accepted::Failed;
        };
        let mut held: Vec<u8> = Vec::new();
        loop {
            if !held.is_empty() {
                match handshake.advance(&mut held) {
                    Ok(step) => {
                        held.drain(..step.consumed);
                        if !self.send_handshake_output(&mut handshake, deadline).await {
                            return Accepted::Failed;
                        }
                        if step.done {
                            break;
                        }
                        if step.consumed > 0 {
                            continue;
                        }
                    }
                    Err(TlsError::PlainHttp) => {
                        let _ = self
                            .transport
                            .write_raw(PLAIN_HTTP_RESPONSE.to_vec(), deadline, lifecycle)
                            .await;
                        return Accepted::PlainHttp;
                    }
                    Err(err) => {
                        tracing::debug!(peer = %self.peer, "TLS handshake failed: {err}");
                        // The alert, best effort.
                        let _ = self.send_handshake_output(&mut handshake, deadline).await;
                        return Accepted::Failed;
                    }
                }
            }
            if held.len() >= HANDSHAKE_BUFFER_BYTES {
                return Accepted::Failed;
            }
            match self
                .transport
                .wait_readable(deadline, lifecycle, ShutdownPolicy::OnDrain)
                .await
            {
                Waited::Readable { .. } => {}
                Waited::Closed | Waited::Interrupted(_) => return Accepted::Failed,
            }
            held.reserve_exact(HANDSHAKE_BUFFER_BYTES - held.len());
            let (read, back) = self.transport.read_raw(held, deadline, lifecycle).await;
            held = back;
            match read {
                Ok(n) if n > 0 => {}
                _ => return Accepted::Failed,
            }
        }
        let Ok(mut session) = handshake.finish() else {
            return Accepted::Failed;
        };
        // What came after the client's Finished: its first records.
        let filled = held.len();
        let Ok(opened) = session.open(&mut held, 0, filled) else {
            return Accepted::Failed;
        };
        let pending = held[opened.plain_end..opened.filled].to_vec();
        held.truncate(opened.plain_end);
        self.rbuf = held;
        self.transport.start_tls(Tls::new(session, pending));
        self.transport.offer_kernel(&worker.ktls);
        Accepted::Secure
    }

    /// Writes what the handshake has to send; false if the client is gone.
    async fn send_handshake_output(
        &mut self,
        handshake: &mut Handshake,
        deadline: Instant,
    ) -> bool {
        let out = handshake.take_output();
        if out.is_empty() {
            handshake.recycle_output(out);
            return true;
        }
        match self
            .transport
            .write_raw(out, deadline, &self.worker.lifecycle)
            .await
        {
            Ok(out) => {
                handshake.recycle_output(out);
                true
            }
            Err(_) => false,
        }
    }
}
