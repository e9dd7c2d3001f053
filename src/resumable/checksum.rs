//! `Upload-Checksum` (tus 1.0 checksum extension): `<algorithm> <base64
//! digest>` for one chunk, parsed with the head (a malformed or unsupported
//! one is refused before `100 Continue`). The algorithms are those of
//! [`Algorithm`] (every one ringdrop advertises in
//! `Tus-Checksum-Algorithm`), and the chunk's bytes are verified as they
//! pass by the [`ChunkChecksum`] that [`Checksum::verifier`] makes: one
//! parser, one hashing path.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::error::{Field, ResumableError};
use crate::digest::algorithm::MAX_DIGEST_BYTES;
use crate::digest::{Algorithm, ChunkChecksum, DigestValue, Hasher};
use crate::syntax::trim_ows;

/// A parsed `Upload-Checksum`: the algorithm and the expected digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum(DigestValue);

impl Checksum {
    /// Parses `<algorithm> <base64>`: an algorithm of
    /// [`Algorithm::tus_name`] (`sha1`, `sha256`, `sha512`;
    /// case-insensitive), one space, the padded standard-alphabet base64 of
    /// a digest of the algorithm's length.
    ///
    /// Errors (both 400): another algorithm → `UnsupportedChecksumAlgorithm`;
    /// anything else malformed → `InvalidHeader`.
    ///
    /// ```
    /// use ringdrop::digest::Algorithm;
    /// use ringdrop::resumable::Checksum;
    /// // sha1("hello")
    /// let c = Checksum::parse(b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=").unwrap();
    /// assert_eq!(c.algorithm(), Algorithm::Sha1);
    /// let mut v = c.verifier();
    /// v.update(b"hel");
    /// v.update(b"lo");
    /// assert!(v.finish().is_ok());
    /// assert!(Checksum::parse(b"md5 XUFAKrxLKna5cZ2REBfFkg==").is_err());
    /// ```
    pub fn parse(value: &[u8]) -> Result<Checksum, ResumableError> {
        let invalid = ResumableError::InvalidHeader {
            field: Field::UploadChecksum,
        };
        let value = trim_ows(value);
        let space = memchr::memchr(b' ', value).ok_or(invalid)?;
        let (name, encoded) = (&value[..space], &value[space + 1..]);
        let algorithm = Algorithm::ALL
            .into_iter()
            .find(|a| name.eq_ignore_ascii_case(a.tus_name().as_bytes()));
        let algorithm = match algorithm {
            Some(a) => a,
            None if !name.is_empty() && name.iter().all(u8::is_ascii_alphanumeric) => {
                return Err(ResumableError::UnsupportedChecksumAlgorithm)
            }
            None => return Err(invalid),
        };
        // The longest valid encoding is 88 characters (64 bytes); refuse
        // longer ones before decoding anything.
        if encoded.len() > 88 {
            return Err(invalid);
        }
        let mut digest = [0u8; MAX_DIGEST_BYTES + 3];
        let n = STANDARD
            .decode_slice(encoded, &mut digest)
            .map_err(|_| invalid)?;
        DigestValue::new(algorithm, &digest[..n])
            .map(Checksum)
            .ok_or(invalid)
    }

    /// The checksum of `data` with `algorithm` (what a client sends).
    pub fn compute(algorithm: Algorithm, data: &[u8]) -> Checksum {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(data);
        Checksum(hasher.finish())
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }

    /// The expected digest.
    pub fn digest(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The header value, `<algorithm> <base64>`.
    pub fn to_header(&self) -> String {
        let mut out = String::from(self.algorithm().tus_name());
        out.push(' ');
        STANDARD.encode_string(self.digest(), &mut out);
        out
    }

    /// The streaming check of a chunk against this checksum (`update` with
    /// every body byte in order, then `finish`: a mismatch answers 460 and
    /// the offset does not move).
    pub fn verifier(&self) -> ChunkChecksum {
        ChunkChecksum::expecting(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let invalid = Err(ResumableError::InvalidHeader {
            field: Field::UploadChecksum,
        });
        let unsupported = Err(ResumableError::UnsupportedChecksumAlgorithm);
        let sha1_hello = Checksum::compute(Algorithm::Sha1, b"hello");
        let sha256_hello = Checksum::compute(Algorithm::Sha256, b"hello");
        let sha512_hello = Checksum::compute(Algorithm::Sha512, b"hello");
        let sha512_header = sha512_hello.to_header();
        let table: &[(&[u8], Result<Checksum, ResumableError>)] = &[
            (b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=", Ok(sha1_hello)),
            (b" SHA1 qvTGHdzF6KLavt4PO0gs2a6pQ00= ", Ok(sha1_hello)),
            (
                b"sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
                Ok(sha256_hello),
            ),
            (sha512_header.as_bytes(), Ok(sha512_hello)),
            (b"md5 XUFAKrxLKna5cZ2REBfFkg==", unsupported),
            (b"crc32 AAAAAA==", unsupported),
            (b"sha1", invalid),
            (b"sha1 ", invalid),
            (b" qvTGHdzF6KLavt4PO0gs2a6pQ00=", invalid),
            (b"sha1  qvTGHdzF6KLavt4PO0gs2a6pQ00=", invalid),
            (b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00", invalid), // no padding
            (
                b"sha1 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
                invalid,
            ), // 32 bytes
            (b"sha256 qvTGHdzF6KLavt4PO0gs2a6pQ00=", invalid), // 20 bytes
            (
                b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=qvTGHdzF6KLavt4PO0gs2a6pQ00=",
                invalid,
            ),
            (b"sh\xff1 AA==", invalid),
        ];
        for (input, want) in table {
            assert_eq!(
                &Checksum::parse(input),
                want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(sha1_hello.to_header(), "sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=");
    }

    #[test]
    fn every_advertised_algorithm_parses() {
        let names: Vec<&str> = crate::resumable::headers::TUS_CHECKSUM_ALGORITHMS
            .split(',')
            .collect();
        let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.tus_name()).collect();
        assert_eq!(names, all, "advertise every algorithm, no other");
        for name in names {
            let algorithm = Algorithm::from_tus_name(name.as_bytes()).unwrap();
            let value = format!(
                "{name} {}",
                STANDARD.encode(&[0u8; MAX_DIGEST_BYTES][..algorithm.digest_len()])
            );
            assert_eq!(
                Checksum::parse(value.as_bytes()).map(|c| c.algorithm()),
                Ok(algorithm),
                "{value}"
            );
        }
    }

    #[test]
    fn verifier_is_split_invariant_and_detects_mismatch() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for algorithm in Algorithm::ALL {
            let c = Checksum::compute(algorithm, &data);
            for split in [0, 1, 63, 64, 65, 999, 1000] {
                let mut v = c.verifier();
                v.update(&data[..split]);
                v.update(&data[split..]);
                assert_eq!(v.finish(), Ok(()));
            }
            let mut v = c.verifier();
            v.update(&data[1..]);
            assert!(v.finish().is_err());
        }
    }
}
