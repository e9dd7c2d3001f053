//! Kernel TLS (kTLS, Linux `CONFIG_TLS`): detection at start, handing a
//! session's keys to the kernel, and the control-record syscalls.
//!
//! After `setsockopt(TCP_ULP, "tls")` and `setsockopt(SOL_TLS, TLS_TX /
//! TLS_RX, crypto_info)` the kernel seals what we write (so `sendfile`
//! works for downloads) and opens what we read (so `read_fixed` yields
//! plaintext). Records that are not application data cannot be read with a
//! plain `read`: the kernel fails it with `EIO` and the record must be taken
//! with `recvmsg` and a control-message buffer that carries its type
//! (`TLS_GET_RECORD_TYPE`): [`recv_record`], or io_uring's RecvMsg with
//! [`record_type_from_control`]. Alerts we send go out the same way
//! ([`send_record`], `TLS_SET_RECORD_TYPE`).
//!
//! # When which path is used
//!
//! * At start, [`probe`] makes a loopback TCP pair and tries the ULP and
//!   dummy TX/RX keys on it. `/proc/sys/net/ipv4/tcp_available_ulp` is not
//!   used: it lists only loaded modules, and `tls` is often a module that
//!   the first `setsockopt` loads. The result is logged once.
//! * Per connection, after the handshake (`TlsSession::offer_kernel`): TX
//!   goes to the kernel at once; RX when the bytes read so far end at a
//!   record boundary (else later, after a read that does). Any refusal
//!   (`setsockopt` error) leaves that direction in user space for the life
//!   of the connection. A ULP with no keys set is a plain TCP socket, so a
//!   refusal after the ULP was attached is harmless; no application data
//!   has gone through the kernel's record layer at that point.
//! * A TLS 1.3 KeyUpdate while the kernel holds the keys closes the
//!   connection (rekeying kTLS needs Linux ≥ 6.14; not implemented).
//!
//! Every `unsafe` block of the TLS layer is in this file.

use std::io;
use std::os::fd::RawFd;

use rustls::ConnectionTrafficSecrets;

use super::record::{split_secrets, Cipher, TlsVersion};

/// `SOL_TCP` option that attaches an upper-layer protocol (linux/tcp.h).
const TCP_ULP: libc::c_int = 31;
/// Socket level of the kTLS options (linux/socket.h).
const SOL_TLS: libc::c_int = 282;
/// `SOL_TLS` option: keys for sending (linux/tls.h).
const TLS_TX: libc::c_int = 1;
/// `SOL_TLS` option: keys for receiving.
const TLS_RX: libc::c_int = 2;
/// cmsg type on `sendmsg`: the record type to send.
const TLS_SET_RECORD_TYPE: libc::c_int = 1;
/// cmsg type on `recvmsg`: the record type received.
const TLS_GET_RECORD_TYPE: libc::c_int = 2;
const TLS_1_2_VERSION: u16 = 0x0303;
const TLS_1_3_VERSION: u16 = 0x0304;
const TLS_CIPHER_AES_GCM_128: u16 = 51;
const TLS_CIPHER_AES_GCM_256: u16 = 52;
const TLS_CIPHER_CHACHA20_POLY1305: u16 = 54;

/// `struct tls_crypto_info` (linux/tls.h).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct CryptoInfoHeader {
    version: u16,
    cipher_type: u16,
}

/// `struct tls12_crypto_info_aes_gcm_128`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct AesGcm128 {
    info: CryptoInfoHeader,
    iv: [u8; 8],
    key: [u8; 16],
    salt: [u8; 4],
    rec_seq: [u8; 8],
}

/// `struct tls12_crypto_info_aes_gcm_256`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct AesGcm256 {
    info: CryptoInfoHeader,
    iv: [u8; 8],
    key: [u8; 32],
    salt: [u8; 4],
    rec_seq: [u8; 8],
}

/// `struct tls12_crypto_info_chacha20_poly1305` (its salt is empty).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Chacha20Poly1305 {
    info: CryptoInfoHeader,
    iv: [u8; 12],
    key: [u8; 32],
    rec_seq: [u8; 8],
}

/// One direction's keys in the kernel's layout.
#[derive(Debug, Clone, Copy)]
enum CryptoInfo {
    AesGcm128(AesGcm128),
    AesGcm256(AesGcm256),
    Chacha20Poly1305(Chacha20Poly1305),
}

/// Which way a key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Tx,
    Rx,
}

/// The explicit nonce the kernel starts TLS 1.2 AES-GCM sending with.
///
/// rustls used `base ^ s` for the records `s < seq` it sent under this key
/// (its construction, see `record::Keys::nonce`); the kernel sends
/// `start, start + 1, …` (a big-endian counter). Starting above every value
/// `base ^ s` can take (they differ from `base` only in the bits below
/// `seq`'s next power of two) keeps every nonce unique until the counter
/// has gone round all 2^64 values.
fn tls12_gcm_tx_nonce_start(base: u64, seq: u64) -> u64 {
    if seq == 0 {
        return base;
    }
    let mask = seq.checked_next_power_of_two().map_or(u64::MAX, |p| p - 1);
    (base | mask).wrapping_add(1)
}

impl CryptoInfo {
    fn new(
        version: TlsVersion,
        direction: Direction,
        secrets: &ConnectionTrafficSecrets,
        seq: u64,
    ) -> Option<Self> {
        let (cipher, key, iv) = split_secrets(secrets)?;
        let header = |cipher_type| CryptoInfoHeader {
            version: match version {
                TlsVersion::Tls12 => TLS_1_2_VERSION,
                TlsVersion::Tls13 => TLS_1_3_VERSION,
            },
            cipher_type,
        };
        let rec_seq = seq.to_be_bytes();
        let mut salt = [0u8; 4];
        salt.copy_from_slice(&iv[..4]);
        let mut explicit = [0u8; 8];
        explicit.copy_from_slice(&iv[4..]);
        if version == TlsVersion::Tls12 && direction == Direction::Tx {
            explicit = tls12_gcm_tx_nonce_start(u64::from_be_bytes(explicit), seq).to_be_bytes();
        }
        Some(match cipher {
            Cipher::Aes128Gcm => {
                let mut k = [0u8; 16];
                k.copy_from_slice(&key[..16]);
                CryptoInfo::AesGcm128(AesGcm128 {
                    info: header(TLS_CIPHER_AES_GCM_128),
                    iv: explicit,
                    key: k,
                    salt,
                    rec_seq,
                })
            }
            Cipher::Aes256Gcm => {
                let mut k = [0u8; 32];
                k.copy_from_slice(&key[..32]);
                CryptoInfo::AesGcm256(AesGcm256 {
                    info: header(TLS_CIPHER_AES_GCM_256),
                    iv: explicit,
                    key: k,
                    salt,
                    rec_seq,
                })
            }
            Cipher::Chacha20Poly1305 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(&key[..32]);
                CryptoInfo::Chacha20Poly1305(Chacha20Poly1305 {
                    info: header(TLS_CIPHER_CHACHA20_POLY1305),
                    iv,
                    key: k,
                    rec_seq,
                })
            }
        })
    }

    /// Overwrites the key material (best effort: the copies the kernel
    /// holds are its business).
    fn wipe(&mut self) {
        match self {
            CryptoInfo::AesGcm128(c) => c.key = [0; 16],
            CryptoInfo::AesGcm256(c) => c.key = [0; 32],
            CryptoInfo::Chacha20Poly1305(c) => c.key = [0; 32],
        }
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` is a live reference to `len` readable bytes for the
    // duration of the call; the kernel copies them and keeps no pointer.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Attaches the `tls` ULP to a connected TCP socket.
pub(crate) fn attach_ulp(fd: RawFd) -> io::Result<()> {
    let name = *b"tls\0";
    let len = libc::socklen_t::try_from(name.len() - 1).unwrap_or(3);
    // SAFETY: `name` is a live array of at least `len` bytes; the kernel
    // copies the name and keeps no pointer.
    let rc = unsafe { libc::setsockopt(fd, libc::SOL_TCP, TCP_ULP, name.as_ptr().cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Gives one direction's keys to the kernel (after [`attach_ulp`]).
pub(crate) fn install_keys(
    fd: RawFd,
    version: TlsVersion,
    direction: Direction,
    secrets: &ConnectionTrafficSecrets,
    seq: u64,
) -> io::Result<()> {
    let name = match direction {
        Direction::Tx => TLS_TX,
        Direction::Rx => TLS_RX,
    };
    let mut info = CryptoInfo::new(version, direction, secrets, seq)
        .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
    let result = match &info {
        CryptoInfo::AesGcm128(c) => setsockopt(fd, SOL_TLS, name, c),
        CryptoInfo::AesGcm256(c) => setsockopt(fd, SOL_TLS, name, c),
        CryptoInfo::Chacha20Poly1305(c) => setsockopt(fd, SOL_TLS, name, c),
    };
    info.wipe();
    result
}

/// What the kernel offers, found by [`probe`] at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KtlsSupport {
    /// The kernel seals records (TLS 1.3 AES-256-GCM tried).
    pub tx: bool,
    /// The kernel opens records.
    pub rx: bool,
    /// Why not, when it does not (for the start-up log line).
    pub reason: Option<String>,
}

impl KtlsSupport {
    /// No kTLS: every session stays in user space.
    pub fn none(reason: &str) -> Self {
        KtlsSupport {
            tx: false,
            rx: false,
            reason: Some(reason.to_owned()),
        }
    }

    /// True if either direction can go to the kernel.
    pub fn available(&self) -> bool {
        self.tx || self.rx
    }

    /// The start-up log line.
    pub fn describe(&self) -> String {
        match (self.tx, self.rx, &self.reason) {
            (true, true, _) => "kTLS available: records are sealed and opened by the kernel \
                                (sendfile for downloads)"
                .to_owned(),
            (true, false, r) => format!(
                "kTLS sends only: downloads sealed by the kernel, uploads opened in user space ({})",
                r.as_deref().unwrap_or("TLS_RX refused")
            ),
            (false, true, r) => format!(
                "kTLS receives only: uploads opened by the kernel, downloads sealed in user space ({})",
                r.as_deref().unwrap_or("TLS_TX refused")
            ),
            (false, false, r) => format!(
                "kTLS unavailable ({}): TLS records are sealed and opened in user space, in place",
                r.as_deref().unwrap_or("unknown")
            ),
        }
    }
}

/// Tries kTLS on a loopback TCP connection made for the purpose: the ULP,
/// then dummy TLS 1.3 AES-256-GCM keys for TX and RX. Never fails: what
/// does not work is reported in the result.
pub fn probe() -> KtlsSupport {
    use std::os::fd::AsRawFd;
    let pair = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|listener| {
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        Ok((client, server))
    });
    let (client, _server) = match pair {
        Ok(pair) => pair,
        Err(e) => return KtlsSupport::none(&format!("no loopback socket to probe with: {e}")),
    };
    let fd = client.as_raw_fd();
    if let Err(e) = attach_ulp(fd) {
        return KtlsSupport::none(&format!("setsockopt TCP_ULP \"tls\": {e}"));
    }
    let secrets = ConnectionTrafficSecrets::Aes256Gcm {
        key: rustls::crypto::cipher::AeadKey::from([0u8; 32]),
        iv: rustls::crypto::cipher::Iv::from([0u8; 12]),
    };
    let tx = install_keys(fd, TlsVersion::Tls13, Direction::Tx, &secrets, 0);
    let rx = install_keys(fd, TlsVersion::Tls13, Direction::Rx, &secrets, 0);
    let reason = match (&tx, &rx) {
        (Ok(()), Ok(())) => None,
        (Err(e), _) => Some(format!("TLS_TX: {e}")),
        (_, Err(e)) => Some(format!("TLS_RX: {e}")),
    };
    KtlsSupport {
        tx: tx.is_ok(),
        rx: rx.is_ok(),
        reason,
    }
}

/// Control-message buffer big enough for one `TLS_GET_RECORD_TYPE` cmsg,
/// aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; 64]);

/// Reads one record's worth of plaintext from a kTLS socket with
/// `recvmsg`, returning the bytes and the record's content type (23 when
/// the kernel attached no type: application data). Use it after a plain
/// read failed with `EIO`: the next record is a control record. Non-blocking
/// (`MSG_DONTWAIT`).
pub fn recv_record(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, u8)> {
    let mut control = ControlBuf([0; 64]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid (empty) value of this C struct.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: `msg` points at `iov` (covering `buf`) and `control`, all live
    // and writable for the call; the kernel writes within the given lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // `msg_controllen` is a `size_t` on glibc, a `socklen_t` on musl.
    #[allow(clippy::useless_conversion)]
    let control_len = usize::try_from(msg.msg_controllen)
        .unwrap_or(0)
        .min(control.0.len());
    let typ = record_type_from_control(&control.0[..control_len]).unwrap_or(23);
    Ok((n, typ))
}

/// Finds the `TLS_GET_RECORD_TYPE` control message in the control bytes a
/// `recvmsg` (or io_uring RecvMsg) returned; `None` if there is none (the
/// record was application data). Pure parsing of the Linux `cmsghdr`
/// layout, no `unsafe`.
pub fn record_type_from_control(control: &[u8]) -> Option<u8> {
    let word = std::mem::size_of::<usize>();
    let header = std::mem::size_of::<libc::cmsghdr>();
    let align = |n: usize| n.div_ceil(word) * word;
    let mut at = 0;
    while let Some(h) = control.get(at..at + header) {
        let len = usize::from_ne_bytes(h[..word].try_into().ok()?);
        let level = i32::from_ne_bytes(h[word..word + 4].try_into().ok()?);
        let typ = i32::from_ne_bytes(h[word + 4..word + 8].try_into().ok()?);
        if len < header {
            return None;
        }
        if level == SOL_TLS && typ == TLS_GET_RECORD_TYPE {
            return control.get(at + align(header)).copied();
        }
        at = at.checked_add(align(len))?;
    }
    None
}

/// Sends `data` as one record of `content_type` on a socket whose TX is in
/// the kernel (an alert: [`super::Outgoing::KernelRecord`]). Non-blocking.
pub fn send_record(fd: RawFd, content_type: u8, data: &[u8]) -> io::Result<usize> {
    let mut control = ControlBuf([0; 64]);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(1) } as usize;
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is a valid (empty) value of this C struct.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `control` (64 bytes, aligned, at least
    // CMSG_SPACE(1)), so CMSG_FIRSTHDR is non-null and its header and one
    // data byte lie inside `control`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = SOL_TLS;
        (*cmsg).cmsg_type = TLS_SET_RECORD_TYPE;
        (*cmsg).cmsg_len = libc::CMSG_LEN(1) as _;
        *libc::CMSG_DATA(cmsg) = content_type;
    }
    // SAFETY: `msg` points at `iov` (covering `data`, only read) and
    // `control`, all live for the call.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_info_layouts_match_linux_tls_h() {
        assert_eq!(std::mem::size_of::<CryptoInfoHeader>(), 4);
        assert_eq!(std::mem::size_of::<AesGcm128>(), 40);
        assert_eq!(std::mem::size_of::<AesGcm256>(), 56);
        assert_eq!(std::mem::size_of::<Chacha20Poly1305>(), 56);
        assert_eq!(std::mem::offset_of!(AesGcm128, iv), 4);
        assert_eq!(std::mem::offset_of!(AesGcm128, key), 12);
        assert_eq!(std::mem::offset_of!(AesGcm128, salt), 28);
        assert_eq!(std::mem::offset_of!(AesGcm128, rec_seq), 32);
        assert_eq!(std::mem::offset_of!(AesGcm256, salt), 44);
        assert_eq!(std::mem::offset_of!(Chacha20Poly1305, key), 16);
        assert_eq!(std::mem::offset_of!(Chacha20Poly1305, rec_seq), 48);
    }

    #[test]
    fn crypto_info_fields() {
        let mut iv = [0u8; 12];
        for (i, b) in iv.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let secrets = ConnectionTrafficSecrets::Aes256Gcm {
            key: rustls::crypto::cipher::AeadKey::from([7u8; 32]),
            iv: rustls::crypto::cipher::Iv::from(iv),
        };
        let CryptoInfo::AesGcm256(c) =
            CryptoInfo::new(TlsVersion::Tls13, Direction::Rx, &secrets, 5).expect("known cipher")
        else {
            panic!("wrong cipher")
        };
        assert_eq!((c.info.version, c.info.cipher_type), (0x0304, 52));
        assert_eq!(c.salt, [1, 2, 3, 4]);
        assert_eq!(c.iv, [5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(c.key, [7; 32]);
        assert_eq!(c.rec_seq, 5u64.to_be_bytes());
        // TLS 1.2 TX: the explicit nonce starts above what rustls used.
        let CryptoInfo::AesGcm256(c) =
            CryptoInfo::new(TlsVersion::Tls12, Direction::Tx, &secrets, 1).expect("known cipher")
        else {
            panic!("wrong cipher")
        };
        let base = u64::from_be_bytes([5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(c.iv, (base + 1).to_be_bytes());
        let chacha = ConnectionTrafficSecrets::Chacha20Poly1305 {
            key: rustls::crypto::cipher::AeadKey::from([7u8; 32]),
            iv: rustls::crypto::cipher::Iv::from(iv),
        };
        let CryptoInfo::Chacha20Poly1305(c) =
            CryptoInfo::new(TlsVersion::Tls12, Direction::Tx, &chacha, 9).expect("known cipher")
        else {
            panic!("wrong cipher")
        };
        assert_eq!((c.iv, c.rec_seq), (iv, 9u64.to_be_bytes()));
    }

    #[test]
    fn tls12_tx_nonces_never_repeat_what_rustls_used() {
        for base in [0u64, 1, 2, 3, 0xff, 0x100, u64::MAX - 3, u64::MAX] {
            for seq in 0..9u64 {
                let used: Vec<u64> = (0..seq).map(|s| base ^ s).collect();
                let start = tls12_gcm_tx_nonce_start(base, seq);
                for k in 0..64u64 {
                    let n = start.wrapping_add(k);
                    assert!(
                        !used.contains(&n),
                        "base {base:#x} seq {seq}: {n:#x} reused"
                    );
                }
            }
        }
    }

    #[test]
    fn control_message_parsing() {
        let word = std::mem::size_of::<usize>();
        let header = std::mem::size_of::<libc::cmsghdr>();
        let cmsg = |level: i32, typ: i32, data: &[u8]| {
            let mut v = Vec::new();
            v.extend_from_slice(&(header + data.len()).to_ne_bytes());
            v.extend_from_slice(&level.to_ne_bytes());
            v.extend_from_slice(&typ.to_ne_bytes());
            v.resize(header, 0);
            v.extend_from_slice(data);
            v.resize(v.len().div_ceil(word) * word, 0);
            v
        };
        assert_eq!(record_type_from_control(&[]), None);
        assert_eq!(record_type_from_control(&cmsg(SOL_TLS, 2, &[21])), Some(21));
        let two = [cmsg(1, 1, &[0; 5]), cmsg(SOL_TLS, 2, &[22])].concat();
        assert_eq!(record_type_from_control(&two), Some(22));
        assert_eq!(record_type_from_control(&cmsg(SOL_TLS, 1, &[21])), None);
        // Truncated or zero-length headers end the walk.
        assert_eq!(record_type_from_control(&two[..header - 1]), None);
        assert_eq!(record_type_from_control(&[0u8; 64]), None);
    }

    #[test]
    fn probe_never_fails() {
        // This machine's kernel may have no CONFIG_TLS: the probe must then
        // say so, not panic.
        let support = probe();
        assert!(!support.describe().is_empty());
        if !support.available() {
            assert!(support.reason.is_some());
        }
    }
}
