//! The post-handshake TLS record layer in user space: TLS 1.2 and 1.3
//! application-data records opened and sealed **in the caller's buffer**.
//!
//! Sans-IO: no I/O, no clock, no allocation per record, no panic on any
//! input; the buffers are the caller's (registered io_uring buffers in the
//! server) and results are offsets into them.
//!
//! # Why our own record layer
//!
//! rustls 0.23's unbuffered API decrypts a record in the caller's buffer but
//! then copies the plaintext into an internal `Vec` (`ReadTraffic::next_record`
//! borrows that copy, not the caller's buffer), and its encrypter allocates a
//! record-sized `Vec` per record. That is an extra copy and an allocation per
//! 16 KiB in each direction. So rustls does the handshake, and
//! `UnbufferedServerConnection::dangerous_into_kernel_connection` hands us the
//! traffic secrets and sequence numbers — the same hand-off kTLS uses. From
//! there this module does what the kernel would do: frame records, build
//! nonces and additional data (RFC 8446 §5.2–5.3, RFC 5288, RFC 7905), and run
//! ring's AEADs in place.
//!
//! # Opening (uploads)
//!
//! [`Opener::open`] takes `buf[..plain_end]` (plaintext the caller still
//! holds) and `buf[plain_end..filled]` (ciphertext as read from the socket,
//! starting at a record boundary). Every complete record is decrypted with
//! `open_within`, which writes the plaintext *shifted down* to the end of the
//! plaintext so far: the application data of all records comes out contiguous
//! at `buf[..plain_end']`, with no copy beyond the decryption itself. The
//! bytes of an incomplete last record are moved down after it (at most one
//! record, and only when a record was opened). Control records (alerts,
//! TLS 1.3 KeyUpdate) are decrypted at the same place and then overwritten.
//!
//! ```text
//!  before: [ plaintext P | hdr c1 tag | hdr c2 tag | hdr c3… ]
//!  after:  [ plaintext P | p1 | p2 | hdr c3… ]          (c3 incomplete)
//!          0             old plain_end   plain_end'   filled'
//! ```
//!
//! # Sealing (responses and downloads)
//!
//! [`Sealer::seal`] copies plaintext into an output buffer as records and
//! encrypts them there. [`Sealer::seal_in_place`] turns plaintext already in
//! the buffer (a file read into it) into records where it lies: each 16 KiB
//! chunk is moved up by the per-record overhead (last chunk first, so no
//! chunk is overwritten before it moved) and sealed in place. Records are
//! always full [`MAX_FRAGMENT_BYTES`] fragments except the last.
#![forbid(unsafe_code)]

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::ConnectionTrafficSecrets;

use super::error::TlsError;

/// A record header: content type (1), legacy version (2), length (2).
pub const HEADER_BYTES: usize = 5;

/// Largest plaintext fragment in one record (RFC 8446 §5.1, RFC 5246 §6.2.1:
/// 2^14). Larger plaintext → `record_overflow`.
pub const MAX_FRAGMENT_BYTES: usize = 1 << 14;

/// Largest TLS 1.3 ciphertext (RFC 8446 §5.2: 2^14 + 256); longer →
/// [`TlsError::RecordOverflow`].
const MAX_CIPHERTEXT_TLS13_BYTES: usize = MAX_FRAGMENT_BYTES + 256;

/// Largest TLS 1.2 ciphertext (RFC 5246 §6.2.3: 2^14 + 2048); longer →
/// [`TlsError::RecordOverflow`].
const MAX_CIPHERTEXT_TLS12_BYTES: usize = MAX_FRAGMENT_BYTES + 2048;

/// The largest record a peer may send, header included. A caller of
/// [`Opener::open`] keeps at least this many bytes free after the plaintext
/// it holds, so an incomplete record always has room to complete.
pub const MAX_RECORD_BYTES: usize = HEADER_BYTES + MAX_CIPHERTEXT_TLS12_BYTES;

/// AEAD tag length of every cipher we negotiate.
const TAG_BYTES: usize = 16;

/// TLS 1.2 AES-GCM records carry 8 bytes of explicit nonce (RFC 5288 §3).
const GCM_EXPLICIT_NONCE_BYTES: usize = 8;

/// AEAD nonce length of every cipher we negotiate.
const NONCE_BYTES: usize = 12;

/// Record content types (RFC 8446 §5.1).
pub mod content_type {
    /// `change_cipher_spec`.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// `alert`.
    pub const ALERT: u8 = 21;
    /// `handshake`.
    pub const HANDSHAKE: u8 = 22;
    /// `application_data`.
    pub const APPLICATION_DATA: u8 = 23;
}

/// Alert descriptions we act on (RFC 8446 §6).
pub mod alert {
    /// `close_notify`: the peer will send no more data.
    pub const CLOSE_NOTIFY: u8 = 0;
    /// `user_canceled`: informational, followed by `close_notify`.
    pub const USER_CANCELED: u8 = 90;
    /// Alert level `warning` (TLS 1.2).
    pub const LEVEL_WARNING: u8 = 1;
    /// Alert level `fatal`.
    pub const LEVEL_FATAL: u8 = 2;
}

/// Handshake type `key_update` (RFC 8446 §4.6.3).
const HANDSHAKE_KEY_UPDATE: u8 = 24;

/// The protocol version a session negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// The AEAD a session negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    Chacha20Poly1305,
}

impl Cipher {
    fn algorithm(self) -> &'static aead::Algorithm {
        match self {
            Cipher::Aes128Gcm => &aead::AES_128_GCM,
            Cipher::Aes256Gcm => &aead::AES_256_GCM,
            Cipher::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// Key, IV and cipher of one direction, as rustls extracted them
/// (`ConnectionTrafficSecrets`). For TLS 1.2 AES-GCM the IV is the 4-byte
/// salt followed by the 8-byte explicit-nonce base.
pub(crate) fn split_secrets(
    secrets: &ConnectionTrafficSecrets,
) -> Option<(Cipher, &[u8], [u8; NONCE_BYTES])> {
    let (cipher, key, iv) = match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (Cipher::Aes128Gcm, key, iv),
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (Cipher::Aes256Gcm, key, iv),
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
            (Cipher::Chacha20Poly1305, key, iv)
        }
        // rustls' enum is non-exhaustive; the ring provider negotiates only
        // the three above. An unknown one gets an empty key, which ring
        // refuses (`TlsError::BadSecrets`).
        _ => return None,
    };
    let mut nonce = [0u8; NONCE_BYTES];
    let iv = iv.as_ref();
    let n = iv.len().min(NONCE_BYTES);
    nonce[..n].copy_from_slice(&iv[..n]);
    Some((cipher, key.as_ref(), nonce))
}

/// One direction's keys and record sequence number.
struct Keys {
    version: TlsVersion,
    cipher: Cipher,
    key: LessSafeKey,
    iv: [u8; NONCE_BYTES],
    /// Sequence number of the next record (RFC 8446 §5.3).
    seq: u64,
}

impl Keys {
    fn new(
        version: TlsVersion,
        secrets: &ConnectionTrafficSecrets,
        seq: u64,
    ) -> Result<Self, TlsError> {
        let (cipher, key, iv) = split_secrets(secrets).ok_or(TlsError::BadSecrets)?;
        Self::from_raw(version, cipher, key, iv, seq)
    }

    fn from_raw(
        version: TlsVersion,
        cipher: Cipher,
        key: &[u8],
        iv: [u8; NONCE_BYTES],
        seq: u64,
    ) -> Result<Self, TlsError> {
        let key = UnboundKey::new(cipher.algorithm(), key).map_err(|_| TlsError::BadSecrets)?;
        Ok(Keys {
            version,
            cipher,
            key: LessSafeKey::new(key),
            iv,
            seq,
        })
    }

    /// `iv XOR seq` (the TLS 1.3 and ChaCha20 construction; rustls uses it
    /// for the TLS 1.2 AES-GCM explicit nonce too).
    fn nonce(&self, seq: u64) -> [u8; NONCE_BYTES] {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    /// Bytes between the header and the ciphertext.
    fn explicit_nonce_bytes(&self) -> usize {
        match (self.version, self.cipher) {
            (TlsVersion::Tls12, Cipher::Aes128Gcm | Cipher::Aes256Gcm) => GCM_EXPLICIT_NONCE_BYTES,
            _ => 0,
        }
    }

    /// Record bytes that are not application data: header, explicit nonce,
    /// tag, and TLS 1.3's inner content type.
    fn overhead(&self) -> usize {
        let inner_type = usize::from(self.version == TlsVersion::Tls13);
        HEADER_BYTES + self.explicit_nonce_bytes() + TAG_BYTES + inner_type
    }

    fn take_seq(&mut self) -> Result<u64, TlsError> {
        let seq = self.seq;
        self.seq = seq.checked_add(1).ok_or(TlsError::SequenceExhausted)?;
        Ok(seq)
    }
}

/// TLS 1.2 additional data: seq, type, version, plaintext length (RFC 5246 §6.2.3.3).
fn tls12_aad(seq: u64, typ: u8, version: [u8; 2], plain_len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8] = typ;
    aad[9..11].copy_from_slice(&version);
    // plain_len <= MAX_CIPHERTEXT_TLS12_BYTES, checked by the caller.
    aad[11..].copy_from_slice(&u16::try_from(plain_len).unwrap_or(u16::MAX).to_be_bytes());
    aad
}

/// Why [`Opener::open`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStop {
    /// Every complete record was opened; read more bytes after `filled`.
    NeedMore,
    /// The peer sent `close_notify`: no more data will come. Bytes after
    /// it are ignored.
    PeerClosed,
    /// The peer sent a TLS 1.3 KeyUpdate: the receive key must be replaced
    /// ([`Opener::rekey`]) before the next call. `requested`: the peer asks
    /// us to update our sending key too.
    KeyUpdate {
        /// `update_requested` was set.
        requested: bool,
    },
}

/// What one [`Opener::open`] call did. Offsets into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// `buf[..plain_end]` is plaintext: what the caller held before the call,
    /// then the application data of every record opened, contiguous.
    pub plain_end: usize,
    /// `buf[plain_end..filled]` is ciphertext not opened yet (possibly
    /// empty): after [`OpenStop::NeedMore`] the start of a record not
    /// complete yet — read more bytes into `buf[filled..]`; after a
    /// KeyUpdate, the records sealed with the next key.
    pub filled: usize,
    /// Why the call returned.
    pub stop: OpenStop,
}

impl Opened {
    /// True when the bytes read so far end exactly at a record boundary
    /// (no incomplete record is held): the moment receiving may move to
    /// the kernel.
    pub fn at_record_boundary(&self) -> bool {
        self.filled == self.plain_end
    }
}

/// The receiving half of the record layer. See the module docs.
pub struct Opener {
    keys: Keys,
    /// Set after `close_notify`; later records are an error.
    closed: bool,
    /// The first error, returned again by every later call.
    failed: Option<TlsError>,
}

impl Opener {
    /// Receiving keys for `version` from extracted `secrets`; `seq` is the
    /// sequence number of the next record the peer sends.
    pub fn new(
        version: TlsVersion,
        secrets: &ConnectionTrafficSecrets,
        seq: u64,
    ) -> Result<Self, TlsError> {
        Ok(Opener {
            keys: Keys::new(version, secrets, seq)?,
            closed: false,
            failed: None,
        })
    }

    /// Receiving keys from raw bytes (tests, fuzzing, benches: rustls'
    /// `AeadKey` cannot be built for 16-byte keys outside rustls).
    #[doc(hidden)]
    pub fn from_raw(
        version: TlsVersion,
        cipher: Cipher,
        key: &[u8],
        iv: [u8; 12],
        seq: u64,
    ) -> Result<Self, TlsError> {
        Ok(Opener {
            keys: Keys::from_raw(version, cipher, key, iv, seq)?,
            closed: false,
            failed: None,
        })
    }

    /// Replaces the key after a KeyUpdate (TLS 1.3; the sequence restarts
    /// at `seq`, 0).
    pub fn rekey(&mut self, secrets: &ConnectionTrafficSecrets, seq: u64) -> Result<(), TlsError> {
        self.keys = Keys::new(self.keys.version, secrets, seq)?;
        Ok(())
    }

    /// The sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.keys.seq
    }

    /// Opens every complete record in `buf[plain_end..filled]` and moves
    /// the application data down to follow `buf[..plain_end]`. See
    /// [`Opened`] for the result and the module docs for the layout. Stops
    /// early at `close_notify` or a KeyUpdate. Errors are sticky.
    ///
    /// Needs `plain_end <= filled <= buf.len()`
    /// ([`TlsError::BadBufferBounds`] otherwise).
    pub fn open(
        &mut self,
        buf: &mut [u8],
        plain_end: usize,
        filled: usize,
    ) -> Result<Opened, TlsError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if plain_end > filled || filled > buf.len() {
            return Err(TlsError::BadBufferBounds);
        }
        let result = self.open_records(buf, plain_end, filled);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn open_records(
        &mut self,
        buf: &mut [u8],
        plain_end: usize,
        filled: usize,
    ) -> Result<Opened, TlsError> {
        if self.closed {
            if filled > plain_end {
                return Err(TlsError::DataAfterCloseNotify);
            }
            return Ok(Opened {
                plain_end,
                filled,
                stop: OpenStop::PeerClosed,
            });
        }
        // INVARIANT: plain_end <= write <= read <= filled.
        let mut write = plain_end;
        let mut read = plain_end;
        let mut stop = OpenStop::NeedMore;
        while let Some(record_len) = self.complete_record(&buf[read..filled])? {
            let (typ, content_len) = self.open_record(buf, write, read, record_len)?;
            read += record_len;
            let content = &buf[write..write + content_len];
            match typ {
                content_type::APPLICATION_DATA => write += content_len,
                content_type::ALERT => {
                    if let Some(s) = self.on_alert(content)? {
                        stop = s;
                        break;
                    }
                }
                content_type::HANDSHAKE => {
                    stop = self.on_handshake(content)?;
                    break;
                }
                other => {
                    return Err(TlsError::UnexpectedRecord {
                        content_type: other,
                    })
                }
            }
        }
        if stop == OpenStop::PeerClosed {
            // Whatever follows close_notify is ignored (RFC 8446 §6.1).
            return Ok(Opened {
                plain_end: write,
                filled: write,
                stop,
            });
        }
        if read > write {
            buf.copy_within(read..filled, write);
        }
        Ok(Opened {
            plain_end: write,
            filled: filled - (read - write),
            stop,
        })
    }

    /// The length of the record at the front of `bytes` if it is complete,
    /// `None` if more bytes are needed; an error if its header is invalid.
    fn complete_record(&self, bytes: &[u8]) -> Result<Option<usize>, TlsError> {
        let Some(header) = bytes.get(..HEADER_BYTES) else {
            return Ok(None);
        };
        let typ = header[0];
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if header[1] != 3 {
            return Err(TlsError::BadRecordVersion {
                version: [header[1], header[2]],
            });
        }
        let valid_type = match self.keys.version {
            // TLS 1.3 protects every record as application_data.
            TlsVersion::Tls13 => typ == content_type::APPLICATION_DATA,
            TlsVersion::Tls12 => {
                (content_type::CHANGE_CIPHER_SPEC..=content_type::APPLICATION_DATA).contains(&typ)
            }
        };
        if !valid_type {
            return Err(TlsError::UnexpectedRecord { content_type: typ });
        }
        let max = match self.keys.version {
            TlsVersion::Tls13 => MAX_CIPHERTEXT_TLS13_BYTES,
            TlsVersion::Tls12 => MAX_CIPHERTEXT_TLS12_BYTES,
        };
        if len > max {
            return Err(TlsError::RecordOverflow { len, limit: max });
        }
        let min = self.keys.overhead() - HEADER_BYTES;
        if len < min {
            return Err(TlsError::DecryptFailed);
        }
        let total = HEADER_BYTES + len;
        Ok((bytes.len() >= total).then_some(total))
    }

    /// Decrypts the complete record at `buf[read..read + record_len]`,
    /// writing its plaintext at `buf[write..]` (`write <= read`). Returns
    /// the (inner) content type and the content length.
    fn open_record(
        &mut self,
        buf: &mut [u8],
        write: usize,
        read: usize,
        record_len: usize,
    ) -> Result<(u8, usize), TlsError> {
        let header: [u8; HEADER_BYTES] = [
            buf[read],
            buf[read + 1],
            buf[read + 2],
            buf[read + 3],
            buf[read + 4],
        ];
        let explicit = self.keys.explicit_nonce_bytes();
        let ciphertext_start = read + HEADER_BYTES + explicit;
        let end = read + record_len;
        let seq = self.keys.take_seq()?;
        let nonce = match explicit {
            0 => self.keys.nonce(seq),
            _ => {
                let mut nonce = [0u8; NONCE_BYTES];
                nonce[..4].copy_from_slice(&self.keys.iv[..4]);
                nonce[4..].copy_from_slice(&buf[read + HEADER_BYTES..ciphertext_start]);
                nonce
            }
        };
        let nonce = Nonce::assume_unique_for_key(nonce);
        let in_out = &mut buf[write..end];
        let from = (ciphertext_start - write)..;
        let plain_len = match self.keys.version {
            TlsVersion::Tls13 => self
                .keys
                .key
                .open_within(nonce, Aad::from(header), in_out, from),
            TlsVersion::Tls12 => {
                let aad = tls12_aad(
                    seq,
                    header[0],
                    [header[1], header[2]],
                    end - ciphertext_start - TAG_BYTES,
                );
                self.keys
                    .key
                    .open_within(nonce, Aad::from(aad), in_out, from)
            }
        }
        .map_err(|_| TlsError::DecryptFailed)?
        .len();
        let (typ, content_len) = match self.keys.version {
            TlsVersion::Tls12 => (header[0], plain_len),
            TlsVersion::Tls13 => {
                // Inner plaintext: content, content type, zero padding.
                let inner = &buf[write..write + plain_len];
                let at = inner
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(TlsError::BadInnerPlaintext)?;
                (inner[at], at)
            }
        };
        if content_len > MAX_FRAGMENT_BYTES {
            return Err(TlsError::RecordOverflow {
                len: content_len,
                limit: MAX_FRAGMENT_BYTES,
            });
        }
        Ok((typ, content_len))
    }

    fn on_alert(&mut self, content: &[u8]) -> Result<Option<OpenStop>, TlsError> {
        let stop = interpret_alert(self.keys.version, content)?;
        if stop == Some(OpenStop::PeerClosed) {
            self.closed = true;
        }
        Ok(stop)
    }

    fn on_handshake(&mut self, content: &[u8]) -> Result<OpenStop, TlsError> {
        interpret_handshake(self.keys.version, content)
    }
}

/// What an alert record's `content` means: `close_notify` →
/// `Some(PeerClosed)`; an alert to ignore (`user_canceled`, a TLS 1.2
/// warning) → `None`; anything else is fatal. Shared with the kTLS path.
pub(crate) fn interpret_alert(
    version: TlsVersion,
    content: &[u8],
) -> Result<Option<OpenStop>, TlsError> {
    let &[level, description] = content else {
        return Err(TlsError::BadAlert);
    };
    if description == alert::CLOSE_NOTIFY {
        return Ok(Some(OpenStop::PeerClosed));
    }
    let ignorable = description == alert::USER_CANCELED
        || (version == TlsVersion::Tls12 && level == alert::LEVEL_WARNING);
    if ignorable {
        return Ok(None);
    }
    Err(TlsError::PeerAlert { level, description })
}

/// What a post-handshake handshake record's `content` means: only a
/// TLS 1.3 KeyUpdate is allowed, alone in its record (RFC 8446 §5.1: it
/// must align with a record boundary); TLS 1.2 handshake records after the
/// handshake are renegotiation, which we refuse. Shared with the kTLS path.
pub(crate) fn interpret_handshake(
    version: TlsVersion,
    content: &[u8],
) -> Result<OpenStop, TlsError> {
    if version == TlsVersion::Tls12 {
        return Err(TlsError::Renegotiation);
    }
    match content {
        &[HANDSHAKE_KEY_UPDATE, 0, 0, 1, requested @ (0 | 1)] => Ok(OpenStop::KeyUpdate {
            requested: requested == 1,
        }),
        _ => Err(TlsError::UnexpectedHandshake {
            handshake_type: content.first().copied().unwrap_or(0),
        }),
    }
}

/// The sending half of the record layer. See the module docs.
pub struct Sealer {
    keys: Keys,
}

impl Sealer {
    /// Sending keys for `version` from extracted `secrets`; `seq` is the
    /// sequence number of our next record.
    pub fn new(
        version: TlsVersion,
        secrets: &ConnectionTrafficSecrets,
        seq: u64,
    ) -> Result<Self, TlsError> {
        Ok(Sealer {
            keys: Keys::new(version, secrets, seq)?,
        })
    }

    /// Sending keys from raw bytes (tests, fuzzing, benches).
    #[doc(hidden)]
    pub fn from_raw(
        version: TlsVersion,
        cipher: Cipher,
        key: &[u8],
        iv: [u8; 12],
        seq: u64,
    ) -> Result<Self, TlsError> {
        Ok(Sealer {
            keys: Keys::from_raw(version, cipher, key, iv, seq)?,
        })
    }

    /// The sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.keys.seq
    }

    /// Record bytes around each fragment: header, explicit nonce, tag and
    /// TLS 1.3's inner content type (22 for TLS 1.3, 29 for TLS 1.2 AES-GCM,
    /// 21 for TLS 1.2 ChaCha20).
    pub fn overhead(&self) -> usize {
        self.keys.overhead()
    }

    /// Records needed for `plaintext_len` bytes (full fragments, then the rest).
    pub fn records_for(plaintext_len: usize) -> usize {
        plaintext_len.div_ceil(MAX_FRAGMENT_BYTES)
    }

    /// Output bytes [`Sealer::seal`] writes for `plaintext_len` bytes.
    pub fn sealed_len(&self, plaintext_len: usize) -> usize {
        plaintext_len
            .saturating_add(Self::records_for(plaintext_len).saturating_mul(self.overhead()))
    }

    /// The most plaintext whose records fit in `out_len` bytes.
    pub fn plaintext_capacity(&self, out_len: usize) -> usize {
        let record = MAX_FRAGMENT_BYTES + self.overhead();
        let full = out_len / record;
        let rest = (out_len % record).saturating_sub(self.overhead());
        full * MAX_FRAGMENT_BYTES + rest
    }

    /// Encrypts `plaintext` as application-data records into `out`;
    /// returns the bytes written ([`Sealer::sealed_len`]).
    /// [`TlsError::OutputTooSmall`] (and nothing written) if `out` is shorter.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, TlsError> {
        let needed = self.sealed_len(plaintext.len());
        if out.len() < needed {
            return Err(TlsError::OutputTooSmall { needed });
        }
        let body_at = HEADER_BYTES + self.keys.explicit_nonce_bytes();
        let mut at = 0;
        for chunk in plaintext.chunks(MAX_FRAGMENT_BYTES) {
            out[at + body_at..at + body_at + chunk.len()].copy_from_slice(chunk);
            at += self.seal_record(&mut out[at..], chunk.len(), content_type::APPLICATION_DATA)?;
        }
        Ok(at)
    }

    /// Turns the plaintext `buf[plain]` into application-data records at
    /// `buf[out_at..out_at + sealed_len(plain.len())]`, in place
    /// (`out_at >= plain.start`; usually equal); returns the record bytes.
    /// [`TlsError::OutputTooSmall`] (and nothing changed) if `buf` is
    /// shorter, [`TlsError::BadBufferBounds`] if `out_at < plain.start`.
    pub fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        plain: core::ops::Range<usize>,
        out_at: usize,
    ) -> Result<usize, TlsError> {
        let (start, len) = (plain.start, plain.len());
        if out_at < start || plain.end > buf.len() {
            return Err(TlsError::BadBufferBounds);
        }
        let needed = self.sealed_len(len);
        let end = out_at
            .checked_add(needed)
            .ok_or(TlsError::OutputTooSmall { needed })?;
        if end > buf.len() {
            return Err(TlsError::OutputTooSmall { needed });
        }
        let records = Self::records_for(len);
        let first_seq = self.keys.seq;
        let after = first_seq
            .checked_add(records as u64)
            .ok_or(TlsError::SequenceExhausted)?;
        let body_at = HEADER_BYTES + self.keys.explicit_nonce_bytes();
        let record_bytes = MAX_FRAGMENT_BYTES + self.overhead();
        // Last chunk first: chunk i moves up by i * overhead + body_at, onto
        // bytes of chunks > i, which have already moved.
        for i in (0..records).rev() {
            let src = start + i * MAX_FRAGMENT_BYTES;
            let chunk_len = (len - i * MAX_FRAGMENT_BYTES).min(MAX_FRAGMENT_BYTES);
            let at = out_at + i * record_bytes;
            buf.copy_within(src..src + chunk_len, at + body_at);
            self.keys.seq = first_seq + i as u64;
            self.seal_record(&mut buf[at..], chunk_len, content_type::APPLICATION_DATA)?;
        }
        self.keys.seq = after;
        Ok(needed)
    }

    /// Seals one control record (an alert, a KeyUpdate) of `content` into
    /// `out`; returns its length.
    pub fn seal_control(
        &mut self,
        typ: u8,
        content: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TlsError> {
        let needed = content.len() + self.overhead();
        if out.len() < needed || content.len() > MAX_FRAGMENT_BYTES {
            return Err(TlsError::OutputTooSmall { needed });
        }
        let body_at = HEADER_BYTES + self.keys.explicit_nonce_bytes();
        out[body_at..body_at + content.len()].copy_from_slice(content);
        self.seal_record(out, content.len(), typ)
    }

    /// Seals the plaintext already at `out[body_at..body_at + len]` as one
    /// record at the front of `out`; returns the record length.
    fn seal_record(&mut self, out: &mut [u8], len: usize, typ: u8) -> Result<usize, TlsError> {
        let seq = self.keys.take_seq()?;
        let explicit = self.keys.explicit_nonce_bytes();
        let body_at = HEADER_BYTES + explicit;
        let nonce = self.keys.nonce(seq);
        let (outer_type, sealed_len) = match self.keys.version {
            TlsVersion::Tls13 => {
                out[body_at + len] = typ;
                (content_type::APPLICATION_DATA, len + 1)
            }
            TlsVersion::Tls12 => (typ, len),
        };
        let record_len = body_at + sealed_len + TAG_BYTES;
        let length = u16::try_from(record_len - HEADER_BYTES)
            .map_err(|_| TlsError::OutputTooSmall { needed: record_len })?;
        let header = {
            let [hi, lo] = length.to_be_bytes();
            [outer_type, 3, 3, hi, lo]
        };
        out[..HEADER_BYTES].copy_from_slice(&header);
        out[HEADER_BYTES..body_at].copy_from_slice(&nonce[4..4 + explicit]);
        let in_out = &mut out[body_at..body_at + sealed_len];
        let nonce = Nonce::assume_unique_for_key(nonce);
        let tag = match self.keys.version {
            TlsVersion::Tls13 => {
                self.keys
                    .key
                    .seal_in_place_separate_tag(nonce, Aad::from(header), in_out)
            }
            TlsVersion::Tls12 => {
                let aad = tls12_aad(seq, typ, [3, 3], sealed_len);
                self.keys
                    .key
                    .seal_in_place_separate_tag(nonce, Aad::from(aad), in_out)
            }
        }
        .map_err(|_| TlsError::SealFailed)?;
        out[body_at + sealed_len..record_len].copy_from_slice(tag.as_ref());
        Ok(record_len)
    }
}

/// The TLS 1.3 KeyUpdate message we send (`update_not_requested`).
pub(crate) const KEY_UPDATE_NOT_REQUESTED: [u8; 5] = [HANDSHAKE_KEY_UPDATE, 0, 0, 1, 0];

/// A `close_notify` alert's content (level warning, as RFC 8446 §6.1 asks).
pub(crate) const CLOSE_NOTIFY: [u8; 2] = [alert::LEVEL_WARNING, alert::CLOSE_NOTIFY];
