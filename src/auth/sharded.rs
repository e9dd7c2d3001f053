//! A bounded map split into independently locked shards, shared by the
//! credential cache and the per-peer backoff table.
//!
//! Why sharded `std::sync::Mutex`es rather than per-worker maps: a browser's
//! connections land on different workers (SO_REUSEPORT), so per-worker
//! caches would make it pay one argon2 check per worker, and per-worker
//! backoff would let an attacker multiply its free guesses by the worker
//! count. Each critical section is one hash-map operation (plus, when a
//! full shard must make room, one pass over that shard's at most
//! `capacity / SHARDS` entries); nothing is hashed, awaited or allocated
//! for long under a lock, so a worker never waits for long.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Number of shards: enough that workers on every core rarely meet on one.
const SHARDS: usize = 16;

/// A map of at most `capacity` entries (rounded up to a multiple of the
/// shard count), each shard behind its own lock.
#[derive(Debug)]
pub(crate) struct ShardedMap<K, V> {
    shards: Vec<Mutex<HashMap<K, V>>>,
    per_shard: usize,
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// An empty map for at most about `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        ShardedMap {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
        }
    }

    /// The locked shard for a key whose first byte (`selector`) is spread
    /// evenly: the caller passes a keyed hash byte or an address byte.
    pub(crate) fn shard(&self, selector: u8) -> MutexGuard<'_, HashMap<K, V>> {
        let shard = &self.shards[usize::from(selector) % SHARDS];
        // A panic while holding the lock cannot leave a HashMap half-updated
        // in a way that matters here; keep serving.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Inserts into a locked shard, first making room if it is full: every
    /// entry `stale` says may go is dropped, and if that frees nothing, the
    /// entry `rank` ranks lowest.
    pub(crate) fn insert_bounded(
        &self,
        shard: &mut HashMap<K, V>,
        key: K,
        value: V,
        stale: impl Fn(&V) -> bool,
        rank: impl Fn(&V) -> u64,
    ) where
        K: Clone,
    {
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, v| !stale(v));
            if shard.len() >= self.per_shard {
                let lowest = shard
                    .iter()
                    .min_by_key(|(_, v)| rank(v))
                    .map(|(k, _)| k.clone());
                if let Some(k) = lowest {
                    shard.remove(&k);
                }
            }
        }
        shard.insert(key, value);
    }

    /// Entries in all shards (for tests and bounds checks).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS as u8).map(|i| self.shard(i).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_evicts_stale_then_lowest() {
        let map: ShardedMap<u32, u64> = ShardedMap::new(SHARDS * 2);
        // All keys in shard 0.
        for k in 0..10u32 {
            let mut shard = map.shard(0);
            map.insert_bounded(&mut shard, k, u64::from(k), |v| *v == 3, |v| *v);
        }
        let shard = map.shard(0);
        assert_eq!(shard.len(), 2);
        assert!(shard.contains_key(&9));
        drop(shard);
        assert_eq!(map.len(), 2);
    }
}
