use std::future::Future as _;

use base64::Engine as _;
use futures_executor::block_on;
use futures_util::future::join_all;

use super::*;
use crate::auth::backoff::{BACKOFF_FREE_FAILURES, MAX_CHECKS_PER_PEER};
use crate::auth::password::cheap_hash;
use crate::auth::rules::{parse_allow, parse_token_file, parse_user};

fn basic(user: &str, password: &str) -> Vec<u8> {
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {creds}").into_bytes()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const TOKEN_FILE: &str = "\
a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3 /ci/ upload 2031-01-01T00:00:00Z
";

/// alice and bob (passwords "alice-pw", "bob-pw", hashed with `phc`), the
/// token "123" (its SHA-256 above), one rule.
fn access_with(phc: fn(&[u8]) -> String, threads: usize) -> AccessConfig {
    let users = vec![
        parse_user(&format!("alice:{}", phc(b"alice-pw"))).unwrap(),
        parse_user(&format!("bob:{}", phc(b"bob-pw"))).unwrap(),
    ];
    let rules = vec![parse_allow("@users:/:read").unwrap()];
    let tokens = parse_token_file(TOKEN_FILE).unwrap();
    AccessConfig::new(users, rules, Some(tokens), threads).unwrap()
}

fn authenticator() -> Authenticator {
    Authenticator::new(&access_with(cheap_hash, 1)).unwrap()
}

#[test]
fn access_control_off_ignores_every_header() {
    let auth = Authenticator::new(&AccessConfig::default()).unwrap();
    for header in [&b"Basic !!"[..], b"Bearer x", b"garbage"] {
        let got = block_on(auth.authenticate(Some(header), ip("10.0.0.1")));
        assert_eq!(got, AuthOutcome::Identity(Identity::Anonymous));
    }
    assert!(auth.shared.queue.is_none(), "no users, no pool");
}

#[test]
fn outcomes() {
    let auth = authenticator();
    let peer = ip("10.0.0.1");
    let run = |header: Option<&[u8]>| block_on(auth.authenticate(header, peer));
    let alice = AuthOutcome::Identity(Identity::User(UserId(0)));
    let bob = AuthOutcome::Identity(Identity::User(UserId(1)));
    assert_eq!(run(None), AuthOutcome::Identity(Identity::Anonymous));
    assert_eq!(run(Some(&basic("alice", "alice-pw"))), alice);
    assert_eq!(run(Some(&basic("bob", "bob-pw"))), bob);
    assert_eq!(
        run(Some(&basic("bob", "alice-pw"))),
        AuthOutcome::Unauthenticated
    );
    assert_eq!(
        run(Some(&basic("carol", "alice-pw"))),
        AuthOutcome::Unauthenticated
    );
    assert_eq!(
        run(Some(&basic("alice", "bob-pw"))),
        AuthOutcome::Unauthenticated
    );
    assert_eq!(
        run(Some(b"Bearer 123")),
        AuthOutcome::Identity(Identity::Token(TokenId(0)))
    );
    assert_eq!(run(Some(b"Bearer 1234")), AuthOutcome::Unauthenticated);
    assert_eq!(run(Some(b"Digest x")), AuthOutcome::Unauthenticated);
}

#[test]
fn verified_basic_is_cached_and_failures_are_not() {
    let auth = authenticator();
    let peer = ip("10.0.0.1");
    let good = basic("alice", "alice-pw");
    let bad = basic("alice", "nope");
    block_on(auth.authenticate(Some(&bad), peer));
    assert_eq!(auth.shared.cache.len(), 0);
    block_on(auth.authenticate(Some(&good), peer));
    assert_eq!(auth.shared.cache.len(), 1);
    let key = auth.shared.cache.key(&good);
    assert_eq!(
        auth.shared.cache.get(&key, Instant::now()),
        Some(Identity::User(UserId(0)))
    );
}

#[test]
fn cache_ttl_zero_means_no_cache() {
    let auth = Authenticator::with_ttl(&access_with(cheap_hash, 1), Duration::ZERO).unwrap();
    let good = basic("alice", "alice-pw");
    let got = block_on(auth.authenticate(Some(&good), ip("10.0.0.1")));
    assert_eq!(got, AuthOutcome::Identity(Identity::User(UserId(0))));
    let key = auth.shared.cache.key(&good);
    assert_eq!(auth.shared.cache.get(&key, Instant::now()), None);
}

#[test]
fn a_guessing_peer_is_throttled_others_and_cached_credentials_are_not() {
    let auth = authenticator();
    let attacker = ip("10.0.0.66");
    let good = basic("alice", "alice-pw");
    // A browser on the attacker's address signed in before.
    block_on(auth.authenticate(Some(&good), attacker));
    for i in 0..BACKOFF_FREE_FAILURES {
        let got =
            block_on(auth.authenticate(Some(&basic("alice", &format!("guess{i}"))), attacker));
        assert_eq!(got, AuthOutcome::Unauthenticated, "guess {i}");
    }
    let got = block_on(auth.authenticate(Some(&basic("alice", "guess")), attacker));
    assert!(
        matches!(
            got,
            AuthOutcome::Throttled {
                retry_after_secs: 1
            }
        ),
        "{got:?}"
    );
    // Even the right password is not checked while throttled…
    let fresh = basic("bob", "bob-pw");
    let got = block_on(auth.authenticate(Some(&fresh), attacker));
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
    // …but cached credentials still work, and so does another peer.
    let got = block_on(auth.authenticate(Some(&good), attacker));
    assert_eq!(got, AuthOutcome::Identity(Identity::User(UserId(0))));
    let got = block_on(auth.authenticate(Some(&fresh), ip("10.0.0.7")));
    assert_eq!(got, AuthOutcome::Identity(Identity::User(UserId(1))));
}

#[test]
fn cheap_failures_count_too() {
    let auth = authenticator();
    let peer = ip("2001:db8::1");
    for _ in 0..BACKOFF_FREE_FAILURES {
        block_on(auth.authenticate(Some(b"Bearer wrong"), peer));
    }
    // The same /64.
    let got = block_on(auth.authenticate(Some(&basic("alice", "alice-pw")), ip("2001:db8::2")));
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
}

#[test]
fn one_peer_cannot_fill_the_queue() {
    // Real-cost hashes: no check finishes while the requests are submitted.
    let auth = Authenticator::new(&access_with(hash_password_or_panic, 1)).unwrap();
    let peer = ip("10.0.0.1");
    let headers: Vec<Vec<u8>> = (0..=MAX_CHECKS_PER_PEER)
        .map(|i| basic("alice", &format!("pw{i}")))
        .collect();
    let outcomes = block_on(join_all(
        headers.iter().map(|h| auth.authenticate(Some(h), peer)),
    ));
    let busy = outcomes
        .iter()
        .filter(|o| matches!(o, AuthOutcome::Busy { .. }))
        .count();
    assert_eq!(busy, 1, "{outcomes:?}");
    assert_eq!(auth.shared.backoff.len(), 1, "the failures are remembered");
}

#[test]
fn a_full_queue_answers_busy_at_once() {
    // Real-cost hashes, so the single pool thread cannot drain the queue
    // while the requests are submitted.
    let auth = Authenticator::new(&access_with(hash_password_or_panic, 1)).unwrap();
    let n = AUTH_QUEUE_PER_THREAD + 8;
    let headers: Vec<Vec<u8>> = (0..n).map(|i| basic("alice", &format!("pw{i}"))).collect();
    let peers: Vec<IpAddr> = (0..n).map(|i| IpAddr::from([10, 1, 0, i as u8])).collect();
    let outcomes = block_on(join_all(
        headers
            .iter()
            .zip(&peers)
            .map(|(h, p)| auth.authenticate(Some(h), *p)),
    ));
    let busy = outcomes
        .iter()
        .filter(|o| {
            **o == AuthOutcome::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            }
        })
        .count();
    assert!(busy >= n - AUTH_QUEUE_PER_THREAD - 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, AuthOutcome::Busy { .. } | AuthOutcome::Unauthenticated)));
}

fn hash_password_or_panic(p: &[u8]) -> String {
    crate::auth::hash_password(p).unwrap()
}

#[test]
fn an_abandoned_check_releases_its_slot() {
    let auth = authenticator();
    let peer = ip("10.0.0.1");
    for _ in 0..MAX_CHECKS_PER_PEER + 2 {
        let header = basic("alice", "alice-pw-wrong");
        let mut future = Box::pin(auth.authenticate(Some(&header), peer));
        // Poll once (the job is queued), then drop the future.
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let _ = future.as_mut().poll(&mut cx);
        drop(future);
    }
    let got = block_on(auth.authenticate(Some(&basic("alice", "alice-pw")), peer));
    assert_eq!(got, AuthOutcome::Identity(Identity::User(UserId(0))));
    assert_eq!(auth.shared.backoff.len(), 0);
}

#[test]
fn retry_after_rounds_up() {
    assert_eq!(ceil_secs(Duration::ZERO), 1);
    assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
    assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    assert_eq!(ceil_secs(Duration::from_secs(60)), 60);
}

#[test]
fn outcome_statuses() {
    let cases = [
        (AuthOutcome::Identity(Identity::Anonymous), None, None),
        (AuthOutcome::Unauthenticated, Some(401), None),
        (
            AuthOutcome::Busy {
                retry_after_secs: 1,
            },
            Some(503),
            Some(1),
        ),
        (
            AuthOutcome::Throttled {
                retry_after_secs: 8,
            },
            Some(429),
            Some(8),
        ),
    ];
    for (outcome, status, retry) in cases {
        assert_eq!(outcome.status().map(|s| s.as_u16()), status);
        assert_eq!(outcome.retry_after_secs(), retry);
        assert!(!outcome.kind().is_empty() && outcome.message().ends_with('.'));
    }
}

#[test]
fn shareable_across_workers() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let auth = authenticator();
    send_sync(&auth);
    send(&auth.authenticate(None, ip("10.0.0.1")));
}

#[test]
fn a_flood_from_failing_peers_does_not_keep_a_first_sign_in_out() {
    // Real-cost hashes, one pool thread: nothing drains while the flood is
    // submitted.
    let auth = Authenticator::new(&access_with(hash_password_or_panic, 1)).unwrap();
    let n = 2 * AUTH_QUEUE_PER_THREAD;
    let flooders: Vec<IpAddr> = (0..n).map(|i| IpAddr::from([10, 2, 0, i as u8])).collect();
    // Each flooder has failed once already (a cheap failure): suspect.
    for p in &flooders {
        block_on(auth.authenticate(Some(b"Bearer wrong"), *p));
    }
    let wrong: Vec<Vec<u8>> = (0..n)
        .map(|i| basic("alice", &format!("guess{i}")))
        .collect();
    let mut flood: Vec<_> = wrong
        .iter()
        .zip(&flooders)
        .map(|(h, p)| Box::pin(auth.authenticate(Some(h), *p)))
        .collect();
    // Poll each once: the first lane's worth is queued, the rest is refused.
    let waker = futures_util::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut refused = 0;
    flood.retain_mut(|f| match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(outcome) => {
            refused += usize::from(matches!(outcome, AuthOutcome::Busy { .. }));
            false
        }
        std::task::Poll::Pending => true,
    });
    assert!(
        refused >= n - AUTH_QUEUE_PER_THREAD - 1,
        "{refused} of {n} refused"
    );
    // Someone signing in for the first time is queued, not refused, and is
    // checked before the flood's waiting guesses.
    let started = Instant::now();
    let got = block_on(auth.authenticate(Some(&basic("bob", "bob-pw")), ip("10.3.0.1")));
    assert_eq!(got, AuthOutcome::Identity(Identity::User(UserId(1))));
    let waited = started.elapsed();
    let mut still_waiting = 0;
    for f in &mut flood {
        if f.as_mut().poll(&mut cx).is_pending() {
            still_waiting += 1;
        }
    }
    assert!(
        still_waiting >= AUTH_QUEUE_PER_THREAD - 3,
        "the first sign-in waited for the flood: {still_waiting} guesses left after {waited:?}"
    );
}
