//! The cache of verified credentials: a browser sends the same
//! `Authorization: Basic …` on every request, and only the first one in
//! [`CACHE_TTL`] pays for argon2.
//!
//! Keys are HMAC-SHA256 of the whole header value under a random
//! per-process key, so the cache holds no password (nor anything an
//! attacker could test guesses against offline), and nobody outside the
//! process can choose keys that collide or fall into one shard. Only
//! successes are cached; failures go to the backoff table.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::policy::Identity;
use super::sharded::ShardedMap;

/// How long a verified `Authorization` value is trusted without checking
/// the password again (60 s). Credentials never change while the server
/// runs, so this bounds only how long a copied header outlives the cache
/// entry's first use.
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// Most cached credentials (10 000); when full, expired entries go first,
/// then the ones closest to expiry.
pub const CACHE_MAX_ENTRIES: usize = 10_000;

/// A cache key: HMAC-SHA256 of the header value.
pub(crate) type CacheKey = [u8; 32];

/// Verified credentials, shared by all workers (see [`super::sharded`]).
#[derive(Debug)]
pub(crate) struct CredentialCache {
    /// HMAC state with the key already absorbed; cloned per use.
    mac: Hmac<Sha256>,
    /// Key → (identity, when the entry expires).
    map: ShardedMap<CacheKey, (Identity, Instant)>,
    /// Origin for eviction ranks.
    epoch: Instant,
    ttl: Duration,
}

impl CredentialCache {
    /// An empty cache keyed with `secret` (random, from the caller).
    pub(crate) fn new(secret: &[u8; 32], ttl: Duration, epoch: Instant) -> Self {
        CredentialCache {
            // HMAC accepts keys of any length: this cannot fail.
            mac: <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
            map: ShardedMap::new(CACHE_MAX_ENTRIES),
            epoch,
            ttl,
        }
    }

    /// The key for an `Authorization` value.
    pub(crate) fn key(&self, header: &[u8]) -> CacheKey {
        let mut mac = self.mac.clone();
        mac.update(header);
        mac.finalize().into_bytes().into()
    }

    /// The identity cached under `key`, if not expired at `now`.
    pub(crate) fn get(&self, key: &CacheKey, now: Instant) -> Option<Identity> {
        let mut shard = self.map.shard(key[0]);
        match shard.get(key) {
            Some(&(identity, expires)) if now < expires => Some(identity),
            Some(_) => {
                shard.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers that `key` verified as `identity` at `now`.
    pub(crate) fn insert(&self, key: CacheKey, identity: Identity, now: Instant) {
        let expires = now + self.ttl;
        let mut shard = self.map.shard(key[0]);
        let epoch = self.epoch;
        self.map.insert_bounded(
            &mut shard,
            key,
            (identity, expires),
            |&(_, e)| e <= now,
            |&(_, e)| {
                u64::try_from(e.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
            },
        );
    }

    /// Cached entries (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserId;

    #[test]
    fn hit_until_expiry_and_keyed() {
        let t0 = Instant::now();
        let cache = CredentialCache::new(&[7; 32], CACHE_TTL, t0);
        let other = CredentialCache::new(&[8; 32], CACHE_TTL, t0);
        let key = cache.key(b"Basic abc");
        assert_ne!(
            key,
            other.key(b"Basic abc"),
            "the key depends on the secret"
        );
        assert_ne!(key, cache.key(b"Basic abd"));
        assert_eq!(cache.get(&key, t0), None);
        let alice = Identity::User(UserId(0));
        cache.insert(key, alice, t0);
        assert_eq!(
            cache.get(&key, t0 + CACHE_TTL - Duration::from_millis(1)),
            Some(alice)
        );
        assert_eq!(cache.get(&key, t0 + CACHE_TTL), None);
        assert_eq!(cache.len(), 0, "an expired entry is dropped when met");
    }

    #[test]
    fn bounded() {
        let t0 = Instant::now();
        let cache = CredentialCache::new(&[1; 32], CACHE_TTL, t0);
        for i in 0..(CACHE_MAX_ENTRIES as u32 + 500) {
            let key = cache.key(&i.to_le_bytes());
            cache.insert(
                key,
                Identity::Anonymous,
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert!(
            cache.len() <= CACHE_MAX_ENTRIES.div_ceil(16) * 16,
            "{}",
            cache.len()
        );
        // The newest entry is there.
        let newest = cache.key(&(CACHE_MAX_ENTRIES as u32 + 499).to_le_bytes());
        assert!(cache.get(&newest, t0 + Duration::from_secs(11)).is_some());
    }
}
