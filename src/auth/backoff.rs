//! Per-peer backoff: after [`BACKOFF_FREE_FAILURES`] failed sign-ins from
//! one address, its further password checks are refused (429 with
//! `Retry-After`) for a time that doubles with every failure, up to
//! [`BACKOFF_MAX`]. Refused attempts cost a hash-map lookup, never an
//! argon2 check; other peers, and this peer's already verified (cached)
//! credentials, are not affected.
//!
//! IPv6 peers are grouped by their /64 prefix, which one subscriber or one
//! host usually controls whole: one attacker cannot take 2^64 fresh
//! addresses to guess on.
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::sharded::ShardedMap;

/// Failed sign-ins a peer may make before backoff starts (5).
pub const BACKOFF_FREE_FAILURES: u32 = 5;

/// The first refusal period, after the last free failure (1 s); each
/// further failure doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// The longest refusal period (60 s).
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// A peer's failures are forgotten this long after its last one (15 min).
pub const BACKOFF_FORGET: Duration = Duration::from_secs(15 * 60);

/// Most peers tracked (10 000); when full, forgotten peers go first, then
/// the one whose last failure is oldest.
pub const BACKOFF_MAX_PEERS: usize = 10_000;

/// Password checks one peer may have queued or running at once (4): the
/// pool's queue is shared, and one peer must not fill it. Beyond it → 503.
pub const MAX_CHECKS_PER_PEER: u32 = 4;

/// A peer: an IPv4 address, or an IPv6 /64 (IPv4-mapped IPv6 counts as
/// IPv4).
pub(crate) type PeerKey = [u8; 16];

/// The table key for `peer`.
pub(crate) fn peer_key(peer: IpAddr) -> PeerKey {
    match peer {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                octets
            }
        },
    }
}

/// A byte that spreads peers over shards.
fn selector(key: &PeerKey) -> u8 {
    key.iter().fold(0u8, |acc, &b| acc.rotate_left(3) ^ b)
}

#[derive(Debug, Clone, Copy)]
struct PeerState {
    /// Failures since the last success (or since forgotten).
    failures: u32,
    /// When the last failure happened.
    last_failure: Instant,
    /// Password checks refused until then.
    blocked_until: Option<Instant>,
    /// Checks queued or running.
    in_flight: u32,
}

/// Where a peer stands when it starts a password check: the verification
/// queue serves clean peers first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// No recent failure and no other check in flight.
    Clean,
    /// Recent failures, or another check already queued or running.
    Suspect,
}

/// Why a peer may not start a password check now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// In backoff: try again after this long (429).
    Throttled(Duration),
    /// Already [`MAX_CHECKS_PER_PEER`] checks in flight (503).
    TooManyInFlight,
}

/// The per-peer failure table, shared by all workers.
#[derive(Debug)]
pub(crate) struct Backoff {
    map: ShardedMap<PeerKey, PeerState>,
    epoch: Instant,
}

impl Backoff {
    /// An empty table; `epoch` is any instant at or before the first use.
    pub(crate) fn new(epoch: Instant) -> Self {
        Backoff {
            map: ShardedMap::new(BACKOFF_MAX_PEERS),
            epoch,
        }
    }

    /// Starts a password check for `peer` at `now`, or says why not. On
    /// `Ok`, the caller must call [`Backoff::finish`] exactly once.
    pub(crate) fn start(&self, peer: PeerKey, now: Instant) -> Result<Standing, Refused> {
        let mut shard = self.map.shard(selector(&peer));
        if let Some(state) = shard.get_mut(&peer) {
            if let Some(until) = state.blocked_until.filter(|&u| now < u) {
                return Err(Refused::Throttled(until - now));
            }
            if state.in_flight >= MAX_CHECKS_PER_PEER {
                return Err(Refused::TooManyInFlight);
            }
            let forgotten = now.saturating_duration_since(state.last_failure) >= BACKOFF_FORGET;
            let clean = state.in_flight == 0 && (state.failures == 0 || forgotten);
            state.in_flight += 1;
            return Ok(if clean {
                Standing::Clean
            } else {
                Standing::Suspect
            });
        }
        let fresh = PeerState {
            failures: 0,
            last_failure: now,
            blocked_until: None,
            in_flight: 1,
        };
        self.insert(&mut shard, peer, fresh, now);
        Ok(Standing::Clean)
    }

    /// Ends a check begun with [`Backoff::start`]: `Some(true)` verified,
    /// `Some(false)` failed, `None` abandoned (the client went away).
    pub(crate) fn finish(&self, peer: PeerKey, outcome: Option<bool>, now: Instant) {
        let mut shard = self.map.shard(selector(&peer));
        let Some(state) = shard.get_mut(&peer) else {
            // Evicted meanwhile: count a failure afresh.
            drop(shard);
            if outcome == Some(false) {
                self.failure(peer, now);
            }
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        match outcome {
            Some(true) => {
                state.failures = 0;
                state.blocked_until = None;
            }
            Some(false) => record(state, now),
            None => {}
        }
        if state.in_flight == 0 && state.failures == 0 {
            shard.remove(&peer);
        }
    }

    /// Counts a failure that needed no password check (a wrong token, a
    /// malformed header, a Basic header when no user exists).
    pub(crate) fn failure(&self, peer: PeerKey, now: Instant) {
        let mut shard = self.map.shard(selector(&peer));
        if let Some(state) = shard.get_mut(&peer) {
            record(state, now);
            return;
        }
        let mut state = PeerState {
            failures: 0,
            last_failure: now,
            blocked_until: None,
            in_flight: 0,
        };
        record(&mut state, now);
        self.insert(&mut shard, peer, state, now);
    }

    fn insert(
        &self,
        shard: &mut std::collections::HashMap<PeerKey, PeerState>,
        peer: PeerKey,
        state: PeerState,
        now: Instant,
    ) {
        let epoch = self.epoch;
        self.map.insert_bounded(
            shard,
            peer,
            state,
            |s| s.in_flight == 0 && now.saturating_duration_since(s.last_failure) >= BACKOFF_FORGET,
            |s| {
                let since = s.last_failure.saturating_duration_since(epoch).as_millis();
                u64::try_from(since).unwrap_or(u64::MAX)
            },
        );
    }

    /// Peers tracked (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Counts one failure at `now` and sets the refusal period.
fn record(state: &mut PeerState, now: Instant) {
    if now.saturating_duration_since(state.last_failure) >= BACKOFF_FORGET {
        state.failures = 0;
    }
    state.failures = state.failures.saturating_add(1);
    state.last_failure = now;
    if let Some(over) = state.failures.checked_sub(BACKOFF_FREE_FAILURES) {
        // 1 s, 2 s, 4 s … capped; the shift is bounded so it cannot overflow.
        let delay = BACKOFF_BASE
            .checked_mul(1u32 << over.min(16))
            .map_or(BACKOFF_MAX, |d| d.min(BACKOFF_MAX));
        state.blocked_until = Some(now + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> PeerKey {
        peer_key(s.parse().unwrap())
    }

    #[test]
    fn peer_keys() {
        assert_eq!(key("1.2.3.4"), key("::ffff:1.2.3.4"));
        assert_eq!(key("2001:db8::1"), key("2001:db8::ffff:1"));
        assert_ne!(key("2001:db8:0:1::1"), key("2001:db8:0:2::1"));
        assert_ne!(key("1.2.3.4"), key("1.2.3.5"));
    }

    #[test]
    fn backs_off_after_free_failures_doubling_to_the_cap() {
        let t0 = Instant::now();
        let b = Backoff::new(t0);
        let p = key("10.0.0.1");
        let mut now = t0;
        for n in 0..BACKOFF_FREE_FAILURES - 1 {
            let standing = if n == 0 {
                Standing::Clean
            } else {
                Standing::Suspect
            };
            assert_eq!(b.start(p, now), Ok(standing));
            b.finish(p, Some(false), now);
        }
        assert_eq!(b.start(p, now), Ok(Standing::Suspect));
        b.finish(p, Some(false), now);
        // The last free failure starts the first period.
        assert_eq!(b.start(p, now), Err(Refused::Throttled(BACKOFF_BASE)));
        // Another peer is unaffected.
        assert_eq!(b.start(key("10.0.0.2"), now), Ok(Standing::Clean));
        let mut expect = BACKOFF_BASE;
        for _ in 0..10 {
            now += expect;
            assert_eq!(b.start(p, now), Ok(Standing::Suspect));
            b.finish(p, Some(false), now);
            expect = (expect * 2).min(BACKOFF_MAX);
            assert_eq!(b.start(p, now), Err(Refused::Throttled(expect)));
        }
        assert_eq!(expect, BACKOFF_MAX);
        // A success resets.
        now += expect;
        assert_eq!(b.start(p, now), Ok(Standing::Suspect));
        b.finish(p, Some(true), now);
        assert_eq!(b.start(p, now), Ok(Standing::Clean));
    }

    #[test]
    fn failures_are_forgotten() {
        let t0 = Instant::now();
        let b = Backoff::new(t0);
        let p = key("10.0.0.1");
        for _ in 0..BACKOFF_FREE_FAILURES {
            b.failure(p, t0);
        }
        assert!(matches!(b.start(p, t0), Err(Refused::Throttled(_))));
        let later = t0 + BACKOFF_FORGET;
        b.failure(p, later);
        assert_eq!(
            b.start(p, later),
            Ok(Standing::Suspect),
            "one failure after forgetting"
        );
    }

    #[test]
    fn in_flight_is_bounded_and_released() {
        let t0 = Instant::now();
        let b = Backoff::new(t0);
        let p = key("10.0.0.1");
        for n in 0..MAX_CHECKS_PER_PEER {
            let standing = if n == 0 {
                Standing::Clean
            } else {
                Standing::Suspect
            };
            assert_eq!(
                b.start(p, t0),
                Ok(standing),
                "a second check at once is suspect"
            );
        }
        assert_eq!(b.start(p, t0), Err(Refused::TooManyInFlight));
        for _ in 0..MAX_CHECKS_PER_PEER {
            b.finish(p, None, t0);
        }
        assert_eq!(b.len(), 0, "a peer with nothing to remember is dropped");
    }

    #[test]
    fn bounded_table() {
        let t0 = Instant::now();
        let b = Backoff::new(t0);
        for i in 0..(BACKOFF_MAX_PEERS as u32 + 1000) {
            b.failure(peer_key(IpAddr::from(i.to_be_bytes())), t0);
        }
        assert!(b.len() <= BACKOFF_MAX_PEERS.div_ceil(16) * 16);
    }
}
