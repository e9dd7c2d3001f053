//! The digests kept with a stored file: a small versioned binary value
//! (written into an extended attribute by `storage::xattr`) that records
//! the file's size and modification time along with the digests, so a
//! file changed behind the server's back is never served a stale digest.
//!
//! Layout, version 1 (integers little-endian):
//!
//! ```text
//! 0      u8   version = 1
//! 1      u8   n, the number of digests (1..=3)
//! 2..10  u64  file size in bytes
//! 10..18 i64  mtime, seconds since the Unix epoch
//! 18..22 u32  mtime, nanoseconds (0..1e9)
//! 22..   n × (u8 algorithm id, digest bytes of that algorithm's length),
//!        algorithm ids strictly increasing
//! ```
//!
//! A value that is not exactly this (another version, a truncated or
//! padded value, an unknown algorithm) decodes to nothing, as does one
//! whose size or mtime differ from the file's: the file then simply has
//! no known digest. A change that keeps both the size and the mtime (the
//! same timestamp tick, or an mtime set back by `touch -d`) is not seen,
//! as with rsync's quick check.
#![forbid(unsafe_code)]

use super::algorithm::Algorithm;
use super::fields::DigestSet;
use super::hasher::DigestValue;

/// The first byte of the current encoding.
pub const STORED_VERSION: u8 = 1;

/// Bytes before the digests.
const HEADER_BYTES: usize = 22;

/// The longest encoded value: the header and one digest of every algorithm.
pub const MAX_STORED_BYTES: usize = HEADER_BYTES + 3 + 20 + 32 + 64;

/// What identifies the file content a digest was computed for: its size
/// and modification time, to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// mtime, whole seconds since the Unix epoch.
    pub mtime_sec: i64,
    /// mtime, nanoseconds within the second.
    pub mtime_nsec: u32,
}

/// Encodes `digests` for a file with `stamp`; `None` when there is no
/// digest to keep.
///
/// ```
/// use ringdrop::digest::{decode_stored, encode_stored, Algorithm, DigestSet, FileStamp, Hasher};
/// let mut set = DigestSet::default();
/// set.insert(Hasher::new(Algorithm::Sha256).finish());
/// let stamp = FileStamp { size: 0, mtime_sec: 1_700_000_000, mtime_nsec: 5 };
/// let value = encode_stored(&set, stamp).unwrap();
/// assert_eq!(decode_stored(&value, stamp), Some(set));
/// let touched = FileStamp { mtime_nsec: 6, ..stamp };
/// assert_eq!(decode_stored(&value, touched), None);
/// ```
pub fn encode_stored(digests: &DigestSet, stamp: FileStamp) -> Option<Vec<u8>> {
    let count = u8::try_from(digests.iter().count()).ok()?;
    if count == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(MAX_STORED_BYTES);
    out.push(STORED_VERSION);
    out.push(count);
    out.extend_from_slice(&stamp.size.to_le_bytes());
    out.extend_from_slice(&stamp.mtime_sec.to_le_bytes());
    out.extend_from_slice(&stamp.mtime_nsec.to_le_bytes());
    // `DigestSet::iter` yields algorithms weakest first, which is the
    // increasing order of their ids.
    for value in digests.iter() {
        out.push(value.algorithm().stored_id());
        out.extend_from_slice(value.as_bytes());
    }
    Some(out)
}

/// Decodes a stored value, and returns its digests only if it is a
/// well-formed current-version value recorded for exactly `stamp`.
pub fn decode_stored(value: &[u8], stamp: FileStamp) -> Option<DigestSet> {
    let (header, mut rest) = value.split_at_checked(HEADER_BYTES)?;
    if header[0] != STORED_VERSION {
        return None;
    }
    let count = header[1];
    let size = u64::from_le_bytes(header[2..10].try_into().ok()?);
    let mtime_sec = i64::from_le_bytes(header[10..18].try_into().ok()?);
    let mtime_nsec = u32::from_le_bytes(header[18..22].try_into().ok()?);
    let recorded = FileStamp {
        size,
        mtime_sec,
        mtime_nsec,
    };
    if recorded != stamp || count == 0 {
        return None;
    }
    let mut set = DigestSet::default();
    let mut last_id = 0u8;
    for _ in 0..count {
        let (&id, tail) = rest.split_first()?;
        if id <= last_id {
            return None;
        }
        last_id = id;
        let algorithm = Algorithm::from_stored_id(id)?;
        let (bytes, tail) = tail.split_at_checked(algorithm.digest_len())?;
        set.insert(DigestValue::new(algorithm, bytes)?);
        rest = tail;
    }
    rest.is_empty().then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Hasher;

    const STAMP: FileStamp = FileStamp {
        size: 1 << 40,
        mtime_sec: -5,
        mtime_nsec: 999_999_999,
    };

    fn all() -> DigestSet {
        let mut set = DigestSet::default();
        for a in Algorithm::ALL {
            set.insert(Hasher::new(a).finish());
        }
        set
    }

    #[test]
    fn round_trip_and_exact_length() {
        let value = encode_stored(&all(), STAMP).unwrap();
        assert_eq!(value.len(), MAX_STORED_BYTES);
        assert_eq!(decode_stored(&value, STAMP), Some(all()));
        assert_eq!(encode_stored(&DigestSet::default(), STAMP), None);
    }

    #[test]
    fn anything_else_decodes_to_nothing() {
        let value = encode_stored(&all(), STAMP).unwrap();
        let cases: Vec<(&str, Vec<u8>, FileStamp)> = vec![
            (
                "size changed",
                value.clone(),
                FileStamp {
                    size: STAMP.size + 1,
                    ..STAMP
                },
            ),
            (
                "mtime s changed",
                value.clone(),
                FileStamp {
                    mtime_sec: 0,
                    ..STAMP
                },
            ),
            (
                "mtime ns changed",
                value.clone(),
                FileStamp {
                    mtime_nsec: 0,
                    ..STAMP
                },
            ),
            ("empty", vec![], STAMP),
            ("truncated", value[..value.len() - 1].to_vec(), STAMP),
            ("padded", [&value[..], &[0]].concat(), STAMP),
            ("version 2", [&[2], &value[1..]].concat(), STAMP),
            (
                "zero count",
                [&value[..1], &[0], &value[2..HEADER_BYTES]].concat(),
                STAMP,
            ),
            (
                "count too high",
                [&value[..1], &[4], &value[2..]].concat(),
                STAMP,
            ),
        ];
        for (name, bytes, stamp) in cases {
            assert_eq!(decode_stored(&bytes, stamp), None, "{name}");
        }
        // Ids out of order, repeated, or unknown.
        let one = |id: u8, len: usize| {
            let mut v = encode_stored(&all(), STAMP).unwrap()[..HEADER_BYTES].to_vec();
            v[1] = 1;
            v.push(id);
            v.extend(vec![0; len]);
            v
        };
        assert!(decode_stored(&one(2, 32), STAMP).is_some());
        assert_eq!(decode_stored(&one(9, 32), STAMP), None);
        assert_eq!(decode_stored(&one(0, 32), STAMP), None);
        let mut twice = one(2, 32);
        twice[1] = 2;
        twice.push(2);
        twice.extend([0; 32]);
        assert_eq!(decode_stored(&twice, STAMP), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_values_never_panic(value in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let stamp = FileStamp { size: 0, mtime_sec: 0, mtime_nsec: 0 };
            if let Some(set) = decode_stored(&value, stamp) {
                proptest::prop_assert_eq!(encode_stored(&set, stamp), Some(value));
            }
        }
    }
}
