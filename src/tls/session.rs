//! An established TLS session: each direction either in user space (our
//! in-place record layer, [`super::record`]) or in the kernel (kTLS), behind
//! one set of calls so the transport treats both alike.
//!
//! | call | user space | kernel |
//! | --- | --- | --- |
//! | [`TlsSession::open`] after every read | decrypts in place, compacts | identity: the bytes read are plaintext |
//! | [`TlsSession::seal_in_place`] / [`TlsSession::seal`] before a write | records in the buffer | identity (`seal` copies) |
//! | [`TlsSession::sealed_len`], [`TlsSession::plaintext_capacity`] | record overhead | identity |
//! | [`TlsSession::close_notify`], [`TlsSession::fatal_alert`] | [`Outgoing::Bytes`]: write them | [`Outgoing::KernelRecord`]: `ktls::send_record` |
//! | [`TlsSession::can_sendfile`] | false | true |
//!
//! Key updates (TLS 1.3): a KeyUpdate from the peer replaces the receive key
//! inside `open`; if the peer asks us to update too, the next sealing call
//! puts our KeyUpdate record first (sealed with the old key) and seals the
//! data with the new one. The same happens, unasked, before our records
//! reach the cipher's confidentiality limit (2^23 or 2^24 records for
//! AES-GCM). TLS 1.2 cannot rekey: at the limit sealing fails with
//! [`TlsError::SequenceExhausted`]. With the kernel holding a direction, a
//! KeyUpdate that concerns it ends the connection ([`TlsError::KernelKeyUpdate`]).

use std::os::fd::RawFd;

use rustls::kernel::KernelConnection;
use rustls::server::ServerConnectionData;
use rustls::{ConnectionTrafficSecrets, ExtractedSecrets, SupportedCipherSuite};

use super::error::TlsError;
use super::ktls::{self, Direction, KtlsSupport};
use super::record::{
    content_type, interpret_alert, interpret_handshake, split_secrets, Cipher, OpenStop, Opened,
    Opener, Sealer, TlsVersion, CLOSE_NOTIFY, KEY_UPDATE_NOT_REQUESTED,
};

/// Keys and sequence number of one direction, kept while that direction
/// may still move to the kernel.
struct Secrets {
    secrets: ConnectionTrafficSecrets,
}

// One per connection, and the kernel variants are the rare path: boxing
// the keys would cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
enum Rx {
    User {
        opener: Opener,
        /// Kept until RX goes to the kernel or that chance is gone.
        secrets: Option<Secrets>,
    },
    Kernel,
}

#[allow(clippy::large_enum_variant)]
enum Tx {
    User {
        sealer: Sealer,
        secrets: Option<Secrets>,
    },
    Kernel,
}

/// Bytes a sealing call produced, and how to send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// `out[..n]` is a sealed record: write it to the socket as is.
    Bytes(usize),
    /// TX is in the kernel: send `out[..len]` as one record of
    /// `content_type` with [`ktls::send_record`].
    KernelRecord {
        /// The record's content type (21: alert).
        content_type: u8,
        /// The payload length in `out`.
        len: usize,
    },
}

/// What a control record read with `ktls::recv_record` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelRecord {
    /// Application data after all: use the bytes as plaintext.
    Data,
    /// `close_notify`: the peer sends no more.
    PeerClosed,
    /// An alert to ignore (`user_canceled`, a TLS 1.2 warning): read on.
    Ignore,
}

/// Which directions the kernel holds after [`TlsSession::offer_kernel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelState {
    /// The kernel seals what we write (`sendfile` works).
    pub tx: bool,
    /// The kernel opens what we read.
    pub rx: bool,
}

/// An established TLS connection. See the module docs for the calls.
pub struct TlsSession {
    kernel_conn: KernelConnection<ServerConnectionData>,
    version: TlsVersion,
    cipher: Cipher,
    alpn: Option<Vec<u8>>,
    rx: Rx,
    tx: Tx,
    /// The socket stream read so far ends at a record boundary.
    rx_at_boundary: bool,
    /// The ULP was attached (or refused): the kernel is asked once.
    kernel_asked: bool,
    /// Our next sealed data must be preceded by a KeyUpdate.
    tx_key_update_due: bool,
    /// Records we may seal under one key (the suite's confidentiality limit).
    tx_record_limit: u64,
    peer_closed: bool,
}

impl TlsSession {
    pub(crate) fn new(
        version: TlsVersion,
        secrets: ExtractedSecrets,
        kernel_conn: KernelConnection<ServerConnectionData>,
        alpn: Option<Vec<u8>>,
        rx_at_boundary: bool,
    ) -> Result<Self, TlsError> {
        let ExtractedSecrets {
            tx: (tx_seq, tx_secrets),
            rx: (rx_seq, rx_secrets),
        } = secrets;
        let (cipher, _, _) = split_secrets(&tx_secrets).ok_or(TlsError::BadSecrets)?;
        let tx_record_limit = match kernel_conn.negotiated_cipher_suite() {
            SupportedCipherSuite::Tls13(s) => s.common.confidentiality_limit,
            SupportedCipherSuite::Tls12(s) => s.common.confidentiality_limit,
        };
        Ok(TlsSession {
            version,
            cipher,
            alpn,
            rx: Rx::User {
                opener: Opener::new(version, &rx_secrets, rx_seq)?,
                secrets: Some(Secrets {
                    secrets: rx_secrets,
                }),
            },
            tx: Tx::User {
                sealer: Sealer::new(version, &tx_secrets, tx_seq)?,
                secrets: Some(Secrets {
                    secrets: tx_secrets,
                }),
            },
            kernel_conn,
            rx_at_boundary,
            kernel_asked: false,
            tx_key_update_due: false,
            tx_record_limit,
            peer_closed: false,
        })
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> TlsVersion {
        self.version
    }

    /// The negotiated AEAD.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The ALPN protocol agreed (`http/1.1`), or `None` if the client
    /// offered none.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// True once the peer sent `close_notify`.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Which directions the kernel holds.
    pub fn kernel_state(&self) -> KernelState {
        KernelState {
            tx: matches!(self.tx, Tx::Kernel),
            rx: matches!(self.rx, Rx::Kernel),
        }
    }

    /// True when file bodies may go out with `sendfile` (TX in the kernel).
    pub fn can_sendfile(&self) -> bool {
        matches!(self.tx, Tx::Kernel)
    }

    /// Call after every read into `buf[filled_before..filled]`, with
    /// `buf[..plain_end]` the plaintext still held and `buf[plain_end..filled]`
    /// the ciphertext not yet opened. See [`Opener::open`] for the result;
    /// KeyUpdates are handled inside. With RX in the kernel the bytes read
    /// are plaintext already: the result is `plain_end = filled`.
    pub fn open(
        &mut self,
        buf: &mut [u8],
        plain_end: usize,
        filled: usize,
    ) -> Result<Opened, TlsError> {
        let Rx::User { opener, secrets } = &mut self.rx else {
            if plain_end > filled || filled > buf.len() {
                return Err(TlsError::BadBufferBounds);
            }
            return Ok(Opened {
                plain_end: filled,
                filled,
                stop: OpenStop::NeedMore,
            });
        };
        let mut plain_end = plain_end;
        let mut filled = filled;
        // Each KeyUpdate consumed a record, so this ends.
        loop {
            let opened = opener.open(buf, plain_end, filled)?;
            match opened.stop {
                OpenStop::KeyUpdate { requested } => {
                    let (seq, new) = self
                        .kernel_conn
                        .update_rx_secret()
                        .map_err(TlsError::Handshake)?;
                    opener.rekey(&new, seq)?;
                    if let Some(s) = secrets {
                        s.secrets = new;
                    }
                    if requested {
                        if matches!(self.tx, Tx::Kernel) {
                            return Err(TlsError::KernelKeyUpdate);
                        }
                        self.tx_key_update_due = true;
                    }
                    plain_end = opened.plain_end;
                    filled = opened.filled;
                }
                OpenStop::PeerClosed => {
                    self.peer_closed = true;
                    self.rx_at_boundary = false;
                    return Ok(opened);
                }
                OpenStop::NeedMore => {
                    self.rx_at_boundary = opened.at_record_boundary();
                    return Ok(opened);
                }
            }
        }
    }

    /// What a control record read with [`ktls::recv_record`] (RX in the
    /// kernel, a plain read failed with `EIO`) means. Errors end the
    /// connection.
    pub fn on_kernel_record(
        &mut self,
        record_type: u8,
        payload: &[u8],
    ) -> Result<KernelRecord, TlsError> {
        match record_type {
            content_type::APPLICATION_DATA => Ok(KernelRecord::Data),
            content_type::ALERT => match interpret_alert(self.version, payload)? {
                Some(_) => {
                    self.peer_closed = true;
                    Ok(KernelRecord::PeerClosed)
                }
                None => Ok(KernelRecord::Ignore),
            },
            content_type::HANDSHAKE => match interpret_handshake(self.version, payload)? {
                // The kernel keeps decrypting with the old key (before
                // 6.14) or stops (6.14+, rekey not implemented here).
                OpenStop::KeyUpdate { .. } => Err(TlsError::KernelKeyUpdate),
                OpenStop::NeedMore | OpenStop::PeerClosed => Err(TlsError::UnexpectedHandshake {
                    handshake_type: payload.first().copied().unwrap_or(0),
                }),
            },
            other => Err(TlsError::UnexpectedRecord {
                content_type: other,
            }),
        }
    }

    /// True if the next sealing call starts with a KeyUpdate record
    /// (TLS 1.3, user-space TX) for `plaintext_len` bytes of data.
    fn key_update_before(&self, plaintext_len: usize) -> bool {
        let Tx::User { sealer, .. } = &self.tx else {
            return false;
        };
        let records = Sealer::records_for(plaintext_len) as u64;
        self.version == TlsVersion::Tls13
            && (self.tx_key_update_due
                || sealer.seq().saturating_add(records).saturating_add(1) >= self.tx_record_limit)
    }

    /// Bytes of KeyUpdate record sealed ahead of data, if one is due.
    fn key_update_len(&self, plaintext_len: usize) -> usize {
        match &self.tx {
            Tx::User { sealer, .. } if self.key_update_before(plaintext_len) => {
                KEY_UPDATE_NOT_REQUESTED.len() + sealer.overhead()
            }
            _ => 0,
        }
    }

    /// Output bytes for `plaintext_len` bytes of data (records, and a
    /// KeyUpdate record when one is due).
    pub fn sealed_len(&self, plaintext_len: usize) -> usize {
        match &self.tx {
            Tx::User { sealer, .. } => sealer
                .sealed_len(plaintext_len)
                .saturating_add(self.key_update_len(plaintext_len)),
            Tx::Kernel => plaintext_len,
        }
    }

    /// The most plaintext whose output fits in `out_len` bytes (reserving
    /// room for a KeyUpdate record when one may be due).
    pub fn plaintext_capacity(&self, out_len: usize) -> usize {
        match &self.tx {
            Tx::User { sealer, .. } => {
                let reserve = self.key_update_len(out_len);
                sealer.plaintext_capacity(out_len.saturating_sub(reserve))
            }
            Tx::Kernel => out_len,
        }
    }

    /// Seals `plaintext` into `out` (user space), or copies it there
    /// (kernel TX); returns the bytes to write, `out[..n]`.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, TlsError> {
        let needed = self.sealed_len(plaintext.len());
        if out.len() < needed {
            return Err(TlsError::OutputTooSmall { needed });
        }
        if matches!(self.tx, Tx::Kernel) {
            out[..plaintext.len()].copy_from_slice(plaintext);
            return Ok(plaintext.len());
        }
        let mut at = 0;
        if self.key_update_len(plaintext.len()) > 0 {
            at = self.send_key_update(out)?;
        }
        let Tx::User { sealer, .. } = &mut self.tx else {
            return Err(TlsError::BadBufferBounds);
        };
        let n = seal_checked(
            sealer,
            self.version,
            self.tx_record_limit,
            |s| s.seal(plaintext, &mut out[at..]),
            plaintext.len(),
        )?;
        Ok(at + n)
    }

    /// Turns the plaintext `buf[plain]` into what to write,
    /// `buf[out_at..out_at + n]` (`out_at >= plain.start`): records sealed
    /// in place in user space; with kernel TX the plaintext itself (moved to
    /// `out_at` if it is not there). Needs `buf.len() >= out_at +
    /// sealed_len(plain.len())`.
    ///
    /// For a download with `n = plaintext_capacity(B)` for a registered
    /// buffer of `B` bytes: put the response head in `buf[..h]`, read up to
    /// `n - h` file bytes into `buf[h..]`, call `seal_in_place(buf, 0..h +
    /// read, 0)` and write `buf[..returned]`. Head and body leave in the
    /// same records, with no copy but a move up by 22 to 29 bytes per 16 KiB.
    pub fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        plain: std::ops::Range<usize>,
        out_at: usize,
    ) -> Result<usize, TlsError> {
        if out_at < plain.start || plain.start > plain.end || plain.end > buf.len() {
            return Err(TlsError::BadBufferBounds);
        }
        let len = plain.len();
        let needed = self.sealed_len(len);
        if out_at.saturating_add(needed) > buf.len() {
            return Err(TlsError::OutputTooSmall { needed });
        }
        if matches!(self.tx, Tx::Kernel) {
            buf.copy_within(plain, out_at);
            return Ok(len);
        }
        let ku = self.key_update_len(len);
        if ku == 0 {
            let Tx::User { sealer, .. } = &mut self.tx else {
                return Err(TlsError::BadBufferBounds);
            };
            return seal_checked(
                sealer,
                self.version,
                self.tx_record_limit,
                |s| s.seal_in_place(buf, plain, out_at),
                len,
            );
        }
        // KeyUpdate first (old key), data after it (new key): seal the data
        // with the new key first, which moves it out of the KeyUpdate's way.
        let (seq, new_secrets) = self
            .kernel_conn
            .update_tx_secret()
            .map_err(TlsError::Handshake)?;
        let mut new = Sealer::new(self.version, &new_secrets, seq)?;
        let n = new.seal_in_place(buf, plain, out_at + ku)?;
        let Tx::User { sealer, secrets } = &mut self.tx else {
            return Err(TlsError::BadBufferBounds);
        };
        let k = sealer.seal_control(
            content_type::HANDSHAKE,
            &KEY_UPDATE_NOT_REQUESTED,
            &mut buf[out_at..out_at + ku],
        )?;
        *sealer = new;
        *secrets = None;
        self.tx_key_update_due = false;
        Ok(k + n)
    }

    /// Seals a KeyUpdate with the current key into `out` and switches to
    /// the next key; returns the record length.
    fn send_key_update(&mut self, out: &mut [u8]) -> Result<usize, TlsError> {
        let (seq, new_secrets) = self
            .kernel_conn
            .update_tx_secret()
            .map_err(TlsError::Handshake)?;
        let new = Sealer::new(self.version, &new_secrets, seq)?;
        let Tx::User { sealer, secrets } = &mut self.tx else {
            return Err(TlsError::BadBufferBounds);
        };
        let k = sealer.seal_control(content_type::HANDSHAKE, &KEY_UPDATE_NOT_REQUESTED, out)?;
        *sealer = new;
        *secrets = None;
        self.tx_key_update_due = false;
        Ok(k)
    }

    /// Our `close_notify`, to send before closing the write side.
    pub fn close_notify(&mut self, out: &mut [u8]) -> Result<Outgoing, TlsError> {
        self.alert_record(&CLOSE_NOTIFY, out)
    }

    /// The fatal alert for `error` ([`TlsError::alert`]), to send (best
    /// effort) before closing; `None` when there is none to send.
    pub fn fatal_alert(
        &mut self,
        error: &TlsError,
        out: &mut [u8],
    ) -> Option<Result<Outgoing, TlsError>> {
        let description = error.alert()?;
        Some(self.alert_record(&[super::record::alert::LEVEL_FATAL, description], out))
    }

    fn alert_record(&mut self, alert: &[u8; 2], out: &mut [u8]) -> Result<Outgoing, TlsError> {
        match &mut self.tx {
            Tx::User { sealer, .. } => Ok(Outgoing::Bytes(sealer.seal_control(
                content_type::ALERT,
                alert,
                out,
            )?)),
            Tx::Kernel => {
                let dst = out.get_mut(..alert.len()).ok_or(TlsError::OutputTooSmall {
                    needed: alert.len(),
                })?;
                dst.copy_from_slice(alert);
                Ok(Outgoing::KernelRecord {
                    content_type: content_type::ALERT,
                    len: alert.len(),
                })
            }
        }
    }

    /// Hands what it can to the kernel (see `ktls` for when): call once
    /// after the handshake's leftover went through [`TlsSession::open`],
    /// and again after later reads while [`TlsSession::wants_kernel_rx`].
    /// `fd` is the connection's socket. Never fails: a refusal keeps that
    /// direction in user space (logged at debug).
    pub fn offer_kernel(&mut self, fd: RawFd, support: &KtlsSupport) -> KernelState {
        if !support.available() {
            self.forget_secrets();
            return self.kernel_state();
        }
        if !self.kernel_asked {
            self.kernel_asked = true;
            if let Err(e) = ktls::attach_ulp(fd) {
                tracing::debug!("kTLS refused for this connection (TCP_ULP): {e}");
                self.forget_secrets();
                return self.kernel_state();
            }
            self.offer_tx(fd, support);
        }
        self.offer_rx(fd, support);
        self.kernel_state()
    }

    fn offer_tx(&mut self, fd: RawFd, support: &KtlsSupport) {
        let Tx::User { sealer, secrets } = &mut self.tx else {
            return;
        };
        let Some(s) = secrets.take() else { return };
        if !support.tx || self.tx_key_update_due {
            return;
        }
        match ktls::install_keys(fd, self.version, Direction::Tx, &s.secrets, sealer.seq()) {
            Ok(()) => self.tx = Tx::Kernel,
            Err(e) => tracing::debug!("kTLS TX refused, sealing in user space: {e}"),
        }
    }

    fn offer_rx(&mut self, fd: RawFd, support: &KtlsSupport) {
        if !self.rx_at_boundary || self.peer_closed {
            return;
        }
        let Rx::User { opener, secrets } = &mut self.rx else {
            return;
        };
        let Some(s) = secrets.take() else { return };
        if !support.rx {
            return;
        }
        match ktls::install_keys(fd, self.version, Direction::Rx, &s.secrets, opener.seq()) {
            Ok(()) => self.rx = Rx::Kernel,
            Err(e) => tracing::debug!("kTLS RX refused, opening in user space: {e}"),
        }
    }

    /// True while RX may still move to the kernel (call
    /// [`TlsSession::offer_kernel`] after a read that ends at a record
    /// boundary).
    pub fn wants_kernel_rx(&self) -> bool {
        matches!(
            &self.rx,
            Rx::User {
                secrets: Some(_),
                ..
            }
        ) && self.kernel_asked
    }

    fn forget_secrets(&mut self) {
        if let Rx::User { secrets, .. } = &mut self.rx {
            *secrets = None;
        }
        if let Tx::User { secrets, .. } = &mut self.tx {
            *secrets = None;
        }
    }

    #[cfg(test)]
    pub(crate) fn set_tx_record_limit(&mut self, limit: u64) {
        self.tx_record_limit = limit;
    }
}

/// Runs a sealing call after checking TLS 1.2's confidentiality limit
/// (TLS 1.3 rekeys before it, see `key_update_before`).
fn seal_checked(
    sealer: &mut Sealer,
    version: TlsVersion,
    limit: u64,
    seal: impl FnOnce(&mut Sealer) -> Result<usize, TlsError>,
    plaintext_len: usize,
) -> Result<usize, TlsError> {
    let records = Sealer::records_for(plaintext_len) as u64;
    if version == TlsVersion::Tls12 && sealer.seq().saturating_add(records) > limit {
        return Err(TlsError::SequenceExhausted);
    }
    seal(sealer)
}
