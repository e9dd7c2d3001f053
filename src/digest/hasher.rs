//! One streaming hash, fed the body slices as they pass through the
//! registered buffers: no copy, no buffering, no second pass.
//!
//! The implementation is RustCrypto's `sha2` / `sha1`, whose default build
//! detects the CPU's SHA extensions (SHA-NI) at run time on x86_64 and uses
//! them, with an AVX2 path for SHA-512; `benches/digest.rs` measures it
//! against `ring` and `aws-lc-rs` (BENCHMARKS.md has the figures and the
//! reason for the choice).
#![forbid(unsafe_code)]

use core::fmt;

use sha2::Digest as _;

use super::algorithm::{Algorithm, MAX_DIGEST_BYTES};

/// A digest value: an algorithm and its output bytes, held inline (no
/// allocation).
///
/// INVARIANT: `len == algorithm.digest_len()`, and `bytes[len..]` is zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DigestValue {
    algorithm: Algorithm,
    len: u8,
    bytes: [u8; MAX_DIGEST_BYTES],
}

impl DigestValue {
    /// A digest of `algorithm` with these bytes; `None` unless `bytes` has
    /// exactly the algorithm's digest length.
    ///
    /// ```
    /// use ringdrop::digest::{Algorithm, DigestValue};
    /// assert!(DigestValue::new(Algorithm::Sha256, &[0; 32]).is_some());
    /// assert!(DigestValue::new(Algorithm::Sha256, &[0; 31]).is_none());
    /// ```
    pub fn new(algorithm: Algorithm, bytes: &[u8]) -> Option<DigestValue> {
        if bytes.len() != algorithm.digest_len() {
            return None;
        }
        let mut out = [0u8; MAX_DIGEST_BYTES];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(DigestValue {
            algorithm,
            len: u8::try_from(bytes.len()).ok()?,
            bytes: out,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digest bytes (`algorithm().digest_len()` of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for DigestValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hex = String::new();
        crate::syntax::encode_hex_into(&mut hex, self.as_bytes());
        write!(f, "{:?}({hex})", self.algorithm)
    }
}

/// The running state of one algorithm.
#[derive(Clone)]
enum State {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

/// A streaming hash of one [`Algorithm`].
///
/// Calling order: [`new`](Hasher::new), then [`update`](Hasher::update)
/// with every byte of the message exactly once and in order (any slicing),
/// then [`finish`](Hasher::finish).
///
/// ```
/// use ringdrop::digest::{Algorithm, Hasher};
/// let mut h = Hasher::new(Algorithm::Sha256);
/// h.update(b"hello ");
/// h.update(b"world");
/// let d = h.finish();
/// assert_eq!(d.as_bytes()[..4], [0xb9, 0x4d, 0x27, 0xb9]);
/// ```
#[derive(Clone)]
pub struct Hasher {
    state: State,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher of `algorithm` with no bytes fed yet.
    pub fn new(algorithm: Algorithm) -> Hasher {
        let state = match algorithm {
            Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Hasher { state }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha1(_) => Algorithm::Sha1,
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds the next bytes of the message.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Sha1(h) => h.update(bytes),
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of every byte fed.
    pub fn finish(self) -> DigestValue {
        let algorithm = self.algorithm();
        match self.state {
            State::Sha1(h) => DigestValue::from_output(algorithm, &h.finalize()),
            State::Sha256(h) => DigestValue::from_output(algorithm, &h.finalize()),
            State::Sha512(h) => DigestValue::from_output(algorithm, &h.finalize()),
        }
    }
}

impl DigestValue {
    /// A hash function's output, whose length is the algorithm's by
    /// construction.
    fn from_output(algorithm: Algorithm, out: &[u8]) -> DigestValue {
        debug_assert_eq!(out.len(), algorithm.digest_len());
        let len = out.len().min(MAX_DIGEST_BYTES);
        let mut bytes = [0u8; MAX_DIGEST_BYTES];
        bytes[..len].copy_from_slice(&out[..len]);
        DigestValue {
            algorithm,
            len: u8::try_from(len).unwrap_or(0),
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180 / RFC 3174 test vectors ("abc" and the empty message).
    const VECTORS: &[(Algorithm, &[u8], &str)] = &[
        (
            Algorithm::Sha1,
            b"abc",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            Algorithm::Sha1,
            b"",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (
            Algorithm::Sha256,
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            Algorithm::Sha256,
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            Algorithm::Sha512,
            b"abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];

    fn hex(d: &DigestValue) -> String {
        let mut s = String::new();
        crate::syntax::encode_hex_into(&mut s, d.as_bytes());
        s
    }

    #[test]
    fn known_vectors_at_every_split() {
        for &(algorithm, message, expected) in VECTORS {
            for split in 0..=message.len() {
                let mut h = Hasher::new(algorithm);
                h.update(&message[..split]);
                h.update(&message[split..]);
                let d = h.finish();
                assert_eq!(d.algorithm(), algorithm);
                assert_eq!(d.as_bytes().len(), algorithm.digest_len());
                assert_eq!(hex(&d), expected, "{algorithm:?} {message:?} split {split}");
            }
        }
    }

    #[test]
    fn digest_value_checks_length() {
        for a in Algorithm::ALL {
            let zeros = [0u8; MAX_DIGEST_BYTES];
            let d = DigestValue::new(a, &zeros[..a.digest_len()]).unwrap();
            assert_eq!(d.as_bytes(), &zeros[..a.digest_len()]);
            assert!(DigestValue::new(a, &zeros[..a.digest_len() - 1]).is_none());
            assert!(DigestValue::new(a, &[0; MAX_DIGEST_BYTES + 1]).is_none());
        }
        let d = Hasher::new(Algorithm::Sha1).finish();
        assert!(format!("{d:?}").starts_with("Sha1(da39a3ee"));
    }

    proptest::proptest! {
        /// However a message is sliced, the digest is the one-shot digest.
        #[test]
        fn slicing_does_not_change_the_digest(
            message in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            cuts in proptest::collection::vec(0usize..600, 0..8),
        ) {
            for algorithm in Algorithm::ALL {
                let mut whole = Hasher::new(algorithm);
                whole.update(&message);
                let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(message.len())).collect();
                cuts.sort_unstable();
                let mut sliced = Hasher::new(algorithm);
                let mut prev = 0;
                for cut in cuts.into_iter().chain([message.len()]) {
                    sliced.update(&message[prev..cut]);
                    prev = cut;
                }
                proptest::prop_assert_eq!(whole.finish(), sliced.finish());
            }
        }
    }
}
