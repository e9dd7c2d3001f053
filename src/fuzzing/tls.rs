//! Fuzz entry point for the TLS layer (`fuzz/fuzz_targets/tls_records.rs`):
//! the server handshake and the record layer fed arbitrary bytes.
//!
//! Invariants asserted (beyond "no panic"):
//! * the handshake never reports `consumed` beyond its input, never asks
//!   for more input while holding a full [`HANDSHAKE_BUFFER_BYTES`] buffer,
//!   and ends (done or error) within a bounded number of calls;
//! * the record opener keeps `plain_end <= filled <= buf.len()`, never
//!   needs more than [`MAX_RECORD_BYTES`] of room, and gives the same
//!   outcome whole and split at points taken from the data;
//! * records sealed by our `Sealer` from a program read off the data open
//!   to exactly the application data sealed, whole or split, up to the
//!   first control record (close_notify, KeyUpdate, a fatal alert) or
//!   corruption.

use std::sync::{Arc, OnceLock};

use super::{data_splits, prefix_ends};
use crate::tls::record::{content_type, Opener, Sealer};
use crate::tls::{
    testing, Cipher, Handshake, OpenStop, TlsError, TlsVersion, HANDSHAKE_BUFFER_BYTES,
    MAX_RECORD_BYTES,
};

/// Every version and cipher the record layer speaks.
const COMBOS: [(TlsVersion, Cipher); 6] = [
    (TlsVersion::Tls13, Cipher::Aes128Gcm),
    (TlsVersion::Tls13, Cipher::Aes256Gcm),
    (TlsVersion::Tls13, Cipher::Chacha20Poly1305),
    (TlsVersion::Tls12, Cipher::Aes128Gcm),
    (TlsVersion::Tls12, Cipher::Aes256Gcm),
    (TlsVersion::Tls12, Cipher::Chacha20Poly1305),
];

/// The buffer the opener works in (a small registered buffer).
const BUF_BYTES: usize = 64 * 1024;

fn server_config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(testing::server_config).clone()
}

/// Fuzz entry point: `data` as a client's first bytes, as raw records, and
/// as a program of records to seal and open. See the module docs.
pub fn fuzz_tls_records(data: &[u8]) {
    fuzz_handshake(data, &[]);
    fuzz_handshake(data, &data_splits(data, 3));
    for (version, cipher) in COMBOS {
        let whole = open_all(version, cipher, data, &[]);
        let split = open_all(version, cipher, data, &data_splits(data, 5));
        assert_same_outcome(&whole, &split, data.len());
        fuzz_sealed(version, cipher, data);
    }
}

/// Feeds `data` to a server handshake in pieces ending at `splits`, as
/// a transport does (consumed bytes dropped, the rest held).
fn fuzz_handshake(data: &[u8], splits: &[usize]) {
    let Ok(mut hs) = Handshake::new(server_config()) else {
        panic!("handshake refused the test config");
    };
    let mut held: Vec<u8> = Vec::new();
    let mut from = 0;
    for end in prefix_ends(splits, data.len()) {
        let room = HANDSHAKE_BUFFER_BYTES.saturating_sub(held.len());
        let take = (end - from).min(room);
        held.extend_from_slice(&data[from..from + take]);
        from += take;
        match hs.advance(&mut held) {
            Ok(step) => {
                assert!(
                    step.consumed <= held.len(),
                    "consumed {} of {}",
                    step.consumed,
                    held.len()
                );
                held.drain(..step.consumed);
                let _ = hs.take_output();
                if step.done {
                    // Only a real client completes a handshake.
                    return;
                }
                assert!(
                    held.len() < HANDSHAKE_BUFFER_BYTES,
                    "asks for input while holding {} bytes",
                    held.len()
                );
            }
            Err(e) => {
                assert!(e.is_peer_fault(), "{e:?} blamed on us");
                // The output (flight so far, then an alert) is whole records.
                let out = hs.take_output();
                let mut at = 0;
                while let Some(h) = out.get(at..at + 5) {
                    at += 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
                }
                assert_eq!(at, out.len(), "output is not whole records");
                return;
            }
        }
    }
}

fn key(cipher: Cipher) -> &'static [u8] {
    match cipher {
        Cipher::Aes128Gcm => &[0x5a; 16],
        Cipher::Aes256Gcm | Cipher::Chacha20Poly1305 => &[0xa5; 32],
    }
}

/// What opening a byte stream produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    plaintext: Vec<u8>,
    /// How it ended: `Ok(stop)` of the last call, or the error.
    end: Result<OpenStop, TlsError>,
}

/// Opens `wire` delivered in pieces ending at `splits`, consuming the
/// plaintext after every call.
fn open_all(version: TlsVersion, cipher: Cipher, wire: &[u8], splits: &[usize]) -> Outcome {
    let Ok(mut opener) = Opener::from_raw(version, cipher, key(cipher), [3; 12], 0) else {
        panic!("opener refused a valid key");
    };
    let mut buf = vec![0u8; BUF_BYTES];
    let mut plaintext = Vec::new();
    let (mut filled, mut from) = (0, 0);
    let mut end = Ok(OpenStop::NeedMore);
    'pieces: for piece_end in prefix_ends(splits, wire.len()) {
        // A piece larger than the free room goes in as several reads.
        while from < piece_end {
            let n = (piece_end - from).min(buf.len() - filled);
            assert!(n > 0, "no room: {filled} bytes held");
            buf[filled..filled + n].copy_from_slice(&wire[from..from + n]);
            from += n;
            filled += n;
            match opener.open(&mut buf, 0, filled) {
                Ok(opened) => {
                    assert!(opened.plain_end <= opened.filled && opened.filled <= filled);
                    plaintext.extend_from_slice(&buf[..opened.plain_end]);
                    buf.copy_within(opened.plain_end..opened.filled, 0);
                    filled = opened.filled - opened.plain_end;
                    // Only a record not complete yet is held (after a
                    // KeyUpdate, the records under the next key are).
                    assert!(
                        opened.stop != OpenStop::NeedMore || filled < MAX_RECORD_BYTES,
                        "holds {filled} bytes of one record"
                    );
                    end = Ok(opened.stop);
                    if opened.stop != OpenStop::NeedMore {
                        break 'pieces;
                    }
                }
                Err(e) => {
                    end = Err(e);
                    break 'pieces;
                }
            }
        }
    }
    Outcome { plaintext, end }
}

/// Same end whole and split; on error, the split run may have handed out
/// a prefix of the plaintext before the failing record (the whole run
/// fails before handing out any of the same call's plaintext).
fn assert_same_outcome(whole: &Outcome, split: &Outcome, len: usize) {
    assert_eq!(whole.end, split.end, "split-dependent end ({len} bytes)");
    match whole.end {
        Ok(_) => assert_eq!(
            whole.plaintext, split.plaintext,
            "split-dependent plaintext"
        ),
        Err(_) => {
            let n = whole.plaintext.len().min(split.plaintext.len());
            assert_eq!(
                whole.plaintext[..n],
                split.plaintext[..n],
                "plaintexts before the error disagree"
            );
        }
    }
}

/// Reads a program of records off `data`, seals it, and checks it opens
/// to what was sealed, whole and split.
fn fuzz_sealed(version: TlsVersion, cipher: Cipher, data: &[u8]) {
    let Ok(mut sealer) = Sealer::from_raw(version, cipher, key(cipher), [3; 12], 0) else {
        panic!("sealer refused a valid key");
    };
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut expected_end = Ok(OpenStop::NeedMore);
    let mut ended = false;
    let mut out = vec![0u8; 4 * 1024];
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        let (typ, content): (u8, Vec<u8>) = match op % 8 {
            0..=4 => {
                let len = usize::from(arg) * usize::from(op / 8 + 1) % 3000;
                (
                    content_type::APPLICATION_DATA,
                    (0..len).map(|i| i as u8 ^ op).collect(),
                )
            }
            5 => (content_type::ALERT, vec![1 + arg % 2, arg / 2 % 4 * 30]),
            6 => (content_type::HANDSHAKE, vec![24, 0, 0, 1, arg % 3]),
            _ => {
                // Corrupt one byte of what was sealed so far.
                let at = usize::from(arg) * 7 % wire.len().max(1);
                if let Some(b) = wire.get_mut(at) {
                    *b ^= 1 << (op % 8);
                    ended = true;
                    expected_end = Err(TlsError::DecryptFailed);
                }
                continue;
            }
        };
        let Ok(n) = sealer.seal_control(typ, &content, &mut out) else {
            panic!("sealing {} bytes failed", content.len());
        };
        wire.extend_from_slice(&out[..n]);
        if ended {
            continue;
        }
        match typ {
            content_type::APPLICATION_DATA => expected.extend_from_slice(&content),
            content_type::ALERT => {
                let [level, description] = [content[0], content[1]];
                let ignored = description == 90 || (version == TlsVersion::Tls12 && level == 1);
                if description == 0 {
                    expected_end = Ok(OpenStop::PeerClosed);
                    ended = true;
                } else if !ignored {
                    expected_end = Err(TlsError::PeerAlert { level, description });
                    ended = true;
                }
            }
            _ => {
                expected_end = match (version, content[4]) {
                    (TlsVersion::Tls12, _) => Err(TlsError::Renegotiation),
                    (TlsVersion::Tls13, r @ (0 | 1)) => {
                        Ok(OpenStop::KeyUpdate { requested: r == 1 })
                    }
                    (TlsVersion::Tls13, _) => {
                        Err(TlsError::UnexpectedHandshake { handshake_type: 24 })
                    }
                };
                ended = true;
            }
        }
    }
    let whole = open_all(version, cipher, &wire, &[]);
    let split = open_all(version, cipher, &wire, &data_splits(data, 9));
    assert_same_outcome(&whole, &split, wire.len());
    // A flipped bit may land in a header (a different error) or in a
    // record already opened; otherwise the result is exactly the program.
    let corrupted = data.iter().step_by(2).any(|&op| op % 8 == 7);
    if !corrupted {
        assert_eq!(whole.end, expected_end, "{version:?} {cipher:?}");
        if whole.end.is_ok() {
            assert!(
                whole.plaintext == expected,
                "{version:?} {cipher:?}: plaintext differs"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_records_seeds() {
        // The committed seeds (`fuzz/corpus/tls_records/*.seed`).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tls_records");
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("corpus entry").path();
            if path.extension().is_some_and(|e| e == "seed") {
                let bytes = std::fs::read(&path).expect("read seed");
                let result = std::panic::catch_unwind(|| fuzz_tls_records(&bytes));
                assert!(result.is_ok(), "seed {} failed", path.display());
                seeds += 1;
            }
        }
        assert!(seeds > 0, "no seeds in {}", dir.display());
        for input in [
            &b""[..],
            b"\x16",
            b"\x16\x03\x01\x00\x00",
            b"GET / HTTP/1.1\r\n\r\n",
            &[0x17, 3, 3, 0x40, 0x11],
            &[0, 200, 5, 1, 6, 1, 1, 9, 7, 3],
            &[0xff; 600],
        ] {
            fuzz_tls_records(input);
        }
    }
}
