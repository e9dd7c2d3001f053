//! The hash algorithms ringdrop computes, and their names on the wire.
#![forbid(unsafe_code)]

/// A hash algorithm the streaming [`Hasher`](super::Hasher) computes.
///
/// SHA-256 and SHA-512 are the two algorithms RFC 9530 §5 registers as
/// "standard" for `Content-Digest` / `Repr-Digest`. SHA-1 is here only for
/// the tus checksum extension (`Upload-Checksum: sha1 …`), which clients
/// such as tus-js-client still send; RFC 9530 lists it (key `sha`) as
/// insecure, so the HTTP digest fields never accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// SHA-1 (tus `Upload-Checksum` only).
    Sha1,
    /// SHA-256: RFC 9530 key `sha-256`, tus name `sha256`.
    Sha256,
    /// SHA-512: RFC 9530 key `sha-512`, tus name `sha512`.
    Sha512,
}

/// The longest digest any [`Algorithm`] produces (SHA-512), in bytes.
pub const MAX_DIGEST_BYTES: usize = 64;

impl Algorithm {
    /// Every algorithm, weakest first.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The algorithms of the RFC 9530 fields, in the order a response lists
    /// them.
    pub const HTTP: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// Digest length in bytes.
    ///
    /// ```
    /// use ringdrop::digest::Algorithm;
    /// assert_eq!(Algorithm::Sha256.digest_len(), 32);
    /// ```
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// The RFC 9530 "Hash Algorithms for HTTP Digest Fields" key, for the
    /// algorithms the HTTP fields accept; `None` for SHA-1.
    ///
    /// ```
    /// use ringdrop::digest::Algorithm;
    /// assert_eq!(Algorithm::Sha512.http_key(), Some("sha-512"));
    /// assert_eq!(Algorithm::Sha1.http_key(), None);
    /// ```
    pub fn http_key(self) -> Option<&'static str> {
        match self {
            Algorithm::Sha1 => None,
            Algorithm::Sha256 => Some("sha-256"),
            Algorithm::Sha512 => Some("sha-512"),
        }
    }

    /// The algorithm an RFC 9530 dictionary key names, if ringdrop
    /// supports it. Keys are lowercase by RFC 8941's grammar, so the match
    /// is exact.
    pub fn from_http_key(key: &[u8]) -> Option<Algorithm> {
        match key {
            b"sha-256" => Some(Algorithm::Sha256),
            b"sha-512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The tus checksum-extension name (`sha1`, `sha256`, `sha512`), as
    /// `Tus-Checksum-Algorithm` lists it.
    pub fn tus_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm a tus `Upload-Checksum` names (case-sensitive, as the
    /// tus protocol writes them).
    pub fn from_tus_name(name: &[u8]) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.tus_name().as_bytes() == name)
    }

    /// One byte that names the algorithm in the stored (extended
    /// attribute) encoding. Never reuse a retired value.
    pub(crate) fn stored_id(self) -> u8 {
        match self {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        }
    }

    /// The inverse of [`stored_id`](Self::stored_id).
    pub(crate) fn from_stored_id(id: u8) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.stored_id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_tus_name(a.tus_name().as_bytes()), Some(a));
            assert_eq!(Algorithm::from_stored_id(a.stored_id()), Some(a));
            assert!(a.digest_len() <= MAX_DIGEST_BYTES);
            if let Some(key) = a.http_key() {
                assert_eq!(Algorithm::from_http_key(key.as_bytes()), Some(a));
            }
        }
        assert_eq!(Algorithm::from_http_key(b"SHA-256"), None);
        assert_eq!(Algorithm::from_http_key(b"sha"), None);
        assert_eq!(Algorithm::from_tus_name(b"SHA1"), None);
        assert_eq!(Algorithm::from_stored_id(0), None);
    }
}
