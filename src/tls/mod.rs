//! HTTPS: the TLS machinery the connection transport drives. rustls does
//! the handshake; after it, the record layer runs either in the kernel
//! (kTLS) or in user space **in place in the caller's buffers** — no extra
//! copy, no allocation per record.
//!
//! ```text
//!  accept ─▶ Handshake (rustls unbuffered, small Vec buffer ≤ 18 KiB)
//!             │ advance(&mut input) → HandshakeStep{consumed, done}; take_output() → write
//!             ▼ finish()
//!           TlsSession ── offer_kernel(fd, &support) ──▶ TX / RX to the kernel where it can
//!             │
//!             ├─ read (read_fixed) → open(buf, plain_end, filled) → buf[..plain_end] plaintext
//!             │        user space: decrypt in place + compact; kernel: identity
//!             ├─ write: seal_in_place(buf, plain, out_at) / seal(src, out) → write
//!             │        user space: records in the buffer; kernel: identity (+ sendfile)
//!             └─ close_notify(out) / fatal_alert(err, out) → Outgoing::{Bytes, KernelRecord}
//! ```
//!
//! # Call order for the transport
//!
//! **(a) Accept and handshake.** Take `TlsAcceptorConfig::current()` once;
//! `Handshake::new(config)`. Loop, under the head timeout: read into a small
//! buffer (≤ [`HANDSHAKE_BUFFER_BYTES`], not a registered one) after the
//! bytes held; `advance(&mut buf[..held])`; drop `consumed` bytes from the
//! front; write `take_output()` in full if non-empty; stop when `done`.
//! On `Err(PlainHttp)` write [`PLAIN_HTTP_RESPONSE`] and close; on any other
//! error write `take_output()` (rustls' alert, best effort) and close; on
//! EOF close. Then `finish()` → [`TlsSession`]. The bytes held after
//! `consumed` are the client's first records: call
//! `session.open(&mut buf, consumed, held)` on them (even when empty) —
//! the plaintext (usually the request head) lands at `buf[consumed..plain_end]`.
//! Then `session.offer_kernel(fd, &support)` once.
//!
//! **(b) Uploads.** Keep the connection buffer as `[plaintext | ciphertext
//! tail | free]`: `buf[..plain_end]` plaintext the HTTP core has not
//! consumed, `buf[plain_end..filled]` an incomplete record. Read into
//! `buf[filled..]` (keep ≥ [`MAX_RECORD_BYTES`] free after `plain_end`),
//! then `open(buf, plain_end, filled + n)` → new `plain_end`, `filled`: the
//! body decoder and the file write see contiguous plaintext at
//! `buf[..plain_end]` exactly as with plain TCP. When the core consumed `c`
//! bytes, move `buf[c..filled]` to the front as today (the tail moves
//! with it). While `session.wants_kernel_rx()`, call `offer_kernel` again
//! after a read whose `Opened::at_record_boundary()` is true. With RX in
//! the kernel `open` is the identity, and a read that fails with `EIO`
//! means a control record: `ktls::recv_record` (or io_uring RecvMsg +
//! `ktls::record_type_from_control`) → `session.on_kernel_record(type,
//! bytes)`. `OpenStop::PeerClosed` / `KernelRecord::PeerClosed`: the client
//! sends no more (an upload cut short before it is complete stores nothing).
//!
//! **(c) Responses and downloads.** One registered buffer of `B` bytes per
//! step: `n = plaintext_capacity(B)`; put the response head at `buf[..h]`,
//! read up to `n - h` bytes of the file into `buf[h..]`, then
//! `seal_in_place(buf, 0..h + read, 0)` and write the `m` bytes it
//! returns. Next steps: file bytes only. With TX in the kernel
//! (`can_sendfile()`), write the head as is and `sendfile` the body.
//! Small answers (heads, JSON, listings): `seal(src, out)`.
//!
//! **(d) Closing.** After the last response: `close_notify(out)` and write
//! it (`Outgoing::Bytes(n)`) or `ktls::send_record(fd, content_type,
//! &out[..len])` (`Outgoing::KernelRecord`), then shut down. On a
//! `TlsError` from the session: `fatal_alert(&err, out)`, send it best
//! effort, close. `TlsError::is_peer_fault` decides the log level.
//!
//! # Threads
//!
//! Everything here is per connection and `Send`; the one shared object is
//! [`TlsAcceptorConfig`] (a lock taken once per accept and per reload).

mod certs;
mod error;
mod handshake;
pub mod ktls;
pub mod record;
mod session;

pub use certs::{
    load_server_config, server_config_from_pem, TlsAcceptorConfig, TlsFiles, ALPN_HTTP11,
};
pub use error::{TlsConfigError, TlsError};
pub use handshake::{Handshake, HandshakeStep, HANDSHAKE_BUFFER_BYTES, PLAIN_HTTP_RESPONSE};
pub use ktls::{probe as probe_ktls, KtlsSupport};
pub use record::{Cipher, OpenStop, Opened, TlsVersion, MAX_RECORD_BYTES};
pub use session::{KernelRecord, KernelState, Outgoing, TlsSession};

/// A fixed self-signed test certificate (ECDSA P-256, CN "ringdrop
/// fuzz/test certificate (not secret)", for `localhost` and `127.0.0.1`,
/// generated with rcgen for this repository) for doc examples, fuzzing and
/// benches. Never use it to serve anything.
#[doc(hidden)]
pub mod testing {
    use std::path::Path;
    use std::sync::Arc;

    /// The certificate, PEM.
    pub const CERT_PEM: &[u8] = include_bytes!("testdata/cert.pem");
    /// Its private key, PEM (PKCS#8). Public by design: test data only.
    pub const KEY_PEM: &[u8] = include_bytes!("testdata/key.pem");

    /// A server config with the test certificate.
    pub fn server_config() -> Arc<rustls::ServerConfig> {
        let config = super::server_config_from_pem(
            CERT_PEM,
            Path::new("testdata/cert.pem"),
            KEY_PEM,
            Path::new("testdata/key.pem"),
        )
        .unwrap_or_else(|e| panic!("embedded test certificate: {e}"));
        Arc::new(config)
    }
}

#[cfg(test)]
mod tests;
