//! Credential checks: argon2id passwords (PHC strings) and SHA-256 bearer
//! tokens, both compared in constant time.
//!
//! Not sans-IO in one place only: [`hash_password`] draws its salt from the
//! operating system. Password verification is pure but costly by design
//! (CPU time and the hash's memory cost; BENCHMARKS.md "Access control"
//! has what one check takes): it runs on the verification pool
//! ([`super::verifier`]), never on an io_uring worker.
#![forbid(unsafe_code)]

use core::fmt;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use password_hash::rand_core::OsRng;
use password_hash::{PasswordHash, SaltString};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Longest password `ringdrop hash-password` accepts, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why `hash-password` could not hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPasswordError {
    /// The password is empty.
    Empty,
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    TooLong,
    /// The operating system's random source failed, or argon2 refused.
    Failed,
}

impl fmt::Display for HashPasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashPasswordError::Empty => f.write_str("the password is empty"),
            HashPasswordError::TooLong => {
                write!(f, "the password is longer than {MAX_PASSWORD_BYTES} bytes")
            }
            HashPasswordError::Failed => f.write_str("hashing failed (no OS randomness?)"),
        }
    }
}

impl std::error::Error for HashPasswordError {}

/// Hashes `password` for `--user NAME:HASH`: argon2id, version 0x13, with
/// the `argon2` crate's default parameters — m = 19 MiB, t = 2, p = 1, the
/// first of OWASP's recommended argon2id configurations — and a random
/// 16-byte salt from the operating system. One check costs a deliberate
/// amount of one core's time and 19 MiB, once per client per cache
/// lifetime; an attacker pays it on every guess.
///
/// ```
/// let phc = ringdrop::auth::hash_password(b"hunter2").unwrap();
/// assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert!(ringdrop::auth::verify_password(&phc, b"hunter2"));
/// assert!(!ringdrop::auth::verify_password(&phc, b"hunter3"));
/// ```
pub fn hash_password(password: &[u8]) -> Result<String, HashPasswordError> {
    if password.is_empty() {
        return Err(HashPasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(HashPasswordError::TooLong);
    }
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    password_hash::rand_core::RngCore::try_fill_bytes(&mut OsRng, &mut salt)
        .map_err(|_| HashPasswordError::Failed)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| HashPasswordError::Failed)?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| HashPasswordError::Failed)
}

/// True if `password` matches the argon2id PHC string `phc`, computed with
/// the parameters the string names and compared in constant time. False
/// for a string that does not parse. Costly: call it on the verification
/// pool.
pub fn verify_password(phc: &str, password: &[u8]) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(password, &hash).is_ok(),
        Err(_) => false,
    }
}

/// The SHA-256 of a bearer token, as the token file stores it.
pub fn token_digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The index of `digest` in `digests`, comparing with every entry in
/// constant time (the work does not depend on where, or whether, it
/// matches).
///
/// ```
/// use ringdrop::auth::{find_token, token_digest};
/// let digests = [token_digest(b"a"), token_digest(b"b")];
/// assert_eq!(find_token(&digests, &token_digest(b"b")), Some(1));
/// assert_eq!(find_token(&digests, &token_digest(b"c")), None);
/// ```
pub fn find_token(digests: &[[u8; 32]], digest: &[u8; 32]) -> Option<usize> {
    let mut found = subtle::Choice::from(0);
    let mut index = 0u64;
    for (i, candidate) in digests.iter().enumerate() {
        let equal = candidate.ct_eq(digest);
        index.conditional_assign(&(i as u64), equal);
        found |= equal;
    }
    bool::from(found).then(|| usize::try_from(index).unwrap_or(usize::MAX))
}

/// A cheap argon2id hash (m = 8 KiB, t = 1) with a fixed salt, so tests
/// and benchmarks of everything around the check run fast.
#[cfg(test)]
pub(crate) fn cheap_hash(password: &[u8]) -> String {
    let params = argon2::Params::new(8, 1, 1, None).unwrap_or_default();
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"fixed salt 16 by").unwrap_or_else(|_| unreachable!());
    argon
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_hash_verifies() {
        let phc = cheap_hash(b"pw");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(verify_password(&phc, b"pw"));
        assert!(!verify_password(&phc, b"pW"));
    }

    #[test]
    fn hash_password_limits() {
        assert_eq!(hash_password(b""), Err(HashPasswordError::Empty));
        let long = vec![b'x'; MAX_PASSWORD_BYTES + 1];
        assert_eq!(hash_password(&long), Err(HashPasswordError::TooLong));
    }

    #[test]
    fn every_hash_has_its_own_salt_and_passes_the_rule_parser() {
        let a = hash_password(b"pw").unwrap();
        let b = hash_password(b"pw").unwrap();
        assert_ne!(a, b);
        assert!(crate::auth::parse_user(&format!("u:{a}")).is_ok());
    }

    #[test]
    fn verify_rejects_garbage() {
        assert!(!verify_password("", b"x"));
        assert!(!verify_password("$argon2id$v=19$m=8,t=1,p=1$AAAA", b"x"));
    }

    #[test]
    fn find_token_picks_the_right_one() {
        let digests: Vec<[u8; 32]> = (0..20u8).map(|i| token_digest(&[i])).collect();
        for i in 0..20u8 {
            assert_eq!(
                find_token(&digests, &token_digest(&[i])),
                Some(usize::from(i))
            );
        }
        assert_eq!(find_token(&[], &token_digest(b"x")), None);
    }
}
