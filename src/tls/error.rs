//! The TLS layer's errors: one enum for a connection ([`TlsError`]), one for
//! loading certificates ([`TlsConfigError`]), each with one exhaustive mapping
//! to what the transport does (the alert to send, whose fault it is).

use std::path::PathBuf;

/// Why a TLS connection cannot go on. Every variant ends the connection;
/// [`TlsError::alert`] says which alert to send first (if any), and
/// [`TlsError::is_peer_fault`] whether to log it as the client's doing.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsError {
    /// The first bytes are an HTTP request, not a TLS handshake: the
    /// transport may answer [`super::PLAIN_HTTP_RESPONSE`] (400) and close.
    PlainHttp,
    /// The first byte is neither a TLS handshake record (0x16) nor the start
    /// of an HTTP method: close without a word.
    NotTls {
        /// The byte received.
        first_byte: u8,
    },
    /// rustls refused the handshake (bad ClientHello, no common version,
    /// cipher or ALPN protocol, a client alert, …). rustls has already put
    /// its alert in the handshake output.
    Handshake(rustls::Error),
    /// The handshake needed more than the handshake buffer holds
    /// ([`super::HANDSHAKE_BUFFER_BYTES`]).
    HandshakeTooLarge {
        /// The buffer size.
        limit: usize,
    },
    /// The client closed (or sent `close_notify`) before the handshake ended.
    HandshakeEof,
    /// A record header whose version is not 3.x.
    BadRecordVersion {
        /// The two version bytes.
        version: [u8; 2],
    },
    /// A record of a content type not allowed now (TLS 1.3: anything but
    /// application_data on the wire, or change_cipher_spec inside).
    UnexpectedRecord {
        /// The (inner, for TLS 1.3) content type.
        content_type: u8,
    },
    /// A record longer than the protocol allows.
    RecordOverflow {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A record failed authentication (tampered, truncated, wrong key).
    DecryptFailed,
    /// A TLS 1.3 record whose inner plaintext is all padding.
    BadInnerPlaintext,
    /// An alert record that is not exactly one alert.
    BadAlert,
    /// The peer sent a fatal alert.
    PeerAlert {
        /// Alert level (1 warning, 2 fatal).
        level: u8,
        /// Alert description (RFC 8446 §6).
        description: u8,
    },
    /// A TLS 1.2 client tried to renegotiate (refused).
    Renegotiation,
    /// A post-handshake handshake message other than KeyUpdate.
    UnexpectedHandshake {
        /// Its handshake type.
        handshake_type: u8,
    },
    /// Records arrived after the peer's `close_notify`.
    DataAfterCloseNotify,
    /// The peer asked for a key update while the kernel holds the keys
    /// (kTLS cannot take new keys before Linux 6.14; we close instead).
    KernelKeyUpdate,
    /// 2^64 records in one direction, or the cipher's confidentiality limit
    /// reached on TLS 1.2 (which cannot rekey).
    SequenceExhausted,
    /// Caller error: offsets outside the buffer or out of order.
    BadBufferBounds,
    /// Caller error: the output buffer cannot hold the records.
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// rustls handed over secrets ring refused (cannot happen with the
    /// suites we enable).
    BadSecrets,
    /// ring refused to seal (input too long; cannot happen with our sizes).
    SealFailed,
}

/// Alert descriptions we send (RFC 8446 §6.2).
mod send {
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    pub const BAD_RECORD_MAC: u8 = 20;
    pub const RECORD_OVERFLOW: u8 = 22;
    pub const DECODE_ERROR: u8 = 50;
    pub const PROTOCOL_VERSION: u8 = 70;
    pub const INTERNAL_ERROR: u8 = 80;
    pub const NO_RENEGOTIATION: u8 = 100;
}

impl TlsError {
    /// The fatal alert to send before closing, when the record layer is
    /// ours to speak on. `None`: send nothing (the peer is gone or never
    /// spoke TLS, or rustls already queued its alert).
    pub fn alert(&self) -> Option<u8> {
        match self {
            TlsError::PlainHttp
            | TlsError::NotTls { .. }
            | TlsError::Handshake(_)
            | TlsError::HandshakeTooLarge { .. }
            | TlsError::HandshakeEof
            | TlsError::PeerAlert { .. }
            | TlsError::DataAfterCloseNotify => None,
            TlsError::BadRecordVersion { .. } => Some(send::PROTOCOL_VERSION),
            TlsError::UnexpectedRecord { .. }
            | TlsError::BadInnerPlaintext
            | TlsError::UnexpectedHandshake { .. } => Some(send::UNEXPECTED_MESSAGE),
            TlsError::RecordOverflow { .. } => Some(send::RECORD_OVERFLOW),
            TlsError::DecryptFailed => Some(send::BAD_RECORD_MAC),
            TlsError::BadAlert => Some(send::DECODE_ERROR),
            TlsError::Renegotiation => Some(send::NO_RENEGOTIATION),
            TlsError::KernelKeyUpdate
            | TlsError::SequenceExhausted
            | TlsError::BadBufferBounds
            | TlsError::OutputTooSmall { .. }
            | TlsError::BadSecrets
            | TlsError::SealFailed => Some(send::INTERNAL_ERROR),
        }
    }

    /// True when the client caused it (log at debug, count as a client
    /// error); false for our own limits and bugs (log at warn).
    pub fn is_peer_fault(&self) -> bool {
        match self {
            TlsError::PlainHttp
            | TlsError::NotTls { .. }
            | TlsError::Handshake(_)
            | TlsError::HandshakeTooLarge { .. }
            | TlsError::HandshakeEof
            | TlsError::BadRecordVersion { .. }
            | TlsError::UnexpectedRecord { .. }
            | TlsError::RecordOverflow { .. }
            | TlsError::DecryptFailed
            | TlsError::BadInnerPlaintext
            | TlsError::BadAlert
            | TlsError::PeerAlert { .. }
            | TlsError::Renegotiation
            | TlsError::UnexpectedHandshake { .. }
            | TlsError::DataAfterCloseNotify
            | TlsError::KernelKeyUpdate => true,
            TlsError::SequenceExhausted
            | TlsError::BadBufferBounds
            | TlsError::OutputTooSmall { .. }
            | TlsError::BadSecrets
            | TlsError::SealFailed => false,
        }
    }
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::PlainHttp => f.write_str("plain HTTP request on the HTTPS port"),
            TlsError::NotTls { first_byte } => {
                write!(f, "not a TLS handshake (first byte {first_byte:#04x})")
            }
            TlsError::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            TlsError::HandshakeTooLarge { limit } => {
                write!(f, "TLS handshake message larger than {limit} bytes")
            }
            TlsError::HandshakeEof => f.write_str("connection closed during the TLS handshake"),
            TlsError::BadRecordVersion { version } => {
                write!(
                    f,
                    "TLS record version {:#04x}{:02x}",
                    version[0], version[1]
                )
            }
            TlsError::UnexpectedRecord { content_type } => {
                write!(f, "unexpected TLS record type {content_type}")
            }
            TlsError::RecordOverflow { len, limit } => {
                write!(f, "TLS record of {len} bytes (limit {limit})")
            }
            TlsError::DecryptFailed => f.write_str("TLS record failed authentication"),
            TlsError::BadInnerPlaintext => f.write_str("TLS 1.3 record with no content type"),
            TlsError::BadAlert => f.write_str("malformed TLS alert"),
            TlsError::PeerAlert { level, description } => {
                write!(f, "peer sent TLS alert {description} (level {level})")
            }
            TlsError::Renegotiation => f.write_str("TLS renegotiation refused"),
            TlsError::UnexpectedHandshake { handshake_type } => {
                write!(f, "unexpected post-handshake message type {handshake_type}")
            }
            TlsError::DataAfterCloseNotify => f.write_str("TLS records after close_notify"),
            TlsError::KernelKeyUpdate => {
                f.write_str("TLS KeyUpdate on a kTLS connection (kernel cannot rekey)")
            }
            TlsError::SequenceExhausted => f.write_str("TLS record sequence exhausted"),
            TlsError::BadBufferBounds => f.write_str("TLS buffer offsets out of bounds"),
            TlsError::OutputTooSmall { needed } => {
                write!(f, "TLS output buffer too small ({needed} bytes needed)")
            }
            TlsError::BadSecrets => f.write_str("TLS secrets refused by the cipher"),
            TlsError::SealFailed => f.write_str("TLS record sealing failed"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Why the certificate or key could not be loaded (at start: a start-up
/// error; on reload: logged, and the old certificate stays).
#[derive(Debug)]
pub enum TlsConfigError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The certificate file holds no `CERTIFICATE` PEM block.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key PEM block (PKCS#8, PKCS#1 RSA or
    /// SEC1 EC).
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// A PEM block could not be decoded.
    BadPem {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// rustls refused the certificate and key (unsupported key type, key
    /// not matching the certificate, …).
    Rejected(rustls::Error),
}

impl std::fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsConfigError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            TlsConfigError::NoCertificate { path } => {
                write!(f, "{}: no PEM CERTIFICATE block", path.display())
            }
            TlsConfigError::NoKey { path } => write!(
                f,
                "{}: no PEM private key (PKCS#8, RSA or EC) block",
                path.display()
            ),
            TlsConfigError::BadPem { path, message } => {
                write!(f, "{}: bad PEM: {message}", path.display())
            }
            TlsConfigError::Rejected(e) => write!(f, "certificate and key refused: {e}"),
        }
    }
}

impl std::error::Error for TlsConfigError {}
