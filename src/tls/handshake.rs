//! The server handshake: rustls' unbuffered connection driven over a small
//! per-connection buffer, never a registered one.
//!
//! Sans-IO: the caller reads socket bytes into its own buffer (at most
//! [`HANDSHAKE_BUFFER_BYTES`]; a `Vec<u8>` or any `&mut [u8]`), calls
//! [`Handshake::advance`], drops `consumed` bytes from the front, writes
//! [`Handshake::take_output`] to the socket, and repeats until `done`. Then
//! [`Handshake::finish`] turns it into a [`TlsSession`]; bytes the client
//! sent after its Finished (`input[consumed..]`, often the request head) are
//! ciphertext for [`TlsSession::open`].
//!
//! The first byte is checked before rustls sees anything: a TLS connection
//! starts with a handshake record (0x16). An ASCII capital letter is a plain
//! HTTP request on the HTTPS port ([`TlsError::PlainHttp`]: like nginx's
//! "497", we answer [`PLAIN_HTTP_RESPONSE`] in plain text and close, so a
//! user who typed `http://` reads why); anything else fails at once with
//! [`TlsError::NotTls`] and no reply.

use std::sync::Arc;

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};
use rustls::{ProtocolVersion, ServerConfig};

use super::error::TlsError;
use super::record::{content_type, TlsVersion};
use super::session::TlsSession;

/// The most handshake input held at once: one full record (16 KiB + 256 +
/// header) with room to spare. Real ClientHellos are under 2 KiB; a
/// handshake that needs more → [`TlsError::HandshakeTooLarge`] (close).
pub const HANDSHAKE_BUFFER_BYTES: usize = 18 * 1024;

/// rustls states handled in one [`Handshake::advance`] call before giving
/// up; each state encodes a message, consumes a record or asks for input,
/// so a real handshake needs a handful.
const MAX_STATES_PER_ADVANCE: usize = 256;

/// What to answer on the HTTPS port to a client that speaks plain HTTP,
/// then close (nginx answers 400 too, "The plain HTTP request was sent to
/// HTTPS port").
pub const PLAIN_HTTP_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: application/json\r\n\
Content-Length: 84\r\n\
Connection: close\r\n\
\r\n\
{\"error\":\"https_required\",\"message\":\"This port speaks HTTPS: use an https:// URL.\"}\n";

/// What one [`Handshake::advance`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeStep {
    /// Bytes at the front of the input that are finished with: drop them
    /// before the next call.
    pub consumed: usize,
    /// The handshake is complete: write the output, then
    /// [`Handshake::finish`]. Otherwise: write the output (if any), read
    /// more bytes after `input[consumed..]`, call again.
    pub done: bool,
}

/// A TLS server handshake in progress. See the module docs for the loop.
///
/// ```
/// # use ringdrop::tls::{Handshake, TlsError};
/// # fn config() -> std::sync::Arc<rustls::ServerConfig> { ringdrop::tls::testing::server_config() }
/// let mut hs = Handshake::new(config())?;
/// let mut input = *b"GET / HTTP/1.1\r\n";
/// assert_eq!(hs.advance(&mut input), Err(TlsError::PlainHttp));
/// # Ok::<(), TlsError>(())
/// ```
pub struct Handshake {
    conn: UnbufferedServerConnection,
    /// Encoded handshake records not yet taken by the transport.
    out: Vec<u8>,
    /// Input left after the handshake completed (for [`Handshake::finish`]).
    leftover: usize,
    done: bool,
    /// The connection's first byte was checked.
    sniffed: bool,
    /// Bytes at the front of the caller's input already given to rustls.
    fed: usize,
}

impl Handshake {
    /// A handshake with `config` (take it from `TlsAcceptorConfig::current`
    /// once per connection).
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, TlsError> {
        Ok(Handshake {
            conn: UnbufferedServerConnection::new(config).map_err(TlsError::Handshake)?,
            out: Vec::new(),
            leftover: 0,
            done: false,
            sniffed: false,
            fed: 0,
        })
    }

    /// Processes `input` (the bytes received and not yet consumed, at most
    /// [`HANDSHAKE_BUFFER_BYTES`]). rustls may rewrite `input` in place.
    /// On an error, the output may hold an alert: send it (best effort),
    /// then close.
    pub fn advance(&mut self, input: &mut [u8]) -> Result<HandshakeStep, TlsError> {
        if self.done {
            return Ok(HandshakeStep {
                consumed: 0,
                done: true,
            });
        }
        if !self.sniffed {
            if let Some(&first) = input.first() {
                sniff(first)?;
                self.sniffed = true;
            }
        }
        let mut consumed = 0;
        // rustls gets one whole record at a time (INVARIANT: consumed <= fed
        // <= input.len(), and input[fed..] is untouched and starts at a
        // record boundary), so we see the handshake end before it decrypts
        // application data that follows the client's Finished.
        let mut fed = self.fed.min(input.len());
        for _ in 0..MAX_STATES_PER_ADVANCE {
            let UnbufferedStatus { discard, state } =
                self.conn.process_tls_records(&mut input[consumed..fed]);
            consumed += discard;
            let state = match state {
                Ok(state) => state,
                Err(e) => {
                    self.drain_alert(&e, &mut input[consumed..fed]);
                    return Err(TlsError::Handshake(e));
                }
            };
            match state {
                ConnectionState::EncodeTlsData(mut encode) => {
                    encode_into(&mut encode, &mut self.out)
                }
                ConnectionState::TransmitTlsData(transmit) => {
                    // The records are in `self.out`; the caller writes them
                    // before it reads again.
                    transmit.done();
                    if !self.conn.is_handshaking() {
                        return Ok(self.complete(input.len(), consumed));
                    }
                }
                ConnectionState::WriteTraffic(_) => {
                    return Ok(self.complete(input.len(), consumed));
                }
                ConnectionState::BlockedHandshake => match next_record_end(input, fed) {
                    Some(end) => fed = end,
                    None => {
                        if input.len() - consumed >= HANDSHAKE_BUFFER_BYTES {
                            return Err(TlsError::HandshakeTooLarge {
                                limit: HANDSHAKE_BUFFER_BYTES,
                            });
                        }
                        self.fed = fed - consumed;
                        return Ok(HandshakeStep {
                            consumed,
                            done: false,
                        });
                    }
                },
                ConnectionState::PeerClosed | ConnectionState::Closed => {
                    return Err(TlsError::HandshakeEof)
                }
                // Early data is off and application data cannot precede the
                // end of the handshake; rustls' enum is non-exhaustive.
                other => {
                    return Err(TlsError::Handshake(rustls::Error::General(format!(
                        "unexpected state {other:?} during the handshake"
                    ))))
                }
            }
        }
        Err(TlsError::Handshake(rustls::Error::General(
            "handshake made no progress".into(),
        )))
    }

    fn complete(&mut self, input_len: usize, consumed: usize) -> HandshakeStep {
        self.done = true;
        self.leftover = input_len - consumed;
        HandshakeStep {
            consumed,
            done: true,
        }
    }

    /// After a rustls error, the records it still has to send — its alert
    /// among them, possibly behind a handshake record queued before the
    /// error — are encoded. rustls pops a queued record before it looks at
    /// its input again, and it must be given the input it has parsed so
    /// far (it keeps the start of a split handshake message there), so
    /// every call gets `input` less what it discarded.
    ///
    /// One exception: when the error came from the record layer (a record
    /// that does not frame, is too long, or does not decrypt), rustls did
    /// not move past that record, and asking again would parse it again
    /// and queue a second fatal alert. Those errors queue nothing but the
    /// alert, so one call drains them.
    fn drain_alert(&mut self, error: &rustls::Error, input: &mut [u8]) {
        let calls = if is_record_layer_error(error) {
            1
        } else {
            MAX_STATES_PER_ADVANCE
        };
        let mut input = input;
        for _ in 0..calls {
            let UnbufferedStatus { discard, state } = self.conn.process_tls_records(input);
            match state {
                Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                    encode_into(&mut encode, &mut self.out)
                }
                Ok(ConnectionState::TransmitTlsData(transmit)) => transmit.done(),
                _ => return,
            }
            input = &mut std::mem::take(&mut input)[discard..];
        }
    }

    /// True when there are handshake bytes to send.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// The handshake bytes to send, in order; the transport writes all of
    /// them before it reads again. (Pass the `Vec` back with
    /// [`Handshake::recycle_output`] to reuse its allocation.)
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Gives a written output buffer back for reuse.
    pub fn recycle_output(&mut self, mut buf: Vec<u8>) {
        if self.out.is_empty() {
            buf.clear();
            self.out = buf;
        }
    }

    /// The error to report when the client closes the connection before
    /// the handshake is done.
    pub fn eof(&self) -> TlsError {
        TlsError::HandshakeEof
    }

    /// The session, once `advance` said `done` and the output was taken
    /// (an error otherwise: the tickets and Finished in the output must
    /// leave before the record layer changes hands).
    /// The input left after `consumed` is the client's first records:
    /// give it to [`TlsSession::open`] (as the ciphertext after an empty
    /// plaintext) before reading more.
    pub fn finish(self) -> Result<TlsSession, TlsError> {
        if !self.done || !self.out.is_empty() {
            return Err(TlsError::Handshake(rustls::Error::HandshakeNotComplete));
        }
        let alpn = self.conn.alpn_protocol().map(<[u8]>::to_vec);
        let (secrets, kernel) = self
            .conn
            .dangerous_into_kernel_connection()
            .map_err(TlsError::Handshake)?;
        let version = match kernel.protocol_version() {
            ProtocolVersion::TLSv1_3 => TlsVersion::Tls13,
            ProtocolVersion::TLSv1_2 => TlsVersion::Tls12,
            _ => return Err(TlsError::Handshake(rustls::Error::HandshakeNotComplete)),
        };
        TlsSession::new(version, secrets, kernel, alpn, self.leftover == 0)
    }
}

/// The end of the record that starts at `input[at..]` if it is complete;
/// for a header announcing more than any record may hold, the end of the
/// header, so that rustls reports the error at once.
fn next_record_end(input: &[u8], at: usize) -> Option<usize> {
    let header = input.get(at..at + 5)?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > super::record::MAX_RECORD_BYTES {
        return Some(at + 5);
    }
    let end = at + 5 + len;
    (end <= input.len()).then_some(end)
}

/// True for the errors rustls' record layer answers with a fatal alert
/// without parsing past the record (see `Handshake::drain_alert`).
fn is_record_layer_error(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidMessage(_)
            | rustls::Error::PeerSentOversizedRecord
            | rustls::Error::DecryptError
            | rustls::Error::PeerMisbehaved(
                rustls::PeerMisbehaved::IllegalMiddleboxChangeCipherSpec
            )
    )
}

/// Checks the first byte of a connection.
fn sniff(first: u8) -> Result<(), TlsError> {
    match first {
        content_type::HANDSHAKE => Ok(()),
        b'A'..=b'Z' => Err(TlsError::PlainHttp),
        first_byte => Err(TlsError::NotTls { first_byte }),
    }
}

/// Appends rustls' next handshake record to `out`, growing it as needed.
fn encode_into(
    encode: &mut rustls::unbuffered::EncodeTlsData<'_, rustls::server::ServerConnectionData>,
    out: &mut Vec<u8>,
) {
    let mut want = 4096;
    loop {
        let start = out.len();
        out.resize(start + want, 0);
        match encode.encode(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return;
            }
            Err(EncodeError::InsufficientSize(e)) => {
                out.truncate(start);
                want = e.required_size;
            }
            Err(EncodeError::AlreadyEncoded) => {
                out.truncate(start);
                return;
            }
        }
    }
}
