//! The tus 1.0.0 checksum extension: `Upload-Checksum: <algorithm> <base64>`
//! on a PATCH, checked over that request's bytes.
#![forbid(unsafe_code)]

use super::error::DigestError;
use super::hasher::{DigestValue, Hasher};

/// The checksum check of one tus PATCH: the same calling order as
/// [`UploadDigest`](super::UploadDigest) (made with the head, `update`
/// with each decoded body byte once, `finish` before the offset moves).
/// The header is parsed by [`resumable::Checksum`](crate::resumable::Checksum),
/// whose [`verifier`](crate::resumable::Checksum::verifier) makes this.
///
/// ```
/// use ringdrop::digest::{Algorithm, DigestError};
/// use ringdrop::resumable::Checksum;
/// // sha1("hello")
/// let sum = Checksum::parse(b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=").unwrap();
/// let mut c = sum.verifier();
/// c.update(b"hello");
/// assert_eq!(c.finish(), Ok(()));
/// let mut c = sum.verifier();
/// c.update(b"hellO");
/// assert_eq!(c.finish(), Err(DigestError::ChecksumMismatch { algorithm: Algorithm::Sha1 }));
/// ```
#[derive(Debug, Clone)]
pub struct ChunkChecksum {
    expected: DigestValue,
    hasher: Hasher,
}

impl ChunkChecksum {
    /// A check that the chunk's bytes hash to `expected`.
    pub fn expecting(expected: DigestValue) -> ChunkChecksum {
        ChunkChecksum {
            expected,
            hasher: Hasher::new(expected.algorithm()),
        }
    }

    /// Feeds the next decoded body bytes.
    pub fn update(&mut self, body: &[u8]) {
        self.hasher.update(body);
    }

    /// `Err(ChecksumMismatch)` (460) unless the bytes fed match.
    pub fn finish(self) -> Result<(), DigestError> {
        let got = self.hasher.finish();
        if got == self.expected {
            Ok(())
        } else {
            Err(DigestError::ChecksumMismatch {
                algorithm: got.algorithm(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    #[test]
    fn empty_chunk_checks() {
        let empty_sha1 = Hasher::new(Algorithm::Sha1).finish();
        assert_eq!(ChunkChecksum::expecting(empty_sha1).finish(), Ok(()));
        let mut c = ChunkChecksum::expecting(empty_sha1);
        c.update(b"x");
        assert_eq!(
            c.finish(),
            Err(DigestError::ChecksumMismatch {
                algorithm: Algorithm::Sha1
            })
        );
    }
}
